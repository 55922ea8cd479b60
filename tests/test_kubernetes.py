"""EKS split cost allocation (issue 20), end to end on hand-checkable CUR 2.0 fixtures.

One Data Export of a cluster account (platform-prod, whose account default team is platform),
landed with the loader and built with dbt (the Kubernetes models, the allocation ledger and
their tests, the reconciliations included):

* 2026-08-03 10:00, AWS's worked example ("Example of split cost allocation data", CUR user
  guide): one m5.xlarge (4 vCPU, 16 GB) at $1.00 amortized for the hour, two namespaces,
  four pods; CPU : memory weights 9 : 1, so a vCPU-hour costs 9/52 and a GB-hour 1/52.
* 2026-08-04, a node of cluster acme-prod-eks shared by the namespaces of two teams
  (checkout, search) and a batch pod whose label `app=recommendations` the seed
  kubernetes_owners gives to ml-inference; the node also has a data transfer line, which is
  not split.
* 2026-08-05, a node of cluster acme-batch-eks, whose idle capacity seed
  kubernetes_idle_rules charges to platform.
* 2026-09: the same node lines as August, without split data: the bill's total is the same.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import duckdb
import pyarrow as pa
import pytest

from orchestration.ingestion.landing import load_exports
from orchestration.settings import DBT_PROJECT_DIR, Settings
from tests.export_builders import write_data_export
from tests.test_allocation import dbt_build

PAYER, ACCOUNT = "444455556666", "310987654307"  # seeds/account_owners.csv: platform-prod -> platform

SCHEMA = pa.schema([
    ("identity_line_item_id", pa.string()),
    ("identity_time_interval", pa.string()),
    ("bill_payer_account_id", pa.string()),
    ("line_item_usage_account_id", pa.string()),
    ("line_item_line_item_type", pa.string()),
    ("line_item_usage_start_date", pa.timestamp("ms", tz="UTC")),
    ("line_item_usage_end_date", pa.timestamp("ms", tz="UTC")),
    ("line_item_product_code", pa.string()),
    ("line_item_usage_type", pa.string()),
    ("line_item_operation", pa.string()),
    ("line_item_resource_id", pa.string()),
    ("line_item_usage_amount", pa.float64()),
    ("line_item_unblended_cost", pa.float64()),
    ("pricing_public_on_demand_cost", pa.float64()),
    ("pricing_unit", pa.string()),
    ("line_item_currency_code", pa.string()),
    ("resource_tags", pa.map_(pa.string(), pa.string())),
    ("split_line_item_parent_resource_id", pa.string()),
    ("split_line_item_split_usage", pa.float64()),
    ("split_line_item_split_usage_ratio", pa.float64()),
    ("split_line_item_split_cost", pa.float64()),
    ("split_line_item_unused_cost", pa.float64()),
    ("split_line_item_public_on_demand_split_cost", pa.float64()),
    ("split_line_item_public_on_demand_unused_cost", pa.float64()),
    ("split_line_item_reserved_usage", pa.float64()),
    ("split_line_item_actual_usage", pa.float64()),
])


def _hours(start: str, hours: int) -> tuple[datetime, datetime, str]:
    begin = datetime.fromisoformat(start)
    end = begin + timedelta(hours=hours)
    return begin, end, f"{begin:%Y-%m-%dT%H:%M:%SZ}/{end:%Y-%m-%dT%H:%M:%SZ}"


def node_line(line_id: str, instance: str, start: str, cost: float, *, hours: int = 1,
              usage_type: str = "BoxUsage:m5.xlarge", operation: str = "RunInstances", unit: str = "Hrs") -> dict:
    begin, end, interval = _hours(start, hours)
    return {"identity_line_item_id": line_id, "identity_time_interval": interval, "bill_payer_account_id": PAYER,
            "line_item_usage_account_id": ACCOUNT, "line_item_line_item_type": "Usage",
            "line_item_usage_start_date": begin, "line_item_usage_end_date": end, "line_item_product_code": "AmazonEC2",
            "line_item_usage_type": usage_type, "line_item_operation": operation, "line_item_resource_id": instance,
            "line_item_usage_amount": float(hours), "line_item_unblended_cost": cost,
            "pricing_public_on_demand_cost": cost, "pricing_unit": unit, "line_item_currency_code": "USD",
            "resource_tags": {"user_team": "platform"}}


def pod_records(pod: str, cluster: str, namespace: str, instance: str, start: str, *, hours: int = 1,
                cpu: tuple[float, float, float, float], memory: tuple[float, float, float, float],
                workload: str = "", labels: dict[str, str] | None = None) -> list[dict]:
    """The two records of a pod (vCPU, memory): each (split usage, split cost, unused cost, reserved)."""
    begin, end, interval = _hours(start, hours)
    tags = {"aws_eks_cluster_name": cluster, "aws_eks_namespace": namespace, "aws_eks_node": instance,
            **({"aws_eks_workload_name": workload, "aws_eks_workload_type": "Deployment"} if workload else {}),
            **{f"user_{key}": value for key, value in (labels or {}).items()}}
    rows = []
    for resource, (usage, split_cost, unused_cost, reserved) in (("vCPU", cpu), ("GB", memory)):
        rows.append({
            "identity_line_item_id": f"{pod}-{resource}", "identity_time_interval": interval,
            "bill_payer_account_id": PAYER, "line_item_usage_account_id": ACCOUNT,
            "line_item_line_item_type": "Usage", "line_item_usage_start_date": begin, "line_item_usage_end_date": end,
            "line_item_product_code": "AmazonEKS", "line_item_usage_type": f"USE1-EKS-EC2-{resource}-Hours",
            "line_item_operation": "EKSPod-EC2",
            "line_item_resource_id": f"arn:aws:eks:us-east-1:{ACCOUNT}:pod/{cluster}/{namespace}/{pod}/uid-{pod}",
            "line_item_usage_amount": usage, "line_item_unblended_cost": 0.0, "pricing_public_on_demand_cost": 0.0,
            "pricing_unit": "hours", "line_item_currency_code": "USD", "resource_tags": tags,
            "split_line_item_parent_resource_id": instance, "split_line_item_split_usage": usage,
            "split_line_item_split_cost": split_cost, "split_line_item_unused_cost": unused_cost,
            "split_line_item_public_on_demand_split_cost": split_cost,
            "split_line_item_public_on_demand_unused_cost": unused_cost,
            "split_line_item_reserved_usage": reserved})
    return rows


# AWS's worked example, step by step. Unit cost = $1 / (1 × 16 GB + 9 × 4 vCPU) = 1/52.
CPU_RATE, GB_RATE = 9 / 52, 1 / 52
# pod: namespace, reserved vCPU, used vCPU, reserved GB, used GB
EXAMPLE_PODS = {"pod1": ("namespace1", 1, 0.1, 4, 3), "pod2": ("namespace2", 1, 1.9, 4, 6),
                "pod3": ("namespace1", 1, 0.5, 2, 2), "pod4": ("namespace2", 1, 0.5, 2, 2)}
ALLOCATED_VCPU = sum(max(r, u) for _, r, u, _, _ in EXAMPLE_PODS.values())  # 4.9: oversubscribed
ALLOCATED_GB = sum(max(r, u) for _, _, _, r, u in EXAMPLE_PODS.values())  # 14 of 16: 2 GB unused


def example_split(pod: str) -> tuple[tuple, tuple]:
    _, cpu_reserved, cpu_used, gb_reserved, gb_used = EXAMPLE_PODS[pod]
    vcpu, gb = max(cpu_reserved, cpu_used), max(gb_reserved, gb_used)
    cpu_cost = vcpu / ALLOCATED_VCPU * 4 * CPU_RATE  # split usage ratio × vCPU available × cost per vCPU-hour
    gb_cost = gb / 16 * 16 * GB_RATE
    gb_unused = gb / ALLOCATED_GB * (16 - ALLOCATED_GB) / 16 * 16 * GB_RATE  # unused ratio × instance unused
    return (vcpu, cpu_cost, 0.0, cpu_reserved), (gb, gb_cost, gb_unused, gb_reserved)


def august_rows() -> list[dict]:
    rows = [node_line("n-example", "i-0example", "2026-08-03 10:00:00", 1.00)]
    for pod, (namespace, *_) in EXAMPLE_PODS.items():
        cpu, memory = example_split(pod)
        rows += pod_records(pod, "aws-example", namespace, "i-0example", "2026-08-03 10:00:00", cpu=cpu, memory=memory)
    # a day of a node shared by checkout and search (and an ML pod in the batch namespace)
    rows += [node_line("n-shared", "i-0shared", "2026-08-04 00:00:00", 9.60, hours=24, usage_type="BoxUsage:m5.2xlarge"),
             node_line("n-shared-dt", "i-0shared", "2026-08-04 00:00:00", 0.50, hours=24,
                       usage_type="DataTransfer-Out-Bytes", unit="GB")]
    rows += pod_records("cart-1", "acme-prod-eks", "checkout", "i-0shared", "2026-08-04 00:00:00", hours=24,
                        cpu=(24, 3.00, 0.80, 24), memory=(96, 1.00, 0.25, 96), workload="cart")
    rows += pod_records("indexer-1", "acme-prod-eks", "search", "i-0shared", "2026-08-04 00:00:00", hours=24,
                        cpu=(12, 1.80, 0.45, 12), memory=(72, 0.60, 0.18, 72), workload="indexer")
    rows += pod_records("trainer-1", "acme-prod-eks", "batch", "i-0shared", "2026-08-04 00:00:00", hours=24,
                        cpu=(6, 0.90, 0.24, 6), memory=(24, 0.30, 0.08, 24), workload="trainer",
                        labels={"app": "Recommendations"})
    # a batch cluster whose idle capacity the platform team pays (seeds/kubernetes_idle_rules.csv)
    rows += [node_line("n-batch", "i-0batch", "2026-08-05 00:00:00", 2.40, hours=24)]
    rows += pod_records("etl-1", "acme-batch-eks", "batch", "i-0batch", "2026-08-05 00:00:00", hours=24,
                        cpu=(12, 1.00, 0.90, 12), memory=(24, 0.20, 0.30, 24), workload="etl")
    return rows


def september_rows() -> list[dict]:
    """The same instance lines, one month later, without split cost allocation data."""
    rows = []
    for row in august_rows():
        if row["line_item_operation"] == "EKSPod-EC2":
            continue
        start = row["line_item_usage_start_date"].replace(month=9)
        end = row["line_item_usage_end_date"].replace(month=9)
        rows.append({**row, "line_item_usage_start_date": start, "line_item_usage_end_date": end,
                     "identity_time_interval": row["identity_time_interval"].replace("2026-08", "2026-09")})
    return rows


NODE_TOTAL = 1.00 + 9.60 + 0.50 + 2.40

SELECTION = ["+fct_kubernetes_cost_daily", "+int_export_overlaps", "+rpt_showback_monthly", "+fct_chargeback_ledger", "+fct_cost_allocated_daily",
             "path:tests/allocation", "path:tests/reconciliation", "path:tests/kubernetes"]


@pytest.fixture(scope="module")
def kubernetes_build(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("kubernetes")
    exports = tmp_path / "exports"
    write_data_export(exports, "cur2-eks", "2026-08", {"part-1.parquet": august_rows()}, execution_id="aug-1",
                      schema=SCHEMA, payer=PAYER)
    write_data_export(exports, "cur2-eks", "2026-09", {"part-1.parquet": september_rows()}, execution_id="sep-1",
                      schema=SCHEMA, payer=PAYER)
    settings = dataclasses.replace(Settings.from_env(), data_dir=tmp_path / "data", export_uri=str(exports),
                                   duckdb_threads=2, duckdb_memory_limit="2GB")
    load_exports(str(exports), settings.landing_dir)
    dbt_build(DBT_PROJECT_DIR, settings.data_dir, tmp_path / "target", SELECTION)
    return settings


def query(settings: Settings, sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_aws_worked_example_pods_plus_idle_equal_the_instance_hour_to_the_cent(kubernetes_build):
    rows = query(kubernetes_build, """
        select namespace, team, split_cost, idle_cost, effective_cost, aws_split_cost, aws_unused_cost, cluster_cost
        from marts.fct_kubernetes_cost_daily where cluster_name = 'aws-example' order by namespace""")
    # AWS's step 4: pod split costs $0.22, $0.38, $0.18, $0.18 (rounded); unused capacity 2 GB × 1/52
    pod_split = {pod: sum(r[1] for r in example_split(pod)) for pod in EXAMPLE_PODS}
    assert [round(v, 2) for v in pod_split.values()] == [0.22, 0.38, 0.18, 0.18]
    namespace1, namespace2 = pod_split["pod1"] + pod_split["pod3"], pod_split["pod2"] + pod_split["pod4"]
    idle = 2 / 52  # = $1 − Σ split cost (50/52)
    assert namespace1 + namespace2 + idle == pytest.approx(1.00, abs=1e-12)
    # namespaces no seed row maps: the node's owner (platform, by the node's team tag) owns them
    assert [r[:2] for r in rows] == [("namespace1", "platform"), ("namespace2", "platform")]
    (_, _, split1, idle1, total1, aws1, unused1, cluster1), (_, _, split2, idle2, total2, aws2, unused2, _) = rows
    assert split1 == pytest.approx(namespace1, abs=1e-9) and split2 == pytest.approx(namespace2, abs=1e-9)
    assert aws1 == pytest.approx(namespace1, abs=1e-9) and aws2 == pytest.approx(namespace2, abs=1e-9)
    # the idle pool is split in proportion to the pods' split cost (AWS spreads it by memory: aws_unused_cost)
    assert idle1 == pytest.approx(idle * namespace1 / (namespace1 + namespace2), abs=1e-9)
    assert idle2 == pytest.approx(idle * namespace2 / (namespace1 + namespace2), abs=1e-9)
    assert unused1 + unused2 == pytest.approx(idle, abs=1e-9)
    assert round(total1 + total2, 2) == 1.00 and cluster1 == pytest.approx(1.00, abs=1e-9)
    ledger = query(kubernetes_build, """
        select allocation_method, team, round(sum(billed_cost), 6), round(sum(effective_cost), 6)
        from marts.fct_cost_allocated_daily where charge_date = '2026-08-03' group by all order by 1""")
    assert ledger == [("kubernetes_idle", "platform", round(idle, 6), round(idle, 6)),
                      ("kubernetes_split", "platform", round(50 / 52, 6), round(50 / 52, 6))]


def test_a_node_shared_by_two_teams_is_booked_to_their_pods_and_its_idle_split_by_their_split_cost(kubernetes_build):
    rows = query(kubernetes_build, """
        select namespace, workload_name, team, round(split_cost, 6), round(idle_cost, 6), round(effective_cost, 6)
        from marts.fct_kubernetes_cost_daily where cluster_name = 'acme-prod-eks' order by namespace""")
    split = {"checkout": 4.00, "search": 2.40, "batch": 1.20}  # vCPU + memory split cost of each pod
    idle = 9.60 - sum(split.values())  # 2.00 of the node's $9.60 no pod was allocated
    assert rows == [
        ("batch", "trainer", "ml-inference", 1.20, round(idle * 1.20 / 7.60, 6), round(1.20 + idle * 1.20 / 7.60, 6)),
        ("checkout", "cart", "checkout", 4.00, round(idle * 4.00 / 7.60, 6), round(4.00 + idle * 4.00 / 7.60, 6)),
        ("search", "indexer", "search", 2.40, round(idle * 2.40 / 7.60, 6), round(2.40 + idle * 2.40 / 7.60, 6)),
    ]
    ledger = dict(((team, method), cost) for team, method, cost in query(kubernetes_build, """
        select team, allocation_method, round(sum(effective_cost), 6) from marts.fct_cost_allocated_daily
        where charge_date = '2026-08-04' group by all"""))
    assert ledger == {
        ("checkout", "kubernetes_split"): 4.00, ("checkout", "kubernetes_idle"): round(idle * 4.00 / 7.60, 6),
        ("search", "kubernetes_split"): 2.40, ("search", "kubernetes_idle"): round(idle * 2.40 / 7.60, 6),
        ("ml-inference", "kubernetes_split"): 1.20, ("ml-inference", "kubernetes_idle"): round(idle * 1.20 / 7.60, 6),
        # the node's data transfer is not part of the split: it stays with the node's own (tagged) owner
        ("platform", "tag"): 0.50,
    }
    sources = dict(query(kubernetes_build, """select namespace, max(team_source) from
                   intermediate.int_kubernetes_pod_costs_daily where cluster_name = 'acme-prod-eks' group by 1"""))
    assert sources == {"batch": "label_rule", "checkout": "namespace_rule", "search": "namespace_rule"}


def test_an_idle_rule_charges_a_clusters_idle_capacity_to_one_team(kubernetes_build):
    rows = query(kubernetes_build, """
        select namespace, team, round(split_cost, 6), round(idle_cost, 6)
        from marts.fct_kubernetes_cost_daily where cluster_name = 'acme-batch-eks' order by namespace""")
    assert rows == [("(idle)", "platform", 0.0, 1.20), ("batch", "data-platform", 1.20, 0.0)]


def test_split_data_never_changes_the_bill_and_the_instance_is_counted_once(kubernetes_build):
    totals = query(kubernetes_build, """
        select strftime(billing_period, '%Y-%m'), round(sum(billed_cost), 6), round(sum(effective_cost), 6),
               round(sum(list_cost), 6)
        from marts.fct_cost_allocated_daily group by 1 order by 1""")
    assert totals == [("2026-08", NODE_TOTAL, NODE_TOTAL, NODE_TOTAL), ("2026-09", NODE_TOTAL, NODE_TOTAL, NODE_TOTAL)]
    counted = query(kubernetes_build, """select strftime(billing_period, '%Y-%m'), round(sum(billed_cost), 6)
                                         from intermediate.int_line_items_counted_daily group by 1 order by 1""")
    assert counted == [("2026-08", NODE_TOTAL), ("2026-09", NODE_TOTAL)]
    # without split data (September) the nodes are their owner's, by their team tag
    september = query(kubernetes_build, """select team, allocation_method, round(sum(billed_cost), 6)
        from marts.fct_cost_allocated_daily where billing_period = '2026-09-01' group by all""")
    assert september == [("platform", "tag", NODE_TOTAL)]
    # with it (August) only the data transfer line stays with platform's tag; every pod's cost has a team
    august = dict(((team, method), cost) for team, method, cost in query(kubernetes_build, """
        select team, allocation_method, round(sum(billed_cost), 6) from marts.fct_cost_allocated_daily
        where billing_period = '2026-08-01' group by all"""))
    assert august[("platform", "tag")] == 0.50
    assert ("unallocated", "kubernetes_split") not in august and ("unallocated", "kubernetes_idle") not in august
    showback = query(kubernetes_build, """select strftime(billing_period, '%Y-%m'), round(sum(billed_cost), 6)
                                          from marts.rpt_showback_monthly group by 1 order by 1""")
    assert showback == [("2026-08", NODE_TOTAL), ("2026-09", NODE_TOTAL)]


@pytest.fixture(scope="module")
def demo_build(tmp_path_factory):
    """The sample organisation's CUR 2.0 payer (its EKS clusters included), one month."""
    from orchestration.sample_data import write_sample_exports
    tmp_path = tmp_path_factory.mktemp("kubernetes-demo")
    exports = tmp_path / "exports"
    summary = write_sample_exports(exports, periods=["2026-08"], rows_per_period=20_000, seed=42,
                                   layout={"payer-a": "cur2"})
    settings = dataclasses.replace(Settings.from_env(), data_dir=tmp_path / "data", export_uri=str(exports),
                                   duckdb_threads=2, duckdb_memory_limit="2GB")
    load_exports(str(exports), settings.landing_dir)
    dbt_build(DBT_PROJECT_DIR, settings.data_dir, tmp_path / "target", SELECTION)
    return settings, summary


