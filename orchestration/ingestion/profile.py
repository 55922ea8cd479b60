"""The profile of one landing file: what makes a delivery acceptable, in one place.

The loader computes it on the conformed file *before* the atomic swap and refuses
the delivery when any figure is wrong (so a refused delivery never replaces the
landed one), and the Great Expectations suite ``landing_profile`` validates the
same figures on the landed files afterwards, as a second line of defence.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from orchestration.ingestion.conform import quote_literal
from orchestration.landing_schema import FOCUS, SCHEMAS

# Per format: the line id that must be unique within a delivery (with the CUR
# time interval: one line item repeats per hour/day) and the usage start column.
LINE_ID = {"cur2": ("identity_line_item_id", "identity_time_interval"),
           "cur_legacy": ("identity_line_item_id", "identity_time_interval"),
           FOCUS: None}  # FOCUS has no line item id; staging derives one from the row position
USAGE_START = {"cur2": "line_item_usage_start_date", "cur_legacy": "line_item_usage_start_date",
               FOCUS: "ChargePeriodStart"}
NUMERIC_TYPES = ("DOUBLE", "FLOAT", "DECIMAL", "INTEGER", "BIGINT", "HUGEINT", "SMALLINT", "TINYINT", "REAL")
# No single AWS line item comes near a trillion in any currency: a larger cost is a unit or
# export error (a value in micro-units, a corrupt field), and summing it would swamp the bill.
MAX_PLAUSIBLE_LINE_COST = 1e12


def profile_landing_file(con: duckdb.DuckDBPyConnection, path: Path, format_name: str,
                         billing_period: str, *, count_duplicates: bool = True) -> dict:
    """Counts of everything that makes a landing file unacceptable, plus where the first bad cost is.

    One scan of the file; it also yields the file's line items (``row_count``) and its billed
    cost (the format's first cost column), which the loader records in the delivery's sidecar.
    """
    schema = SCHEMAS[format_name]
    source = f"read_parquet({quote_literal(path.as_posix())})"
    types = {name: type_ for name, type_, *_ in con.execute(f"describe select * from {source}").fetchall()}
    present = [c for c in schema.required if c in types]
    non_numeric = [c for c in schema.cost_columns if not types.get(c, "").upper().startswith(NUMERIC_TYPES)]
    present_costs = [c for c in schema.cost_columns if c in types]
    costs = [c for c in present_costs if c not in non_numeric]
    start, line_id = USAGE_START[format_name], LINE_ID[format_name]
    duplicates = f"count(*) - count(distinct ({', '.join(line_id)}))" if line_id and count_duplicates else "0"
    null_costs = " + ".join(f'count(*) - count("{c}")' for c in present_costs) or "0"
    non_finite = " + ".join(f'count(*) filter (where not isfinite("{c}"))' for c in costs) or "0"
    implausible = (" + ".join(f'count(*) filter (where abs("{c}") > {MAX_PLAUSIBLE_LINE_COST})' for c in costs)
                   or "0")
    billed = f'coalesce(sum("{schema.cost_columns[0]}"), 0)' if schema.cost_columns[0] in costs else "0"
    non_null_counts = "".join(f', count("{c}")' for c in present)
    period_start = quote_literal(f"{billing_period}-01")
    row = con.execute(f"""
        select count(*),
               count(*) filter (where "{start}" < date {period_start}
                                or "{start}" >= date {period_start} + interval 1 month),
               {duplicates}, {null_costs}, {non_finite}, {implausible}, any_value(_delivery_id), {billed}
               {non_null_counts}
        from {source}""").fetchone()
    all_null = [c for c, count in zip(present, row[8:]) if count == 0]
    missing = sorted(set(schema.required) - set(present)) + all_null
    profile = {
        "export": path.stem, "delivery_id": row[6], "row_count": row[0], "billed_cost": float(row[7]),
        "missing_required_columns": len(missing), "missing_columns": ", ".join(missing),
        "non_numeric_cost_columns": len(non_numeric), "null_cost_values": row[3],
        "usage_outside_period": row[1], "duplicate_line_item_ids": row[2],
        "non_finite_cost_values": row[4], "implausible_cost_values": row[5], "first_bad_cost": None,
    }
    if row[4] or row[5]:
        profile["first_bad_cost"] = _first_bad_cost(con, source, costs, format_name)
    return profile


def _first_bad_cost(con: duckdb.DuckDBPyConnection, source: str, costs: list[str], format_name: str) -> str:
    """'<column> = <value> in <source file>, line item <id>' for the first non-finite or implausible cost."""
    line = f'"{LINE_ID[format_name][0]}"' if LINE_ID[format_name] else "NULL"
    for column in costs:
        found = con.execute(f"""
            select _source_file, {line}, "{column}"::varchar from {source}
            where not isfinite("{column}") or abs("{column}") > {MAX_PLAUSIBLE_LINE_COST} limit 1""").fetchone()
        if found:
            file, line_item, value = found
            return f"column {column!r} = {value} in {file}" + (f", line item {line_item!r}" if line_item else "")
    return "unknown"


def refusal_reasons(profile: dict, billing_period: str) -> list[str]:
    """Why a delivery with this profile must not be landed (empty when it is acceptable).

    Duplicate line item ids are left to the blocking landing check after the swap: they
    cost a distinct count over the whole delivery, and a test export may repeat ids.
    """
    reasons = []
    if profile["row_count"] == 0:
        reasons.append("it has no line items (a header-only or empty file); a delivery that replaces a month "
                       "must carry its charges")
    if profile["missing_required_columns"]:
        reasons.append(f"required column(s) empty or missing: {profile['missing_columns']}")
    if profile["null_cost_values"]:
        reasons.append(f"{profile['null_cost_values']} cost value(s) are empty")
    if profile["non_finite_cost_values"]:
        reasons.append(f"{profile['non_finite_cost_values']} cost value(s) are NaN or infinite, first "
                       f"{profile['first_bad_cost']}")
    elif profile["implausible_cost_values"]:
        reasons.append(f"{profile['implausible_cost_values']} cost value(s) exceed ±{MAX_PLAUSIBLE_LINE_COST:,.0f} "
                       f"for one line item (a unit or export error), first {profile['first_bad_cost']}")
    if profile["usage_outside_period"]:
        reasons.append(f"{profile['usage_outside_period']} line item(s) start outside billing period "
                       f"{billing_period}")
    return reasons
