"""Issue 15.2: two exports with the same name (two payers that both call theirs ``cur2``) both land;
issue 15.3: when those payers are billed in different currencies, their money is never added up.

Keyed by name alone, the second payer's month replaced the first's in
landing/cur2/billing_period=P/cur2.parquet. Discovery now qualifies a name that
collides within a format by the payer account of the manifest's exportArn (or by the
export's folder when the payers do not tell them apart); a name that does not collide
keeps its landing file.
"""

from __future__ import annotations

import dataclasses

import duckdb
import pytest

from orchestration.checks import allocation_evidence
from orchestration.cli import warehouse_summary
from orchestration.ingestion.discovery import discover_deliveries
from orchestration.ingestion.landing import load_exports
from orchestration.ingestion.storage import open_store
from orchestration.publish import publish_marts
from orchestration.reports import write_review_pack
from orchestration.settings import DBT_PROJECT_DIR, Settings
from tests.export_builders import cur2_row, write_data_export
from tests.test_allocation import dbt_build

PAYER_A, PAYER_B = "111122223333", "444455556666"


def payer_export(exports, folder: str, payer: str, cost: float, execution_id: str, period: str = "2024-01",
                 currency: str = "USD"):
    write_data_export(exports / folder, "cur2", period, {"part-00001.parquet": [
        cur2_row(f"{payer}-1", cost, payer=payer, account=payer, start=f"{period}-05 10:00:00", currency=currency),
        cur2_row(f"{payer}-2", 1.0, payer=payer, account=payer, start=f"{period}-06 10:00:00", currency=currency),
    ]}, execution_id=execution_id, payer=payer, prefix=folder)


def landed_by_file(landing, period: str = "2024-01") -> dict[str, tuple[int, float]]:
    folder = landing / "cur2" / f"billing_period={period}"
    return {p.name: duckdb.sql(f"select count(*), round(sum(line_item_unblended_cost), 2) "
                               f"from read_parquet('{p}')").fetchone()
            for p in sorted(folder.glob("*.parquet"))}


def test_two_payers_with_the_same_export_name_land_side_by_side(tmp_path):
    exports, landing = tmp_path / "exports", tmp_path / "landing"
    payer_export(exports, "payer-a", PAYER_A, 100.0, "exec-a")
    payer_export(exports, "payer-b", PAYER_B, 40.0, "exec-b")

    keys = sorted(d.export_id for d in discover_deliveries(open_store(str(exports))))
    assert keys == [f"cur2/cur2@{PAYER_A}", f"cur2/cur2@{PAYER_B}"]
    load_exports(str(exports), landing)
    assert landed_by_file(landing) == {f"cur2@{PAYER_A}.parquet": (2, 101.0), f"cur2@{PAYER_B}.parquet": (2, 41.0)}


def test_a_second_payer_appearing_later_replaces_the_unqualified_file(tmp_path):
    """The first payer landed as cur2.parquet; once a second cur2 appears, both are qualified and the
    unqualified file (which would count the first payer twice) is gone."""
    exports, landing = tmp_path / "exports", tmp_path / "landing"
    payer_export(exports, "payer-a", PAYER_A, 100.0, "exec-a")
    load_exports(str(exports), landing)
    assert landed_by_file(landing) == {"cur2.parquet": (2, 101.0)}

    payer_export(exports, "payer-b", PAYER_B, 40.0, "exec-b")
    load_exports(str(exports), landing)
    assert landed_by_file(landing) == {f"cur2@{PAYER_A}.parquet": (2, 101.0), f"cur2@{PAYER_B}.parquet": (2, 41.0)}
    assert sorted(p.name for p in (landing / "cur2" / "billing_period=2024-01").glob("*.json")) == [
        f"cur2@{PAYER_A}.delivery.json", f"cur2@{PAYER_B}.delivery.json"]


def test_the_same_payer_in_two_folders_is_told_apart_by_folder(tmp_path):
    exports, landing = tmp_path / "exports", tmp_path / "landing"
    payer_export(exports, "copy-1", PAYER_A, 100.0, "exec-1")
    payer_export(exports, "copy-2", PAYER_A, 7.0, "exec-2")
    load_exports(str(exports), landing)
    assert landed_by_file(landing) == {"cur2@copy-1_cur2.parquet": (2, 101.0), "cur2@copy-2_cur2.parquet": (2, 8.0)}


