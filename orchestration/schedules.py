"""Schedules: the daily restatement reload and the monthly close.

AWS keeps restating the current and the previous month until the invoice is
final, so every day the last ``FINOPS_RESTATEMENT_MONTHS`` billing periods are
reloaded; on the 8th (after the invoice of the previous month is final) a close
run reloads that month once more. Both land partitions; the sensor
``warehouse_after_landing`` (orchestration/sensors.py) then rebuilds the marts
once, after the last landing run of the batch.
"""

from __future__ import annotations

from datetime import date

import dagster as dg

from orchestration.runtime import RUN_KIND_TAG
from orchestration.settings import Settings

DAILY_CRON = "0 6 * * *"  # 06:00 UTC: AWS refreshes exports up to three times a day
MONTHLY_CLOSE_CRON = "0 7 8 * *"  # the 8th, 07:00 UTC: the previous month's invoice is final


def previous_periods(today: date, months: int) -> list[str]:
    """The billing period of ``today`` and the ``months - 1`` before it, oldest first (YYYY-MM)."""
    year, month = today.year, today.month
    periods = []
    for _ in range(max(months, 1)):
        periods.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return sorted(periods)


def closed_period(today: date) -> str:
    """The billing period whose invoice is final by ``today`` (the previous month)."""
    return previous_periods(today, 2)[0]


def build_schedules(load_job) -> list[dg.ScheduleDefinition]:
    @dg.schedule(cron_schedule=DAILY_CRON, job=load_job, execution_timezone="UTC", name="daily_restatement",
                 description="Reload the current and previous billing periods (FINOPS_RESTATEMENT_MONTHS) every "
                             "day; the marts are rebuilt after the last of these runs.")
    def daily_restatement(context: dg.ScheduleEvaluationContext):
        day = context.scheduled_execution_time.date()
        for period in previous_periods(day, Settings.from_env().restatement_months):
            yield dg.RunRequest(run_key=f"daily:{day.isoformat()}:{period}", partition_key=period,
                                tags={"finops/trigger": "daily_restatement", RUN_KIND_TAG: "schedule"})

    @dg.schedule(cron_schedule=MONTHLY_CLOSE_CRON, job=load_job, execution_timezone="UTC", name="monthly_close",
                 description="On the 8th, reload the previous billing period once its invoice is final.")
    def monthly_close(context: dg.ScheduleEvaluationContext):
        period = closed_period(context.scheduled_execution_time.date())
        return dg.RunRequest(run_key=f"close:{period}", partition_key=period,
                             tags={"finops/trigger": "monthly_close", "finops/closed_period": period,
                                   RUN_KIND_TAG: "schedule"})

    return [daily_restatement, monthly_close]
