"""A small hand-written bill for the Optimize tests (tests/test_optimize.py): one resource per
opportunity kind, each with figures simple enough to price by hand, in CUR 2.0 layout.

Periods 2026-07..2026-09 (the snapshot needs three months of history). Lines are daily where the
rules look at days (volume size, provisioned IOPS, the commitment curve's daily series).
"""

from __future__ import annotations

import calendar
from datetime import date
from pathlib import Path

import pyarrow as pa

from tests.export_builders import write_data_export

PAYER, ACCOUNT, REGION = "111122223333", "222233334444", "us-east-1"
PERIODS = ["2026-07", "2026-08", "2026-09"]

SCHEMA = pa.schema([
    ("identity_line_item_id", pa.string()),
    ("identity_time_interval", pa.string()),
    ("bill_payer_account_id", pa.string()),
    ("line_item_usage_account_id", pa.string()),
    ("line_item_line_item_type", pa.string()),
    ("line_item_usage_start_date", pa.timestamp("ms", tz="UTC")),
    ("line_item_usage_end_date", pa.timestamp("ms", tz="UTC")),
    ("line_item_unblended_cost", pa.float64()),
    ("line_item_product_code", pa.string()),
    ("line_item_currency_code", pa.string()),
    ("line_item_usage_type", pa.string()),
    ("line_item_operation", pa.string()),
    ("line_item_resource_id", pa.string()),
    ("line_item_usage_amount", pa.float64()),
    ("pricing_unit", pa.string()),
    ("pricing_public_on_demand_cost", pa.float64()),
    ("product_region_code", pa.string()),
    ("savings_plan_savings_plan_a_r_n", pa.string()),
    ("savings_plan_savings_plan_effective_cost", pa.float64()),
    ("resource_tags", pa.map_(pa.string(), pa.string())),
])


class Bill:
    """Collects line items per billing period."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict]] = {}

    def line(self, day: date, resource: str, usage_type: str, amount: float, cost: float, *, product: str,
             unit: str, operation: str = "", team: str = "platform", line_item_type: str = "Usage",
             sp_effective_cost: float | None = None) -> None:
        period = f"{day.year:04d}-{day.month:02d}"
        rows = self.rows.setdefault(period, [])
        start = f"{day.isoformat()}T00:00:00Z"
        rows.append({
            "identity_line_item_id": f"{resource}|{usage_type}|{line_item_type}",
            "identity_time_interval": f"{start}/{day.isoformat()}T23:59:59Z",
            "bill_payer_account_id": PAYER, "line_item_usage_account_id": ACCOUNT,
            "line_item_line_item_type": line_item_type,
            "line_item_usage_start_date": _ts(day), "line_item_usage_end_date": _ts(day),
            "line_item_unblended_cost": 0.0 if line_item_type == "SavingsPlanCoveredUsage" else cost,
            "line_item_product_code": product, "line_item_currency_code": "USD",
            "line_item_usage_type": usage_type, "line_item_operation": operation,
            "line_item_resource_id": resource, "line_item_usage_amount": amount, "pricing_unit": unit,
            "pricing_public_on_demand_cost": cost, "product_region_code": REGION,
            "savings_plan_savings_plan_a_r_n": "arn:aws:savingsplans::111122223333:savingsplan/sp-1"
            if sp_effective_cost is not None else "",
            "savings_plan_savings_plan_effective_cost": sp_effective_cost,
            "resource_tags": {"user_team": team},
        })

    def monthly(self, period: str, resource: str, usage_type: str, amount: float, cost: float, **kw) -> None:
        """Spread a month's amount and cost evenly over the days of the period."""
        year, month = map(int, period.split("-"))
        days = calendar.monthrange(year, month)[1]
        for d in range(1, days + 1):
            self.line(date(year, month, d), resource, usage_type, amount / days, cost / days, **kw)

    def write(self, root: Path, execution: str = "1") -> None:
        for period, rows in self.rows.items():
            write_data_export(root, "cur2", period, {"part-1.parquet": rows}, execution_id=f"{period}-{execution}",
                              schema=SCHEMA)


def _ts(day: date):
    from datetime import datetime, timezone
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


