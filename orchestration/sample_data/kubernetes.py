"""The sample organisation's EKS clusters, with split cost allocation data (issue 20).

Two clusters run in the checkout-prod account of payer-a (the payer that delivers CUR 2.0),
on nodes the platform team tags as its own:

- ``acme-commerce-eks``: two m5.2xlarge nodes shared by the checkout, search and payments
  namespaces, the cluster add-ons (kube-system, monitoring) and a stray debug pod in
  ``default``; its idle capacity is split over the pods' teams (the default);
- ``acme-batch-eks``: one m5.xlarge node of nightly jobs (data-platform's ETL, and the ML
  team's recommendations trainer, told apart by its ``app`` label); seed
  ``kubernetes_idle_rules`` charges its idle capacity to platform.

Each node-day is one instance line (``BoxUsage``) plus two records per pod (vCPU and
memory, operation ``EKSPod-EC2``) whose ``split_line_item_*`` columns follow AWS's
published method: CPU and memory weighted 9 : 1, a pod's allocated capacity is the larger
of its reservation and its use, and the instance's unused capacity is spread onto the pods
in proportion (``split_line_item_unused_cost``), so the pods' split and unused cost add up
to the instance's cost. The records are daily (a Data Export at daily granularity) so the
sample stays small: about 800 line items a month. The pods' own line-item costs are 0, as
AWS delivers them: the instance line stays the bill's source.

Samples smaller than ``MIN_ROWS`` line items per payer and period (test fixtures) have no
clusters, so their figures are those of the line item generator alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Iterator

import numpy as np
import pyarrow as pa

from .line_items import USAGE, PeriodGenerator, Piece, _alnum

PAYER_ROLE = "payer-a"
ACCOUNT = ("210987654301", "checkout-prod")
MIN_ROWS = 10_000
CPU_WEIGHT, MEMORY_WEIGHT = 9.0, 1.0  # AWS's default weights (relative Fargate prices)
NODE_TAGS = {"user_team": "platform", "user_environment": "prod"}


@dataclass(frozen=True)
class Pod:
    name: str
    namespace: str
    workload: str
    workload_type: str
    vcpu_reserved: float
    vcpu_used: float  # average over the day, before the day's jitter
    memory_reserved: float  # GB
    memory_used: float
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Node:
    instance_id: str
    instance_type: str
    vcpus: int
    memory_gb: int
    hourly_rate: float  # us-east-1 on-demand, USD
    pods: tuple[Pod, ...]


@dataclass(frozen=True)
class Cluster:
    name: str
    nodes: tuple[Node, ...]


CLUSTERS: tuple[Cluster, ...] = (
    Cluster("acme-commerce-eks", (
        Node("i-0a1c0mmerce00001", "m5.2xlarge", 8, 32, 0.384, (
            Pod("cart-7d9f", "checkout", "cart", "Deployment", 2.0, 1.4, 6.0, 5.0),
            Pod("query-api-5c2b", "search", "query-api", "Deployment", 2.0, 2.6, 8.0, 7.0),
            Pod("coredns-a1", "kube-system", "coredns", "DaemonSet", 0.2, 0.1, 0.5, 0.3),
            Pod("prometheus-0", "monitoring", "prometheus", "StatefulSet", 1.0, 0.8, 4.0, 5.0),
        )),
        Node("i-0a1c0mmerce00002", "m5.2xlarge", 8, 32, 0.384, (
            Pod("gateway-6f4a", "payments", "gateway", "Deployment", 2.0, 1.2, 8.0, 6.0, {"team": "payments"}),
            Pod("cart-8e1a", "checkout", "cart", "Deployment", 2.0, 1.6, 6.0, 5.0),
            Pod("coredns-b2", "kube-system", "coredns", "DaemonSet", 0.2, 0.1, 0.5, 0.3),
            Pod("debug-shell", "default", "debug-shell", "Pod", 0.25, 0.05, 0.5, 0.2),
        )),
    )),
    Cluster("acme-batch-eks", (
        Node("i-0b2batch00000001", "m5.xlarge", 4, 16, 0.192, (
            Pod("etl-nightly", "batch", "etl-nightly", "Job", 1.5, 1.2, 6.0, 4.0),
            Pod("recs-trainer", "batch", "recs-trainer", "Job", 1.0, 0.9, 4.0, 3.5, {"app": "recommendations"}),
        )),
    )),
)


@dataclass(frozen=True)
class PodSplit:
    """One pod's split cost allocation figures for one resource (vCPU or memory) and period of use."""

    usage: float  # allocated: max(reserved, used)
    ratio: float  # split usage ratio
    split_cost: float
    unused_cost: float
    reserved: float
    used: float


def split_node_cost(cost: float, vcpus: float, memory_gb: float, hours: float,
                    usage: list[tuple[float, float, float, float]]) -> list[tuple[PodSplit, PodSplit]]:
    """AWS's split of one node's cost over ``hours`` between its pods.

    ``usage``: per pod (vCPU reserved, vCPU used, GB reserved, GB used), as averages over
    the hours. Returns per pod its (vCPU, memory) figures; every pod's split and unused
    cost add up to ``cost``. A resource allocated beyond the node's capacity
    (over-subscription) is split in proportion to the allocations, with nothing unused.
    """
    unit = cost / (CPU_WEIGHT * vcpus + MEMORY_WEIGHT * memory_gb)  # per weighted unit, for the whole `hours`
    out: list[list[PodSplit]] = [[] for _ in usage]
    for index, (available, weight) in enumerate(((vcpus, CPU_WEIGHT), (memory_gb, MEMORY_WEIGHT))):
        reserved = [u[2 * index] for u in usage]
        used = [u[2 * index + 1] for u in usage]
        allocated = [max(r, u) for r, u in zip(reserved, used)]
        total = sum(allocated)
        unused_cost = max(available - total, 0.0) * weight * unit
        for pod, (r, u, a) in enumerate(zip(reserved, used, allocated)):
            ratio = a / max(total, available)
            out[pod].append(PodSplit(
                usage=a * hours, ratio=ratio, split_cost=ratio * available * weight * unit,
                unused_cost=unused_cost * a / total if total else 0.0, reserved=r * hours, used=u * hours))
    return [(cpu, memory) for cpu, memory in out]


