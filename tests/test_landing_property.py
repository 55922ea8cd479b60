"""Issue 15: whatever the sequence of deliveries, restatements, refused deliveries and killed loads,
what dbt reads from landing/ is, for every export and billing period, exactly the last delivery
the loader accepted.

Hypothesis drives random sequences of steps through the real loader (discovery and landing on a
local export folder, real DuckDB; no dbt, for speed), and after each step reads landing/ back
through the glob dbt's sources use (``landing/<format>/**/*.parquet``):

- deliver: a new delivery (new executionId) of an export and period, then a load. Delivering a
  period again is a restatement: it replaces the previous one.
- reject: a new delivery that must be refused (no line items, a NaN cost, a line item starting
  outside its period, a manifest listing its file twice), then a load. It stays the current
  delivery in the export folder, so every later load refuses it again until a good one replaces it.
- kill: a new delivery whose load is killed with SIGKILL before the swap: it leaves what such a
  load leaves (a staged download in landing/.incoming/<id>/, DuckDB's spill folder and a
  half-written ``.*.tmp`` landing file), and no load finishes.
- crash: a new delivery whose landing raises between writing the staged file and the swap.

The model: the last accepted total per (export, period); a load accepts every current good
delivery and refuses (raising IngestionError) when any current delivery is bad.
"""

from __future__ import annotations

import math
import tempfile
import uuid
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import orchestration.ingestion.landing as landing_module
from orchestration.ingestion.discovery import discover_deliveries
from orchestration.ingestion.errors import IngestionError
from orchestration.ingestion.landing import land_delivery, load_exports
from orchestration.ingestion.storage import open_store
from tests.export_builders import cur2_row, write_data_export

EXPORTS = ("cur2-a", "cur2-b")
PERIODS = ("2024-01", "2024-02")
REJECTIONS = ("no_line_items", "nan_cost", "outside_period", "file_listed_twice")
DAY_BEFORE = {"2024-01": "2023-12-31 23:00:00", "2024-02": "2024-01-31 23:00:00"}
LOAD = {"threads": 1, "memory_limit": "512MB"}

cents = st.lists(st.integers(min_value=-50_000, max_value=500_000), min_size=1, max_size=4)
target = st.tuples(st.sampled_from(EXPORTS), st.sampled_from(PERIODS))
step = st.one_of(
    st.tuples(st.just("deliver"), target, cents),
    st.tuples(st.just("reject"), target, st.sampled_from(REJECTIONS)),
    st.tuples(st.just("kill"), target, cents),
    st.tuples(st.just("crash"), target, cents),
)


class Crash(Exception):
    """Stands for the process dying between the staged file and the swap."""


def write_delivery(exports: Path, export: str, period: str, delivery_id: str, rows: list[dict],
                   *, twice: bool = False) -> None:
    name = f"part-{delivery_id}.parquet"
    write_data_export(exports, export, period, {name: rows}, execution_id=delivery_id,
                      manifest_files=[name, name] if twice else None)


def good_rows(export: str, period: str, delivery_id: str, amounts: list[int]) -> list[dict]:
    # The line item id carries its export and period, so totals are read back whatever the landing file is named.
    return [cur2_row(f"{export}:{period}:{delivery_id}:{i}", amount / 100, start=f"{period}-05 10:00:00")
            for i, amount in enumerate(amounts)]


def bad_rows(export: str, period: str, delivery_id: str, kind: str) -> list[dict]:
    if kind == "no_line_items":
        return []
    rows = good_rows(export, period, delivery_id, [1234, 500])
    if kind == "nan_cost":
        rows[1]["line_item_unblended_cost"] = math.nan
    elif kind == "outside_period":
        rows[1] = cur2_row(f"{export}:{period}:{delivery_id}:1", 5.0, start=DAY_BEFORE[period])
    return rows


def landed_cents(landing: Path) -> dict[tuple[str, str], int]:
    """Billed cost in cents per (export, period), read the way dbt reads landing/."""
    if not list((landing / "cur2").rglob("*.parquet")):
        return {}
    glob = str(landing / "cur2" / "**" / "*.parquet")
    rows = duckdb.sql(f"""
        select split_part(identity_line_item_id, ':', 1), split_part(identity_line_item_id, ':', 2),
               round(sum(line_item_unblended_cost) * 100)::bigint
        from read_parquet('{glob}', union_by_name = true)
        group by all
    """).fetchall()
    return {(export, period): total for export, period, total in rows}


def leave_killed_load_litter(exports: Path, landing: Path, export: str, period: str, delivery_id: str) -> None:
    """What a load killed with SIGKILL mid-way leaves: its finally blocks never ran."""
    data = exports / export / "data" / f"BILLING_PERIOD={period}" / f"part-{delivery_id}.parquet"
    scratch = landing / ".incoming" / uuid.uuid4().hex
    staged = scratch / export / "data" / f"BILLING_PERIOD={period}" / data.name
    staged.parent.mkdir(parents=True)
    staged.write_bytes(data.read_bytes())
    spill = scratch.with_name(scratch.name + ".duckdb")
    spill.mkdir()
    (spill / "duckdb_temp_storage-0.tmp").write_bytes(b"\0" * 512)
    period_dir = landing_module.period_dir(landing, "cur2", period)
    period_dir.mkdir(parents=True, exist_ok=True)
    (period_dir / f".{export}.parquet.{uuid.uuid4().hex}.tmp").write_bytes(data.read_bytes()[: len(data.read_bytes()) // 2])


def crash_before_the_swap(exports: Path, landing: Path, export: str, period: str, monkeypatch) -> None:
    store = open_store(str(exports))
    delivery = next(d for d in discover_deliveries(store) if (d.export_name, d.billing_period) == (export, period))
    write = landing_module._write_landing_file

    def write_then_die(*args, **kwargs):
        write(*args, **kwargs)  # the staged file is complete and validated...
        raise Crash("killed before the swap")  # ...and the process dies before os.replace

    monkeypatch.setattr(landing_module, "_write_landing_file", write_then_die)
    try:
        with pytest.raises(Crash):
            land_delivery(store, delivery, landing, **LOAD)
    finally:
        monkeypatch.setattr(landing_module, "_write_landing_file", write)


@settings(max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=1, max_size=6))
def test_landing_always_holds_the_last_accepted_delivery(steps):
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as monkeypatch:
        exports, landing = Path(tmp) / "exports", Path(tmp) / "landing"
        accepted: dict[tuple[str, str], int] = {}  # the model: last accepted total, in cents
        current: dict[tuple[str, str], int | None] = {}  # what the export folder offers now (None: refused)
        for number, (action, (export, period), payload) in enumerate(steps):
            delivery_id = f"exec-{number}"
            if action == "reject":
                write_delivery(exports, export, period, delivery_id, bad_rows(export, period, delivery_id, payload),
                               twice=payload == "file_listed_twice")
                current[(export, period)] = None
            else:
                write_delivery(exports, export, period, delivery_id, good_rows(export, period, delivery_id, payload))
                current[(export, period)] = sum(payload)
            if action in ("deliver", "reject"):
                refused = [key for key, total in current.items() if total is None]
                if refused:
                    with pytest.raises(IngestionError):
                        load_exports(str(exports), landing, **LOAD)
                else:
                    load_exports(str(exports), landing, **LOAD)
                accepted.update({key: total for key, total in current.items() if total is not None})
            elif action == "kill":
                leave_killed_load_litter(exports, landing, export, period, delivery_id)
            else:
                crash_before_the_swap(exports, landing, export, period, monkeypatch)
            assert landed_cents(landing) == accepted, f"after step {number}: {action} {export} {period} {payload}"