def hand_bill() -> Bill:
    """The fixture; every figure here is priced by hand in tests/test_optimize.py."""
    bill = Bill()
    ec2 = {"product": "AmazonEC2"}
    # gp2 → gp3: a 100 GB gp2 volume in August at $0.10/GB-month, changed to gp3 in September (realized)
    bill.monthly("2026-08", "vol-small", "EBS:VolumeUsage.gp2", 100, 10.00, unit="GB-Mo", operation="CreateVolume-Gp2", team="checkout", **ec2)
    bill.monthly("2026-09", "vol-small", "EBS:VolumeUsage.gp3", 100, 8.00, unit="GB-Mo", operation="CreateVolume-Gp3", team="checkout", **ec2)
    # a 2,000 GB gp2 volume (6,000 baseline IOPS: gp3 needs 3,000 IOPS on top of its included 3,000)
    bill.monthly("2026-09", "vol-big", "EBS:VolumeUsage.gp2", 2000, 200.00, unit="GB-Mo", operation="CreateVolume-Gp2", team="checkout", **ec2)
    # io1, 200 GB with 4,000 provisioned IOPS
    bill.monthly("2026-09", "vol-io1", "EBS:VolumeUsage.piops", 200, 25.00, unit="GB-Mo", operation="CreateVolume-P-IOPS.piops", team="search", **ec2)
    bill.monthly("2026-09", "vol-io1", "EBS:VolumeP-IOPS.piops", 4000, 260.00, unit="IOPS-Mo", operation="CreateVolume-P-IOPS.piops", team="search", **ec2)
    # previous generation: an m4.large running all September (24 h a day at $0.10/h) ...
    for d in range(1, 31):
        bill.line(date(2026, 9, d), "i-m4-steady", "BoxUsage:m4.large", 24, 2.40, unit="Hrs", operation="RunInstances", team="search", **ec2)
        # ... next to a c5.large whose hours grow by one a day (day d: d hours at $0.24/h): the bursty part
        bill.line(date(2026, 9, d), "i-c5-burst", "BoxUsage:c5.large", d, 0.24 * d, unit="Hrs", operation="RunInstances", team="search", **ec2)
    # an m4.large that ran 100 hours in August (10 days x 10 h)
    for d in range(1, 11):
        bill.line(date(2026, 8, d), "i-m4-part", "BoxUsage:m4.large", 10, 1.00, unit="Hrs", operation="RunInstances", team="search", **ec2)
    # a Savings Plan covering an m5.large: $100 on demand for $72 → the bill reveals a 28 % discount
    bill.line(date(2026, 9, 15), "i-m5-covered", "BoxUsage:m5.large", 1000, 100.00, unit="Hrs", operation="RunInstances",
              line_item_type="SavingsPlanCoveredUsage", sp_effective_cost=72.00, team="search", **ec2)
    # an idle public IPv4 address all September (720 h at $0.005), and one idle for only 100 hours
    vpc = {"product": "AmazonVPC", "unit": "Hrs"}
    bill.monthly("2026-09", "eipalloc-idle", "PublicIPv4:IdleAddress", 720, 3.60, operation="AssociateAddressVPC", team="payments", **vpc)
    bill.monthly("2026-09", "eipalloc-brief", "PublicIPv4:IdleAddress", 100, 0.50, operation="AssociateAddressVPC", team="payments", **vpc)
    # a forgotten NAT gateway: 720 h at $0.045 and 2 GB processed; a busy one
    bill.monthly("2026-09", "nat-forgotten", "NatGateway-Hours", 720, 32.40, unit="Hrs", operation="NatGateway", team="data-platform", **ec2)
    bill.monthly("2026-09", "nat-forgotten", "NatGateway-Bytes", 2, 0.09, unit="GB", operation="NatGateway", team="data-platform", **ec2)
    bill.monthly("2026-09", "nat-busy", "NatGateway-Hours", 720, 32.40, unit="Hrs", operation="NatGateway", team="data-platform", **ec2)
    bill.monthly("2026-09", "nat-busy", "NatGateway-Bytes", 5000, 225.00, unit="GB", operation="NatGateway", team="data-platform", **ec2)
    # an idle application load balancer: 720 h at $0.0225 and 2.5 LCU-hours at $0.008
    elb = {"product": "AWSELB", "operation": "LoadBalancing:Application", "team": "checkout"}
    bill.monthly("2026-09", "app/idle-lb", "LoadBalancerUsage", 720, 16.20, unit="Hrs", **elb)
    bill.monthly("2026-09", "app/idle-lb", "LCUUsage", 2.5, 0.02, unit="LCU-Hrs", **elb)
    # a snapshot in the bill since July (50 GB-month at $0.05 each month), and a new one
    for period in PERIODS:
        bill.monthly(period, "snap-old", "EBS:SnapshotUsage", 50, 2.50, unit="GB-Mo", operation="CreateSnapshot", team="data-platform", **ec2)
    bill.monthly("2026-09", "snap-new", "EBS:SnapshotUsage", 50, 2.50, unit="GB-Mo", operation="CreateSnapshot", team="data-platform", **ec2)
    # a cold S3 bucket (1,000 GB-month at $0.023, 500 requests) and a busy one
    s3 = {"product": "AmazonS3", "team": "data-platform"}
    bill.monthly("2026-09", "cold-bucket", "TimedStorage-ByteHrs", 1000, 23.00, unit="GB-Mo", operation="StandardStorage", **s3)
    bill.monthly("2026-09", "cold-bucket", "Requests-Tier1", 500, 0.0025, unit="Requests", operation="PutObject", **s3)
    bill.monthly("2026-09", "busy-bucket", "TimedStorage-ByteHrs", 1000, 23.00, unit="GB-Mo", operation="StandardStorage", **s3)
    bill.monthly("2026-09", "busy-bucket", "Requests-Tier1", 1_000_000, 5.00, unit="Requests", operation="PutObject", **s3)
    return bill
