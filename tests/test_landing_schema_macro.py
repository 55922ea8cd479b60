"""The dbt macro that declares the landing columns on non-DuckDB targets is generated from the
landing contract (orchestration/landing_schema.py) and must not drift from it."""

from __future__ import annotations

from pathlib import Path

from orchestration.landing_schema import DBT_LANDING_COLUMNS_MACRO, dbt_landing_columns_macro

REPO = Path(__file__).resolve().parents[1]


def test_the_dbt_landing_columns_macro_is_generated_from_the_landing_contract():
    current = (REPO / DBT_LANDING_COLUMNS_MACRO).read_text()
    assert current == dbt_landing_columns_macro(), (
        f"{DBT_LANDING_COLUMNS_MACRO} is out of date: run `.venv/bin/python -m orchestration.landing_schema`")