@pytest.fixture(scope="module")
def two_payer_build(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("two_payers")
    exports = tmp_path / "exports"
    for period in ("2024-01", "2024-02"):
        payer_export(exports, "payer-a", PAYER_A, 100.0, f"exec-a-{period}", period)
        payer_export(exports, "payer-b", PAYER_B, 40.0, f"exec-b-{period}", period, currency="EUR")
    settings = dataclasses.replace(Settings.from_env(), data_dir=tmp_path / "data", export_uri=str(exports))
    load_exports(str(exports), settings.landing_dir)
    dbt_build(DBT_PROJECT_DIR, settings.data_dir, tmp_path / "target",
              ["+int_line_items_counted_daily", "+int_export_overlaps", "+rpt_allocation_completeness",
               "+rpt_showback_monthly"])
    return settings


def test_both_payers_are_counted_by_the_warehouse_and_are_no_overlap(two_payer_build):
    with duckdb.connect(str(two_payer_build.warehouse_path), read_only=True) as con:
        per_payer = con.execute("""
            select strftime(billing_period, '%Y-%m'), export_name, billing_account_id, billing_currency, sum(line_item_count),
                   round(sum(billed_cost), 2)
            from intermediate.int_line_items_counted_daily group by all order by all""").fetchall()
        overlaps = con.execute("select count(*) from intermediate.int_export_overlaps").fetchone()[0]
    assert per_payer == [
        ("2024-01", f"cur2/cur2@{PAYER_A}", PAYER_A, "USD", 2, 101.0),
        ("2024-01", f"cur2/cur2@{PAYER_B}", PAYER_B, "EUR", 2, 41.0),
        ("2024-02", f"cur2/cur2@{PAYER_A}", PAYER_A, "USD", 2, 101.0),
        ("2024-02", f"cur2/cur2@{PAYER_B}", PAYER_B, "EUR", 2, 41.0),
    ]
    assert overlaps == 0


def test_money_of_two_currencies_is_never_summed_in_the_completeness_mart_or_the_summary(two_payer_build):
    with duckdb.connect(str(two_payer_build.warehouse_path), read_only=True) as con:
        rows = con.execute("""
            select strftime(billing_period, '%Y-%m'), billing_currency, line_item_count, canonical_billed_cost,
                   allocated_billed_cost, untagged_taggable_cost, untagged_cost_pct
            from marts.rpt_allocation_completeness order by all""").fetchall()
    assert rows == [("2024-01", "EUR", 2, 41.0, 41.0, 41.0, 100.0), ("2024-01", "USD", 2, 101.0, 101.0, 101.0, 100.0),
                    ("2024-02", "EUR", 2, 41.0, 41.0, 41.0, 100.0), ("2024-02", "USD", 2, 101.0, 101.0, 101.0, 100.0)]
    assert warehouse_summary(two_payer_build).splitlines() == [
        "  period   currency   line items           billed        amortized  untagged  unallocated",
        "  2024-01  EUR                 2            41.00            41.00    100.0%         0.0%",
        "  2024-02  EUR                 2            41.00            41.00    100.0%         0.0%",
        "  total    EUR                 4            82.00            82.00    100.0%         0.0%",
        "  2024-01  USD                 2           101.00           101.00    100.0%         0.0%",
        "  2024-02  USD                 2           101.00           101.00    100.0%         0.0%",
        "  total    USD                 4           202.00           202.00    100.0%         0.0%",
        "  untagged = share of taggable spend without its team tag; unallocated = share of amortized cost "
        "with no team (KPIs untagged_cost_pct, allocation_coverage_pct)",
    ]
    # the KPIs too are per currency: each payer's own shares, never a blend of USD and EUR
    with duckdb.connect(str(two_payer_build.warehouse_path), read_only=True) as con:
        kpis = con.execute("""
            select strftime(billing_period, '%Y-%m'), billing_currency, value, numerator, denominator
            from marts.fct_finops_kpis_monthly where kpi_name = 'untagged_cost_pct' order by all""").fetchall()
    assert kpis == [("2024-01", "EUR", 100.0, 41.0, 41.0), ("2024-01", "USD", 100.0, 101.0, 101.0),
                    ("2024-02", "EUR", 100.0, 41.0, 41.0), ("2024-02", "USD", 100.0, 101.0, 101.0)]
    evidence = allocation_evidence(two_payer_build.warehouse_path)
    assert list(evidence["billing_period"]) == ["2024-01 EUR", "2024-01 USD", "2024-02 EUR", "2024-02 USD"]


def test_a_bill_in_two_currencies_gets_one_review_pack_per_currency(two_payer_build):
    settings = two_payer_build
    publish_marts(settings.warehouse_path, settings.data_dir)
    pack = write_review_pack(settings.data_dir, "2024-02")
    assert (pack.currency, pack.path.name) == ("USD", "finops-review-2024-02-USD.html")  # the larger bill first
    assert [p.name for p in pack.others] == ["finops-review-2024-02-EUR.html"]
    usd, eur = pack.path.read_text(), pack.others[0].read_text()
    assert "all money in USD" in usd and "This pack covers the costs billed in USD." in usd
    assert '<a href="finops-review-2024-02-EUR.html">EUR</a>' in usd
    assert "all money in EUR" in eur and '<a href="finops-review-2024-02-USD.html">USD</a>' in eur
    # each headline is its own payer's month: 101 USD and 41 EUR, never 142 of anything
    assert 'billed 101 USD' in usd and 'billed 41 EUR' in eur
    assert "142" not in usd and "142" not in eur