def test_demo_clusters_are_counted_once_show_their_idle_share_and_every_pod_has_a_team(demo_build):
    from orchestration.sample_data import kubernetes as sample_clusters
    settings, summary = demo_build
    (billed,) = query(settings, "select round(sum(billed_cost), 2) from marts.fct_cost_allocated_daily")[0]
    assert billed == round(summary.periods[0].billed_cost, 2)  # the bill as delivered, the nodes once
    node_cost = 31 * 24 * sum(node.hourly_rate for cluster in sample_clusters.CLUSTERS for node in cluster.nodes)
    (split,) = query(settings, """select round(sum(billed_cost), 6) from marts.fct_cost_allocated_daily
                                  where allocation_method like 'kubernetes_%'""")[0]
    assert split == round(node_cost, 6)
    clusters = query(settings, """
        select cluster_name, round(sum(effective_cost), 6), round(sum(idle_cost) / sum(effective_cost), 4) > 0
        from marts.fct_kubernetes_cost_daily group by 1 order by 1""")
    assert clusters == [("acme-batch-eks", round(31 * 24 * 0.192, 6), True),
                        ("acme-commerce-eks", round(31 * 24 * 0.384 * 2, 6), True)]
    teams = dict(query(settings, """select team, round(sum(effective_cost), 2) from marts.fct_kubernetes_cost_daily
                                    group by 1"""))
    assert set(teams) == {"checkout", "search", "payments", "platform", "data-platform", "ml-inference"}
    idle_rows = query(settings, """select distinct cluster_name, namespace, team from marts.fct_kubernetes_cost_daily
                                   where namespace = '(idle)'""")
    assert idle_rows == [("acme-batch-eks", "(idle)", "platform")]  # seeds/kubernetes_idle_rules.csv
    sources = dict(query(settings, """select namespace, string_agg(distinct team_source, ',' order by team_source)
                                      from intermediate.int_kubernetes_pod_costs_daily group by 1"""))
    assert sources == {"checkout": "namespace_rule", "search": "namespace_rule", "payments": "pod_tag",
                       "kube-system": "namespace_rule", "monitoring": "namespace_rule", "default": "node_owner",
                       "batch": "label_rule,namespace_rule"}


def test_the_review_pack_shows_each_clusters_idle_share_and_cost_by_namespace_and_team(demo_build, tmp_path):
    from orchestration.publish import publish_marts
    from orchestration.reports import write_review_pack
    settings, _ = demo_build
    publish_marts(settings.warehouse_path, tmp_path / "data")
    idle = dict(query(settings, """select cluster_name, round(100 * sum(idle_cost) / sum(effective_cost), 1)
                                   from marts.fct_kubernetes_cost_daily group by 1"""))

    pack = write_review_pack(tmp_path / "data", "2026-08")

    assert "kubernetes" not in pack.unavailable
    html = pack.path.read_text()
    section = html[html.index('<section id="kubernetes">'):]
    section = section[:section.index("</section>")]
    for cluster, pct in idle.items():
        assert f'<td class="text">{cluster}</td>' in section and f"<b>{pct:.1f}%</b>" in section
    assert '<td class="text">payments</td><td class="text">payments</td>' in section
    assert '<td class="text">(idle)</td><td class="text">platform</td>' in section
