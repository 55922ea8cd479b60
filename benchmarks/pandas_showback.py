"""The reference a user would write without the warehouse: showback in pandas.

    python benchmarks/pandas_showback.py LANDING_DIR

Reads the CUR landing parquet (the columns it needs), computes amortized cost
per line item type as AWS's Cloud Intelligence Dashboards do, takes the team
from the tags (any spelling of the key `team`), and sums per billing period and
team. It does less than the warehouse (no rules, inheritance, shared costs or
checks), so it flatters pandas. Run by benchmarks/run_benchmark.py in its own
process, which measures its time and peak memory; its last line, the totals,
is how the benchmark checks that pandas and the warehouse read the same bill.
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = [
    "_billing_period", "line_item_line_item_type", "line_item_unblended_cost",
    "savings_plan_savings_plan_effective_cost", "savings_plan_total_commitment_to_date",
    "savings_plan_used_commitment", "reservation_effective_cost",
    "reservation_unused_amortized_upfront_fee_for_billing_period", "reservation_unused_recurring_fee",
    "reservation_reservation_a_r_n", "resource_tags",
]


def team_of(tags) -> str:
    for key, value in tags or []:
        normalised = key.lower().replace("user:", "").replace("user_", "")
        if normalised == "team" and value:
            return value.strip().lower()
    return "unallocated"


def main(landing_dir: Path) -> None:
    files = [p for p in (landing_dir / "cur2").rglob("*.parquet")] + \
            [p for p in (landing_dir / "cur_legacy").rglob("*.parquet")]
    frame = pd.concat([pd.read_parquet(f, columns=COLUMNS) for f in files], ignore_index=True)
    kind = frame["line_item_line_item_type"]
    unblended = frame["line_item_unblended_cost"].fillna(0)
    effective = np.select(
        [kind == "SavingsPlanCoveredUsage", kind == "SavingsPlanRecurringFee",
         kind.isin(["SavingsPlanNegation", "SavingsPlanUpfrontFee"]), kind == "DiscountedUsage",
         kind == "RIFee", (kind == "Fee") & frame["reservation_reservation_a_r_n"].fillna("").ne("")],
        [frame["savings_plan_savings_plan_effective_cost"].fillna(0),
         frame["savings_plan_total_commitment_to_date"].fillna(0) - frame["savings_plan_used_commitment"].fillna(0),
         0.0, frame["reservation_effective_cost"].fillna(0),
         frame["reservation_unused_amortized_upfront_fee_for_billing_period"].fillna(0)
         + frame["reservation_unused_recurring_fee"].fillna(0), 0.0],
        default=unblended)
    frame["effective_cost"] = effective
    frame["team"] = frame["resource_tags"].map(team_of)
    showback = frame.groupby(["_billing_period", "team"], as_index=False).agg(
        total_cost=("effective_cost", "sum"), billed_cost=("line_item_unblended_cost", "sum"))
    print(showback.sort_values(["_billing_period", "total_cost"], ascending=[True, False]).head(20).to_string())
    print(f"totals: billed_cost={showback['billed_cost'].sum():.6f} total_cost={showback['total_cost'].sum():.6f}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
