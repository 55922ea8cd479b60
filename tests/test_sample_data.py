"""Tests for orchestration.sample_data: real values read back with DuckDB."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import pytest

from orchestration.landing_schema import CUR_COLUMNS, FOCUS_COLUMNS
from orchestration.sample_data import athena_name, legacy_csv_name, write_sample_exports
from orchestration.sample_data.writers import LEGACY_COLUMNS

PERIODS = ["2026-08", "2026-09"]
LAYOUT = {"payer-a": ["cur2", "focus"], "payer-b": ["cur_legacy_csv", "cur_legacy_parquet"]}
ROWS = 2000
CUR_NAMES = {n for n, _ in CUR_COLUMNS}
ALL_TYPES = {"Usage", "DiscountedUsage", "SavingsPlanCoveredUsage", "SavingsPlanNegation", "SavingsPlanRecurringFee",
             "SavingsPlanUpfrontFee", "RIFee", "Fee", "Tax", "Credit", "Refund"}

AMORTIZED_SQL = """
    case line_item_line_item_type
        when 'SavingsPlanCoveredUsage' then savings_plan_savings_plan_effective_cost
        when 'SavingsPlanRecurringFee' then savings_plan_total_commitment_to_date - savings_plan_used_commitment
        when 'SavingsPlanNegation' then 0
        when 'SavingsPlanUpfrontFee' then 0
        when 'DiscountedUsage' then reservation_effective_cost
        when 'RIFee' then reservation_unused_amortized_upfront_fee_for_billing_period + reservation_unused_recurring_fee
        else case when line_item_line_item_type = 'Fee' and reservation_reservation_a_r_n <> '' then 0
                  else line_item_unblended_cost end
    end"""


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("exports")
    summary = write_sample_exports(out, periods=PERIODS, rows_per_period=ROWS, seed=7, layout=LAYOUT,
                                   prefix="landing/aws")
    return out, summary


def _files(out: Path, summary, fmt: str, payer: str, period: str) -> list[str]:
    return [str(out / f) for f in summary.get(payer, period).exports[fmt]["data_files"]]


def _one(sql: str, *args):
    return duckdb.sql(sql, params=list(args) if args else None).fetchone()


def test_deterministic_bytes(tmp_path):
    def digest(d: Path) -> dict[str, str]:
        return {p.relative_to(d).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(d.rglob("*")) if p.is_file()}

    layout = {"payer-a": ["cur2", "focus"], "payer-b": ["cur_legacy_csv", "cur_legacy_parquet"]}
    a = write_sample_exports(tmp_path / "a", periods=["2026-08"], rows_per_period=1500, seed=3, layout=layout)
    b = write_sample_exports(tmp_path / "b", periods=["2026-08"], rows_per_period=1500, seed=3, layout=layout,
                             workers=1)
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    assert len(digest(tmp_path / "a")) == 8
    assert a.totals == b.totals
    c = write_sample_exports(tmp_path / "c", periods=["2026-08"], rows_per_period=1500, seed=4, layout=layout)
    assert c.totals["billed_cost"] != a.totals["billed_cost"]


def test_summary_shape(sample):
    out, summary = sample
    assert len(summary.periods) == 4
    assert {p.payer_account_id for p in summary.periods} == {"111122223333", "444455556666"}
    total = summary.totals["line_item_count"]
    assert 0.9 * ROWS * 2 <= total <= 1.15 * ROWS * 2
    d = summary.to_dict()
    assert json.loads(json.dumps(d))["totals"]["rounded"]["billed_cost"] == round(summary.totals["billed_cost"], 2)


def test_cur2_matches_summary(sample):
    out, summary = sample
    for period in PERIODS:
        s = summary.get("payer-a", period)
        files = _files(out, summary, "cur2", "payer-a", period)
        n, billed, amortized, listc, untagged, payer = _one(f"""
            select count(*), sum(line_item_unblended_cost), sum({AMORTIZED_SQL}),
                   sum(case when line_item_line_item_type <> 'SavingsPlanNegation' then pricing_public_on_demand_cost else 0 end),
                   sum(case when coalesce(resource_tags['user_Team'], resource_tags['user_team'], resource_tags['user_TEAM']) is null
                            then line_item_unblended_cost else 0 end),
                   any_value(bill_payer_account_id)
            from read_parquet(?)""", files)
        assert n == s.line_item_count
        assert payer == "111122223333"
        assert billed == pytest.approx(s.billed_cost, abs=1e-6)
        assert amortized == pytest.approx(s.amortized_cost, abs=1e-6)
        assert listc == pytest.approx(s.list_cost, abs=1e-6)
        assert untagged == pytest.approx(s.untagged_billed_cost, abs=1e-6)


def test_cur2_schema_and_manifest(sample):
    out, summary = sample
    s = summary.get("payer-a", "2026-08")
    files = _files(out, summary, "cur2", "payer-a", "2026-08")
    cols = duckdb.sql("select column_name, column_type from (describe select * from read_parquet(?, hive_partitioning=false))",
                      params=[files]).fetchall()
    assert cols == [(n, t.replace("TIMESTAMP", "TIMESTAMP WITH TIME ZONE")) for n, t in CUR_COLUMNS]
    manifest = json.loads((out / s.exports["cur2"]["manifest"]).read_text())
    assert manifest["dataFiles"] == [f"s3://finops-exports/landing/aws/{f}" for f in s.exports["cur2"]["data_files"]]
    data_dir = out / "cur2/acme-cur2-payer-a/data/BILLING_PERIOD=2026-08"
    assert sorted(p.name for p in data_dir.iterdir()) == sorted(Path(u).name for u in manifest["dataFiles"])
    assert [c["name"] for c in manifest["columns"]] == [n for n, _ in CUR_COLUMNS]
    assert manifest["billingPeriod"] == {"start": "2026-08-01T00:00:00.000Z", "end": "2026-09-01T00:00:00.000Z"}
    assert manifest["additionalOutputFiles"] == [] and manifest["executionId"] and manifest["exportArn"]
    # hourly usage, missing strings are empty strings
    bad, empty_az = _one("""select count(*) filter (where line_item_line_item_type = 'Usage' and
                                (date_part('minute', line_item_usage_start_date) <> 0
                                 or line_item_usage_end_date - line_item_usage_start_date <> interval 1 hour)),
                                count(*) filter (where line_item_availability_zone = '')
                         from read_parquet(?)""", files)
    assert bad == 0 and empty_az > 0


def test_every_line_item_type_present(sample):
    out, summary = sample
    files = [f for p in PERIODS for f in _files(out, summary, "cur2", "payer-a", p)]
    types = {r[0] for r in duckdb.sql("select distinct line_item_line_item_type from read_parquet(?)",
                                      params=[files]).fetchall()}
    assert ALL_TYPES <= types
    support = _one("""select count(*), min(line_item_usage_account_id), min(day(line_item_usage_start_date))
                      from read_parquet(?) where line_item_product_code = 'AWSSupportBusiness'
                      and line_item_line_item_type = 'Fee'""", files)
    assert support == (2, "111122223333", 1)
    assert ALL_TYPES - {"SavingsPlanUpfrontFee"} <= set(summary.get("payer-b", "2026-08").line_item_types)


def test_commitments_consistent(sample):
    out, summary = sample
    files = _files(out, summary, "cur2", "payer-a", "2026-08")
    over, total, used = _one("""select count(*) filter (where savings_plan_used_commitment > savings_plan_total_commitment_to_date + 1e-9),
                                       sum(savings_plan_total_commitment_to_date), sum(savings_plan_used_commitment)
                                from read_parquet(?) where line_item_line_item_type = 'SavingsPlanRecurringFee'""", files)
    assert over == 0 and 0.3 < used / total <= 1.0
    covered = _one("""select sum(savings_plan_savings_plan_effective_cost) from read_parquet(?)
                      where line_item_line_item_type = 'SavingsPlanCoveredUsage'""", files)[0]
    assert covered == pytest.approx(used, rel=1e-9)
    net = _one("""select sum(line_item_unblended_cost) from read_parquet(?)
                  where line_item_line_item_type in ('SavingsPlanCoveredUsage', 'SavingsPlanNegation')""", files)[0]
    assert net == pytest.approx(0.0, abs=1e-6)
    ri = _one("""select count(*) filter (where line_item_unblended_cost <> 0 or reservation_effective_cost <= 0
                                          or reservation_reservation_a_r_n = '')
                 from read_parquet(?) where line_item_line_item_type = 'DiscountedUsage'""", files)[0]
    assert ri == 0


def test_untagged_share(sample):
    _, summary = sample
    share = summary.totals["untagged_billed_cost"] / summary.totals["billed_cost"]
    assert 0.20 <= share <= 0.30


def test_focus_matches_summary(sample):
    out, summary = sample
    for period in PERIODS:
        s = summary.get("payer-a", period)
        files = _files(out, summary, "focus", "payer-a", period)
        n, billed, effective, listc, acct = _one("""select count(*), sum(BilledCost), sum(EffectiveCost), sum(ListCost),
                                                    any_value(BillingAccountId) from read_parquet(?)""", files)
        assert (n, acct) == (s.line_item_count, "111122223333")
        assert billed == pytest.approx(s.billed_cost, abs=1e-6)
        assert effective == pytest.approx(s.amortized_cost, abs=1e-6)
        assert listc == pytest.approx(s.list_cost, abs=1e-6)
    cols = [r[0] for r in duckdb.sql("select column_name from (describe select * from read_parquet(?, hive_partitioning=false))",
                                     params=[files]).fetchall()]
    assert cols == [n for n, _ in FOCUS_COLUMNS]
    cats = dict(duckdb.sql("""select ChargeCategory, count(*) from read_parquet(?) group by 1""", params=[files]).fetchall())
    assert set(cats) == {"Usage", "Purchase", "Tax", "Credit", "Adjustment"}
    cd = duckdb.sql("""select distinct CommitmentDiscountType, CommitmentDiscountCategory, CommitmentDiscountStatus
                       from read_parquet(?) where CommitmentDiscountId is not null""", params=[files]).fetchall()
    assert {("Savings Plan", "Spend", "Used"), ("Savings Plan", "Spend", "Unused"),
            ("Reserved Instance", "Usage", "Used"), ("Reserved Instance", "Usage", "Unused")} <= set(cd)
    tag = _one("select Tags from read_parquet(?) where Tags is not null limit 1", files)[0]
    assert all(k.startswith("user:") for k in json.loads(tag))


def test_legacy_csv_matches_summary(sample):
    out, summary = sample
    for period in PERIODS:
        s = summary.get("payer-b", period)
        files = _files(out, summary, "cur_legacy_csv", "payer-b", period)
        n, billed, payer, start = _one("""select count(*), sum("lineItem/UnblendedCost"), any_value("bill/PayerAccountId"),
                                          min("lineItem/UsageStartDate")
                                   from read_csv(?, all_varchar=false, header=true,
                                                 types={'bill/PayerAccountId': 'VARCHAR', 'lineItem/UsageStartDate': 'VARCHAR'})""",
                                       files)
        assert (n, payer) == (s.line_item_count, "444455556666")
        assert billed == pytest.approx(s.billed_cost, abs=1e-6)
        assert start == f"{period}-01T00:00:00.000Z"
        manifest = json.loads((out / s.exports["cur_legacy_csv"]["manifest"]).read_text())
        assert manifest["reportKeys"] == [f"landing/aws/{f}" for f in s.exports["cur_legacy_csv"]["data_files"]]
        assert manifest["assemblyId"] in manifest["reportKeys"][0]
        assert manifest["bucket"] == "finops-exports" and manifest["compression"] == "GZIP"
        assert manifest["billingPeriod"]["start"] == period.replace("-", "") + "01T000000.000Z"
        assembly_dir = out / Path(s.exports["cur_legacy_csv"]["data_files"][0]).parent
        assert sorted(p.name for p in assembly_dir.iterdir()) == sorted(Path(k).name for k in manifest["reportKeys"])


def _csv_header(out, summary, period) -> list[str]:
    import gzip
    f = out / summary.get("payer-b", period).exports["cur_legacy_csv"]["data_files"][0]
    with gzip.open(f, "rt") as fh:
        return fh.readline().strip().split(",")


def test_legacy_csv_names_map_back(sample):
    out, summary = sample
    header = _csv_header(out, summary, "2026-08")
    assert "reservation/ReservationARN" in header and "savingsPlan/SavingsPlanEffectiveCost" in header
    assert "pricing/publicOnDemandCost" in header and "identity/LineItemId" in header
    for h in header:
        if h.startswith("resourceTags/"):
            assert h.startswith("resourceTags/user:")
        else:
            assert athena_name(h) in CUR_NAMES, h
    assert [athena_name(legacy_csv_name(c)) for c in LEGACY_COLUMNS] == LEGACY_COLUMNS
    assert athena_name("reservation/ReservationARN") == "reservation_reservation_a_r_n"
    assert athena_name("resourceTags/user:cost-center") == "resource_tags_user_cost_center"


def test_legacy_tag_columns_differ_by_month(sample):
    out, summary = sample
    aug = {h for h in _csv_header(out, summary, "2026-08") if h.startswith("resourceTags/")}
    sep = {h for h in _csv_header(out, summary, "2026-09") if h.startswith("resourceTags/")}
    assert aug != sep
    assert {"resourceTags/user:Team", "resourceTags/user:team", "resourceTags/user:cost-center",
            "resourceTags/user:CostCenter"} <= aug & sep
    assert "resourceTags/user:TEAM" in sep - aug


def test_legacy_parquet_matches_summary(sample):
    out, summary = sample
    s = summary.get("payer-b", "2026-09")
    files = _files(out, summary, "cur_legacy_parquet", "payer-b", "2026-09")
    assert "/year=2026/month=9/" in files[0]
    n, billed, amortized = _one(f"select count(*), sum(line_item_unblended_cost), sum({AMORTIZED_SQL}) from read_parquet(?)",
                                files)
    assert n == s.line_item_count
    assert billed == pytest.approx(s.billed_cost, abs=1e-6)
    assert amortized == pytest.approx(s.amortized_cost, abs=1e-6)
    cols = [r[0] for r in duckdb.sql("select column_name from (describe select * from read_parquet(?, hive_partitioning=false))",
                                     params=[files]).fetchall()]
    tag_cols = [c for c in cols if c.startswith("resource_tags_")]
    assert {"resource_tags_user_team", "resource_tags_user_cost_center", "resource_tags_user_environment"} <= set(tag_cols)
    assert all(c in CUR_NAMES for c in cols if c not in tag_cols)
    assert not any("MAP" in t for _, t in duckdb.sql("select column_name, column_type from (describe select * from read_parquet(?, hive_partitioning=false))",
                                                       params=[files]).fetchall())
    status = out / "cur-legacy-parquet/acme-cur-athena-payer-b/cost_and_usage_data_status/cost_and_usage_data_status.parquet"
    assert duckdb.sql(f"select status from '{status}'").fetchall() == [("READY",)]


def test_duplicate_export_same_numbers(sample):
    """payer-a is written as CUR 2.0 and FOCUS: both hold the same money (loaders must not double count)."""
    out, summary = sample
    s = summary.get("payer-a", "2026-09")
    cur2 = _one("select sum(line_item_unblended_cost) from read_parquet(?)", _files(out, summary, "cur2", "payer-a", "2026-09"))[0]
    focus = _one("select sum(BilledCost) from read_parquet(?)", _files(out, summary, "focus", "payer-a", "2026-09"))[0]
    assert cur2 == pytest.approx(focus, abs=1e-6) == pytest.approx(s.billed_cost, abs=1e-6)


def test_file_rotation(tmp_path):
    s = write_sample_exports(tmp_path, periods=["2026-09"], rows_per_period=3000, seed=1,
                             layout={"payer-a": ["cur2", "cur_legacy_csv"]}, chunk_rows=700, rows_per_file=1000)
    p = s.get("payer-a", "2026-09")
    assert len(p.exports["cur2"]["data_files"]) == len(p.exports["cur_legacy_csv"]["data_files"]) >= 3
    n, billed = _one("select count(*), sum(line_item_unblended_cost) from read_parquet(?)",
                     [str(tmp_path / f) for f in p.exports["cur2"]["data_files"]])
    assert n == p.line_item_count and billed == pytest.approx(p.billed_cost, abs=1e-6)
