"""The Dagster definitions: what the UI shows and `finops build` runs."""

from __future__ import annotations

from datetime import date

import dagster as dg

from orchestration.definitions import BILLING_PERIODS, defs


def asset_graph():
    return defs.resolve_asset_graph()


def test_landing_assets_are_partitioned_by_billing_period():
    graph = asset_graph()
    for fmt in ("cur2", "cur_legacy", "focus"):
        node = graph.get(dg.AssetKey(["landing", fmt]))
        assert node.partitions_def == BILLING_PERIODS
        assert node.group_name == "landing"
    # up to the current month (billed while it runs); the first one comes from the data or
    # FINOPS_FIRST_BILLING_PERIOD, when the module is imported (tests/test_dagster_ui.py)
    assert BILLING_PERIODS.get_last_partition_key() == date.today().strftime("%Y-%m")


def test_dbt_layers_are_asset_groups_downstream_of_landing():
    graph = asset_graph()
    groups = {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert groups["staging/stg_aws_cur__cur2_line_items"] == "staging"
    assert groups["staging/stg_focus__line_items"] == "staging"
    assert groups["intermediate/int_line_items_counted_daily"] == "intermediate"
    assert groups["marts/fct_cost_allocated_daily"] == "marts"
    assert groups["config/tag_key_aliases"] == "config"
    assert dg.AssetKey(["landing", "cur2"]) in graph.get(dg.AssetKey(["staging", "stg_aws_cur__cur2_line_items"])).parent_keys
    assert dg.AssetKey(["landing", "focus"]) in graph.get(dg.AssetKey(["staging", "stg_focus__line_items"])).parent_keys


def test_dbt_tests_are_asset_checks():
    graph = asset_graph()
    checks = {(key.asset_key.to_user_string(), key.name) for key in graph.asset_check_keys}
    assert any(asset == "marts/fct_cost_allocated_daily" for asset, _ in checks)


def test_jobs_exist():
    assert defs.resolve_job_def("load_billing_period").partitions_def == BILLING_PERIODS
    assert defs.resolve_job_def("build_warehouse") is not None