def pieces(gen: PeriodGenerator) -> Iterator[Piece]:
    """The clusters' line items of the generator's payer and period (none for other payers, small samples)."""
    plan = gen.plan
    if plan.role != PAYER_ROLE or plan.n_rows < MIN_ROWS:
        return
    rng = np.random.default_rng([plan.seed, int(plan.period[:4]), int(plan.period[5:7]), 20])
    rows: list[dict] = []
    days = plan.hours // 24
    for day in range(days):
        start = plan.start + timedelta(days=day)
        end = start + timedelta(days=1)
        for cluster in CLUSTERS:
            for node in cluster.nodes:
                rows += _node_day(cluster, node, start, end, rng)
    if not rows:
        return
    piece = gen._rows_to_piece(rows)  # the generator's own row -> CUR 2.0 columns mapping
    ids = [_alnum(f"{plan.seed}|{plan.role}|{plan.period}|eks|{i}", 26).lower() * 2 for i in range(len(rows))]
    piece.cols["identity_line_item_id"] = pa.array(ids)  # the fee piece's ids are numbered alike
    yield piece


def _node_day(cluster: Cluster, node: Node, start, end, rng: np.random.Generator) -> list[dict]:
    hours = 24.0
    cost = round(node.hourly_rate * hours, 10)
    jitter = rng.uniform(0.8, 1.2, size=(len(node.pods), 2))
    usage = [(pod.vcpu_reserved, pod.vcpu_used * j[0], pod.memory_reserved, pod.memory_used * j[1])
             for pod, j in zip(node.pods, jitter)]
    common = {"_start": start, "_end": end, "line_item_usage_account_id": ACCOUNT[0],
              "line_item_usage_account_name": ACCOUNT[1], "line_item_line_item_type": USAGE,
              "product_region_code": "us-east-1", "line_item_availability_zone": "us-east-1a"}
    rows = [dict(common, line_item_product_code="AmazonEC2", product_servicecode="AmazonEC2",
                 line_item_usage_type=f"BoxUsage:{node.instance_type}", line_item_operation="RunInstances",
                 line_item_resource_id=node.instance_id, line_item_usage_amount=hours,
                 line_item_unblended_cost=cost, line_item_blended_cost=cost, pricing_public_on_demand_cost=cost,
                 line_item_unblended_rate=f"{node.hourly_rate}", pricing_public_on_demand_rate=f"{node.hourly_rate}",
                 pricing_unit="Hrs", pricing_term="OnDemand", product_instance_type=node.instance_type,
                 line_item_line_item_description=f"${node.hourly_rate} per On Demand Linux {node.instance_type} Instance Hour",
                 _tags={**NODE_TAGS, "aws_eks_cluster_name": cluster.name}, _effective=cost,
                 _service="Amazon Elastic Compute Cloud", _category="Compute")]
    for pod, (cpu, memory) in zip(node.pods, split_node_cost(cost, node.vcpus, node.memory_gb, hours, usage)):
        tags = {"aws_eks_cluster_name": cluster.name, "aws_eks_namespace": pod.namespace,
                "aws_eks_node": node.instance_id, "aws_eks_workload_name": pod.workload,
                "aws_eks_workload_type": pod.workload_type,
                **{f"user_{key}": value for key, value in pod.labels.items()}}
        resource_id = f"arn:aws:eks:us-east-1:{ACCOUNT[0]}:pod/{cluster.name}/{pod.namespace}/{pod.name}/" \
                      f"{_alnum(cluster.name + pod.name, 12).lower()}"
        for resource, split in (("vCPU", cpu), ("GB", memory)):
            rows.append(dict(common, line_item_product_code="AmazonEKS", product_servicecode="AmazonEKS",
                             line_item_usage_type=f"EKS-EC2-{resource}-Hours", line_item_operation="EKSPod-EC2",
                             line_item_resource_id=resource_id, line_item_usage_amount=split.usage,
                             line_item_unblended_cost=0.0, pricing_public_on_demand_cost=0.0,
                             pricing_unit="vCPU-Hours" if resource == "vCPU" else "GB-Hours",
                             split_line_item_parent_resource_id=node.instance_id,
                             split_line_item_split_usage=split.usage, split_line_item_split_usage_ratio=split.ratio,
                             split_line_item_split_cost=split.split_cost,
                             split_line_item_unused_cost=split.unused_cost,
                             split_line_item_public_on_demand_split_cost=split.split_cost,
                             split_line_item_public_on_demand_unused_cost=split.unused_cost,
                             split_line_item_reserved_usage=split.reserved, split_line_item_actual_usage=split.used,
                             _tags=tags, _effective=0.0, _service="Amazon Elastic Container Service for Kubernetes",
                             _category="Compute"))
    return rows
