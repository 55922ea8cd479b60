"""Waste the Optimize marts find in the demo organisation (issue 19, docs/optimize.md).

Realistic leftovers, one line per resource and day, in payer-a's CUR 2.0 export: gp2 volumes
(checkout), an io1 volume whose IOPS fit gp3 (payments), an m4 fleet (search), idle public
IPv4 addresses (payments), a forgotten NAT gateway (mobile-api), an idle load balancer
(checkout), snapshots nobody deletes (growth), a cold S3 bucket (customer-support) and steady
on-demand compute (identity). Every resource carries its team's tag, so every opportunity has an
owner. In the third generated month the teams fix part of it — checkout moves every other gp2
volume to gp3, search moves every other m4 to m5, payments releases an address — so the
demo shows realized savings too.

Fleet sizes scale with the line items per period (a bigger sample bill is a bigger organisation);
each kind has at least one resource. Prices are us-east-1 list prices, as in the seeds.
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta, timezone
from typing import Iterator

import numpy as np
import pyarrow as pa

from . import organisation as org
from .line_items import Piece, PeriodGenerator, _alnum

PAYER = "payer-a"  # the CUR 2.0 payer: the waste is in one export, counted once
FIX_MONTH = 2  # months after the first generated one: the month teams fix part of the waste
REFERENCE_ROWS = 120_000  # payer-a's line items per period in the default demo (200,000 in all)
ACCOUNT_OF = {a.name: a for a in org.ACCOUNTS}


def _count(base: int, n_rows: int, least: int = 1) -> int:
    return max(least, round(base * n_rows / REFERENCE_ROWS))


def _months_since(first: str, period: str) -> int:
    return (int(period[:4]) - int(first[:4])) * 12 + int(period[5:7]) - int(first[5:7])


def waste_resources(n_rows: int, month_index: int) -> list[dict]:
    """The resources billed in a month: id, account, team, and the usage lines of one day.

    Each usage is (usage_type, operation, product_code, unit, amount per day, rate)."""
    fixed = month_index >= FIX_MONTH
    out: list[dict] = []

    def add(kind: str, i: int, account: str, usage: list[tuple]) -> None:
        a = ACCOUNT_OF[account]
        out.append({"id": RESOURCE_IDS[kind](i), "account": a, "team": a.team, "usage": usage})

    # at least two of the kinds teams fix: one is fixed, one stays open
    n_gp2 = _count(6, n_rows, least=2)
    for i in range(n_gp2):
        size = 200 + 150 * (i % 4)  # 200..650 GB
        gp3 = fixed and i % 2 == 1
        ut, op, rate = ("EBS:VolumeUsage.gp3", "CreateVolume-Gp3", 0.08) if gp3 else ("EBS:VolumeUsage.gp2", "CreateVolume-Gp2", 0.10)
        add("gp2", i, "checkout-prod", [(ut, op, "AmazonEC2", "GB-Mo", size, rate, "monthly")])
    add("io1", 0, "payments-prod", [
        ("EBS:VolumeUsage.piops", "CreateVolume-P-IOPS.piops", "AmazonEC2", "GB-Mo", 20, 0.125, "monthly"),
        ("EBS:VolumeP-IOPS.piops", "CreateVolume-P-IOPS.piops", "AmazonEC2", "IOPS-Mo", 400, 0.065, "monthly")])
    n_m4 = _count(6, n_rows, least=2)
    for i in range(n_m4):
        moved = fixed and i % 2 == 1
        itype, rate = ("m5.large", 0.096) if moved else ("m4.large", 0.10)
        # batch workers: 16 hours a day, so a commitment would not suit them; the generation does
        add("m4", i, "search-prod", [(f"BoxUsage:{itype}", "RunInstances", "AmazonEC2", "Hrs", 16, rate, "daily")])
    n_eip = _count(5, n_rows, least=2)
    for i in range(n_eip):
        if fixed and i == 0:
            continue  # released
        add("eip", i, "payments-prod", [("PublicIPv4:IdleAddress", "AssociateAddressVPC", "AmazonVPC", "Hrs", 24, 0.005, "daily")])
    add("nat", 0, "mobile-api-dev", [
        ("NatGateway-Hours", "NatGateway", "AmazonEC2", "Hrs", 24, 0.045, "daily"),
        ("NatGateway-Bytes", "NatGateway", "AmazonEC2", "GB", 0.05, 0.045, "daily")])
    add("alb", 0, "checkout-prod", [
        ("LoadBalancerUsage", "LoadBalancing:Application", "AWSELB", "Hrs", 24, 0.0225, "daily"),
        ("LCUUsage", "LoadBalancing:Application", "AWSELB", "LCU-Hrs", 0.02, 0.008, "daily")])
    for i in range(_count(10, n_rows, least=2)):  # the second is declined in seeds/savings_decisions.csv
        add("snapshot", i, "growth-prod", [("EBS:SnapshotUsage", "CreateSnapshot", "AmazonEC2", "GB-Mo", 100, 0.05, "monthly")])
    add("bucket", 0, "customer-support-prod", [
        ("TimedStorage-ByteHrs", "StandardStorage", "AmazonS3", "GB-Mo", 2000, 0.023, "monthly"),
        ("Requests-Tier1", "PutObject", "AmazonS3", "Requests", 10, 0.000005, "daily")])
    for i in range(_count(4, n_rows)):
        add("steady", i, "identity-prod", [("BoxUsage:c5.large", "RunInstances", "AmazonEC2", "Hrs", 24, 0.085, "daily")])
    return out


# Stable ids (independent of the generator's seed), so a decision in seeds/savings_decisions.csv
# keeps pointing at the same demo resource.
RESOURCE_IDS = {
    "gp2": lambda i: f"vol-0ac0e{i:012d}",
    "io1": lambda i: f"vol-0a10f{i:012d}",
    "m4": lambda i: f"i-0a4f1ee7{i:09d}",
    "eip": lambda i: f"eipalloc-0a1d1e{i:011d}",
    "nat": lambda i: f"nat-0f0260e7{i:09d}",
    "alb": lambda i: f"arn:aws:elasticloadbalancing:us-east-1:210987654301:loadbalancer/app/checkout-legacy-alb/0a1b{i:012d}",
    "snapshot": lambda i: f"snap-0a5a9e{i:011d}",
    "bucket": lambda i: f"acme-customer-support-ticket-archive-{i}",
    "steady": lambda i: f"i-0c5d5eed{i:09d}",
}


def waste_pieces(gen: PeriodGenerator) -> Iterator[Piece]:
    """The waste lines of the generator's payer and period (none for the other payer)."""
    plan = gen.plan
    if plan.role != PAYER:
        return
    year, month = int(plan.period[:4]), int(plan.period[5:7])
    days = calendar.monthrange(year, month)[1]
    rows: list[dict] = []
    for resource in waste_resources(plan.n_rows, _months_since(plan.first_period, plan.period)):
        account = resource["account"]
        for usage_type, operation, product, unit, amount, rate, per in resource["usage"]:
            daily = amount / days if per == "monthly" else amount
            for day in range(days):
                start = datetime(year, month, 1, tzinfo=timezone.utc) + timedelta(days=day)
                cost = round(daily * rate, 10)
                rows.append({
                    "_tags": {"user_Team": resource["team"]}, "_start": start, "_end": start + timedelta(days=1),
                    "_effective": cost, "_service": _service_name(product), "_category": _category(product),
                    "line_item_line_item_type": "Usage",
                    "line_item_usage_account_id": account.account_id, "line_item_usage_account_name": account.name,
                    "line_item_product_code": product, "product_servicecode": product,
                    "line_item_usage_type": usage_type, "product_usagetype": usage_type,
                    "line_item_operation": operation, "line_item_resource_id": resource["id"],
                    "line_item_usage_amount": daily, "pricing_unit": unit,
                    "line_item_unblended_cost": cost, "line_item_unblended_rate": f"{rate:.10f}",
                    "pricing_public_on_demand_cost": cost, "pricing_public_on_demand_rate": f"{rate:.10f}",
                    "pricing_term": "OnDemand", "product_region_code": "us-east-1",
                    "line_item_availability_zone": "us-east-1a",
                    "product_instance_type": usage_type.split(":", 1)[1] if usage_type.startswith("BoxUsage:") else "",
                })
    piece = gen._rows_to_piece(rows)
    # usage lines: their list cost is their on-demand cost (the helper is for fee lines, whose is 0),
    # and ids of their own (the helper numbers fee lines)
    piece.list_cost = np.array([r["pricing_public_on_demand_cost"] for r in rows], dtype=np.float64)
    piece.cols["identity_line_item_id"] = pa.array([
        _alnum(f"waste|{plan.role}|{plan.period}|{i}", 26).lower() * 2 for i in range(len(rows))])
    yield piece


def _service_name(product: str) -> str:
    return next((s.service_name for s in org.SPECS if s.product_code == product), product)


def _category(product: str) -> str:
    return next((s.category for s in org.SPECS if s.product_code == product), "Other")
