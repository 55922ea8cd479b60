"""`finops`: build the warehouse from billing exports, or try it on a generated organisation.

    finops demo  [--rows N] [--periods YYYY-MM ...]
    finops build [--export-uri URI] [--period YYYY-MM ...]
    finops report [--period YYYY-MM]

Both run the same Dagster jobs the UI shows, in-process, recorded in the
Dagster instance at $DAGSTER_HOME (default $FINOPS_DATA_DIR/dagster).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import re
import subprocess
import sys
import warnings
from datetime import date
from pathlib import Path

from orchestration.settings import DBT_PROJECT_DIR, Settings

log = logging.getLogger("finops")


class BuildFailed(Exception):
    """A job failed; the message says which step and why."""


def _root_cause(exc: BaseException) -> BaseException:
    from orchestration.ingestion.errors import IngestionError

    seen, visited = exc, set()
    while seen is not None and id(seen) not in visited:  # chains can loop (a cause re-raised in its handler)
        if isinstance(seen, IngestionError):
            return seen
        visited.add(id(seen))
        seen = seen.__cause__ or seen.__context__
    return exc


def parse_dbt_project() -> None:
    """Refresh the dbt manifest the Dagster definitions are built from, when the project changed.

    A partial parse still costs seconds; a digest of the project's files (models, macros,
    seeds, tests, yml) beside the manifest tells whether it is needed at all.
    """
    target = DBT_PROJECT_DIR / os.environ.get("DBT_TARGET_PATH", "target")
    stamp = target / "finops_parsed_from.txt"
    digest = _project_files_digest()
    if (target / "manifest.json").exists() and stamp.exists() and stamp.read_text() == digest:
        return
    from orchestration.settings import dbt_executable

    completed = subprocess.run([dbt_executable(), "parse", "--quiet", "--profiles-dir", ".", "--project-dir", "."],
                               cwd=DBT_PROJECT_DIR, capture_output=True, text=True)
    if completed.returncode != 0:
        raise BuildFailed(f"dbt parse failed:\n{completed.stdout}{completed.stderr}")
    stamp.write_text(digest)


def _project_files_digest() -> str:
    """sha256 over the dbt project's source files (paths, sizes, modification times) and FINOPS_* settings."""
    import hashlib

    parts = []
    for path in sorted(DBT_PROJECT_DIR.rglob("*")):
        relative = path.relative_to(DBT_PROJECT_DIR)
        if relative.parts[0] in ("target", "logs", "dbt_packages") or not path.is_file():
            continue
        info = path.stat()
        parts.append(f"{relative}:{info.st_size}:{info.st_mtime_ns}")
    # env_var() in the project (paths, thread counts) is part of what dbt parsed
    parts.extend(f"{name}={value}" for name, value in sorted(os.environ.items()) if name.startswith("FINOPS_"))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


PERIOD_FORMAT = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def billing_period_argument(value: str) -> str:
    """argparse type for YYYY-MM: a real month, not before FINOPS_FIRST_BILLING_PERIOD when that is set."""
    if not PERIOD_FORMAT.fullmatch(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a billing period: expected YYYY-MM, e.g. 2026-10")
    # Only a first period the user set bounds the argument (unset, it may come from the data).
    first = os.environ.get("FINOPS_FIRST_BILLING_PERIOD")
    if first and value < first:
        raise argparse.ArgumentTypeError(
            f"{value} is before FINOPS_FIRST_BILLING_PERIOD ({first}); lower that setting to load it")
    return value


def discover_periods(export_uri: str, requested: list[str] | None) -> tuple[list[str], list]:
    """The billing periods to load (all found, or those requested) and their current deliveries."""
    from orchestration.ingestion.discovery import deliveries_for_periods, discover_deliveries
    from orchestration.ingestion.storage import open_store

    deliveries = deliveries_for_periods(discover_deliveries(open_store(export_uri)), requested, export_uri)
    return sorted({d.billing_period for d in deliveries}), deliveries


@contextlib.contextmanager
def build_lock(data_dir: Path):
    """One build per data dir at a time: a second one exits at once, naming the running one's pid.

    flock is released by the kernel when its process dies, so a killed build never leaves
    a stale lock behind.
    """
    import fcntl

    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / ".build.lock", "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "unknown"
            raise BuildFailed(f"another build is running on {data_dir} (pid {holder}); wait for it to finish, "
                              "then run this one again") from None
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
        try:
            yield
        finally:
            lock.seek(0)
            lock.truncate()


# The Dagster instance finops creates. run_monitoring: the daemon (`dagster dev`) fails a run stuck
# in STARTING; a run killed while STARTED is found by orchestration.runtime (the default run
# launcher cannot check a run worker's health).
INSTANCE_CONFIG = """\
telemetry:
  enabled: false
run_monitoring:
  enabled: true
  start_timeout_seconds: 180
  cancel_timeout_seconds: 180
"""


def run_build(settings: Settings, periods: list[str] | None = None, *, verbose: bool = False,
              run_kind: str = "build") -> list[str]:
    """Land every period (or those named), then build and test every dbt model. Returns the periods.

    ``run_kind`` (``build`` or ``demo``) tags the runs (finops/run_kind) in the run history."""
    from orchestration.ingestion.landing import writable_folder

    writable_folder(settings.data_dir)  # a clear message, not a traceback from the first mkdir
    with build_lock(settings.data_dir):
        return _run_build(settings, periods, verbose=verbose, run_kind=run_kind)


def _run_build(settings: Settings, periods: list[str] | None, *, verbose: bool, run_kind: str) -> list[str]:
    settings.export_to_env()
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    instance_config = settings.dagster_home / "dagster.yaml"
    if not instance_config.exists():  # defaults: run history and event logs in sqlite under DAGSTER_HOME
        instance_config.write_text(INSTANCE_CONFIG)
    from orchestration.runtime import recover

    for note in recover(settings.data_dir):  # a killed earlier run: mark it failed, remove its temp files
        print(f"  {note}", file=sys.__stdout__, flush=True)
    from orchestration.duckdb_setup import install_bundled_extensions
    from orchestration.ingestion.landing import ensure_landing_layout

    install_bundled_extensions()
    ensure_landing_layout(settings.landing_dir)
    periods, deliveries = discover_periods(settings.export_uri, periods)
    parse_dbt_project()
    from orchestration.build_plan import periods_already_built

    # a period whose every delivery is the one the last successful build was made from needs no
    # landing run (nor its checks: they passed then)
    already_built = periods_already_built(settings.data_dir, deliveries)
    from orchestration.ingestion.usage_drivers import periods_with_new_drivers, usage_drivers_uri

    # new usage drivers (shared pools) are landed by the period's landing run too
    with_new_drivers = periods_with_new_drivers(usage_drivers_uri(settings.data_dir), settings.landing_dir, periods)
    already_built = [p for p in already_built if p not in with_new_drivers]

    import dagster as dg

    from orchestration.definitions import definitions_for

    from orchestration.build_plan import landed_deliveries

    # partitions from the earliest of these periods and of those landed before, at least
    defs = definitions_for(sorted(set(periods) | set(landed_deliveries(settings.landing_dir))))

    from orchestration.progress import progress_display

    # Dagster's console logger shows everything with --verbose, otherwise nothing: a failed step
    # reaches the user as the one-line `finops: error:` naming its cause (Dagster's own ERROR
    # record carries a stack trace; it stays in the run's log in the UI). The `progress` logger
    # (orchestration/progress.py) turns the run's step events into one line per stage.
    run_config = {"loggers": {"console": {"config": {"log_level": "INFO" if verbose else "CRITICAL"}},
                              "progress": {}}}
    log_path = settings.data_dir / "logs" / "finops-build.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    # dbt's own progress lines go to stdout (dagster-dbt forwards them there), and so does the
    # per-alert detail of the alerts module's logger; keep them in a log file unless --verbose,
    # so the terminal shows what a person needs.
    with dg.DagsterInstance.get() as instance, open(log_path, "w") as log_file:
        output = contextlib.nullcontext() if verbose else contextlib.redirect_stdout(log_file)
        detail = _log_to(log_file, "orchestration.alerts") if not verbose else contextlib.nullcontext()
        with output, detail, progress_display() as progress:
            refused = []  # a period whose delivery is refused keeps what was landed; the others go on
            if already_built:
                progress.console.print(f"  {len(already_built)} billing period(s) unchanged since the last build: "
                                       f"{_period_list(already_built)}", markup=False, highlight=False, soft_wrap=True)
            for period in periods:
                if period in already_built:
                    continue
                try:
                    _execute(defs.resolve_job_def("load_billing_period"), instance, run_config,
                             f"landing of {period}", run_kind, partition_key=period)
                except BuildFailed as exc:
                    from orchestration.ingestion.errors import IngestionError

                    if not isinstance(_root_cause(exc), IngestionError):
                        raise  # a failed check on a landed file: stop before anything is built from it
                    progress.console.print(f"  billing period {period} NOT loaded: {exc}", markup=False, highlight=False, soft_wrap=True)
                    refused.append((period, exc))
            if len(refused) < len(periods):  # when every period was refused, nothing new is there to build
                _build_warehouse(settings, defs, instance, run_config, f"dbt build (full log: {log_path})",
                                 run_kind, progress)
    if refused:
        loaded = [p for p in periods if p not in {r for r, _ in refused}]
        if not loaded:
            raise refused[0][1] if len(refused) == 1 else BuildFailed(
                "no billing period loaded, nothing was built:\n  " + "\n  ".join(str(exc) for _, exc in refused))
        raise BuildFailed(
            f"billing period(s) {', '.join(r for r, _ in refused)} not loaded (they keep their previous delivery, "
            f"if any); {', '.join(loaded)} loaded and built:\n  " + "\n  ".join(str(exc) for _, exc in refused))
    return periods


def _period_list(periods: list[str]) -> str:
    """'2025-11 .. 2026-10' for a run of months, else the months."""
    return f"{periods[0]} .. {periods[-1]}" if len(periods) > 3 else ", ".join(periods)


@contextlib.contextmanager
def _log_to(stream, logger_name: str):
    """Send a module's log records (INFO and up) to ``stream`` while the block runs."""
    logger = logging.getLogger(logger_name)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def _build_warehouse(settings: Settings, defs, instance, run_config, what: str, run_kind: str,
                     progress) -> None:
    """Run what changed since the last build (orchestration/build_plan.py), or say it is up to date."""
    import dagster as dg

    from orchestration import definitions
    from orchestration.build_plan import landed_deliveries, plan_build, record_build
    from orchestration.publish import published_path

    manifest = json.loads(definitions.dbt_project.manifest_path.read_text())
    plan = plan_build(settings.data_dir, manifest, DBT_PROJECT_DIR, warehouse_exists=settings.warehouse_path.exists())
    if plan.up_to_date and published_path(settings.data_dir).exists():
        progress.console.print(f"  up to date: no new delivery and no changed model or seed since the build of "
                               f"{plan.built_at}; nothing rebuilt", markup=False, highlight=False, soft_wrap=True)
        return
    for reason in plan.reasons:
        progress.console.print(f"  {reason}", markup=False, highlight=False, soft_wrap=True)
    landed = sorted(landed_deliveries(settings.landing_dir))
    models, seeds = set(definitions.finops_dbt_models.keys), set(definitions.finops_dbt_seeds.keys)
    after_dbt = definitions.AFTER_DBT
    runs = []  # (asset keys, billing periods, full refresh)
    if plan.full:
        runs.append((models | seeds, landed, True))
    else:
        if plan.changed_nodes:  # edited logic: those nodes and everything after them, every period, from scratch
            translator = definitions.FinopsDbtTranslator()
            changed = set()
            for unique_id in plan.changed_nodes:
                node = manifest["nodes"].get(unique_id)
                if node is None:
                    continue
                # a changed test re-runs with the model (or seed) it tests
                for owner in ([unique_id] if node["resource_type"] != "test" else node["depends_on"]["nodes"]):
                    if owner in manifest["nodes"] and manifest["nodes"][owner]["resource_type"] in ("model", "seed"):
                        changed.add(translator.get_asset_key(manifest["nodes"][owner]))
            runs.append((changed & (models | seeds), landed, True))
        if plan.periods:  # new deliveries: every model, for those periods only
            runs.append((models, [p for p in plan.periods if p in landed] or list(plan.periods), False))
    runs = [run for index, run in enumerate(runs) if run[0] or index == len(runs) - 1]
    for index, (keys, periods, full_refresh) in enumerate(runs):
        if not periods:
            continue  # nothing landed at all: nothing to build from
        selection = sorted(keys, key=str) + (after_dbt if index == len(runs) - 1 else [])
        tags = {"dagster/asset_partition_range_start": min(periods), "dagster/asset_partition_range_end": max(periods)}
        if full_refresh:
            tags[definitions.DBT_FULL_REFRESH_TAG] = "true"
        _execute(defs.resolve_job_def("build_warehouse"), instance, run_config, what, run_kind,
                 asset_selection=[dg.AssetKey(k.path) for k in selection], extra_tags=tags)
    record_build(settings.data_dir, manifest, DBT_PROJECT_DIR)


def _execute(job, instance, run_config, what: str, run_kind: str, *, extra_tags: dict | None = None,
             **kwargs) -> None:
    try:
        from orchestration.runtime import process_tags

        # the pid tags let the next build (and the sensor) tell a killed run from a running one
        result = job.execute_in_process(instance=instance, run_config=run_config, raise_on_error=True,
                                        tags={**process_tags(run_kind), **(extra_tags or {})}, **kwargs)
    except Exception as exc:  # re-raised with the user-facing cause, not Dagster's wrapper
        failed = _failed_blocking_checks(instance, _latest_run_id(instance, job.name))
        if failed:
            raise BuildFailed(f"{what}: blocking check failed:\n  " + "\n  ".join(failed)) from exc
        cause = _root_cause(exc)
        raise BuildFailed(f"{what} failed: {cause}") from exc
    failed = _failed_blocking_checks(instance, result.run_id)
    if failed:
        raise BuildFailed(f"{what}: blocking check failed:\n  " + "\n  ".join(failed))
    if not result.success:
        raise BuildFailed(f"{what} failed (run {result.run_id}); see the Dagster UI for details")


def _latest_run_id(instance, job_name: str) -> str | None:
    import dagster as dg

    runs = instance.get_run_records(dg.RunsFilter(job_name=job_name), limit=1)
    return runs[0].dagster_run.run_id if runs else None


def _failed_blocking_checks(instance, run_id: str | None) -> list[str]:
    """'<asset>:<check> (billing period P): <what failed>' for each failed ERROR-severity check of the run."""
    import dagster as dg

    if run_id is None:
        return []
    failed = []
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = entry.dagster_event.event_specific_data
        if evaluation.passed or evaluation.severity != dg.AssetCheckSeverity.ERROR:
            continue
        name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
        failing = getattr((evaluation.metadata or {}).get("failing"), "value", None)
        where = (f" (billing period {evaluation.partition})" if evaluation.partition
                 else f" (billing period {failing})" if failing and failing != "none" else "")
        failed.append(f"{name}{where}: {evaluation.description or 'failed'}")
    return failed


def warehouse_summary(settings: Settings) -> str:
    """Per billing period and currency: line items, billed and amortized cost, untagged and unallocated shares.

    Money of payers billed in different currencies is never added up: each currency has its
    own rows and its own total (rpt_allocation_completeness is per period × currency). The two
    shares are the KPIs untagged_cost_pct and allocation_coverage_pct of fct_finops_kpis_monthly
    (the semantic layer's definitions); a total line re-aggregates them from their numerators
    and denominators, never by averaging percentages.
    """
    import duckdb

    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        rows = con.execute("""
            select strftime(c.billing_period, '%Y-%m'), coalesce(c.billing_currency, '?'), c.line_item_count,
                   c.canonical_billed_cost, c.canonical_effective_cost,
                   coalesce(untagged.numerator, 0), coalesce(untagged.denominator, 0),
                   coalesce(allocated.denominator - allocated.numerator, 0), coalesce(allocated.denominator, 0)
            from marts.rpt_allocation_completeness c
            left join marts.fct_finops_kpis_monthly untagged
                on untagged.kpi_name = 'untagged_cost_pct' and untagged.billing_period = c.billing_period
                and untagged.billing_currency is not distinct from c.billing_currency
            left join marts.fct_finops_kpis_monthly allocated
                on allocated.kpi_name = 'allocation_coverage_pct' and allocated.billing_period = c.billing_period
                and allocated.billing_currency is not distinct from c.billing_currency
            order by c.billing_currency, c.billing_period
        """).fetchall()
    lines = [f"  {'period':<8} {'currency':<8} {'line items':>12} {'billed':>16} "
             f"{'amortized':>16} {'untagged':>9} {'unallocated':>12}"]
    for currency in dict.fromkeys(row[1] for row in rows):
        of_currency = [row for row in rows if row[1] == currency]
        for period, _, *figures in of_currency:
            lines.append(_summary_line(period, currency, *figures))
        if len(of_currency) > 1:
            totals = [sum(column) for column in zip(*(row[2:] for row in of_currency))]
            lines.append(_summary_line("total", currency, *totals))
    lines.append("  untagged = share of taggable spend without its team tag; unallocated = share of amortized cost "
                 "with no team (KPIs untagged_cost_pct, allocation_coverage_pct)")
    return "\n".join(lines)


def _summary_line(label: str, currency: str, items: int, billed: float, amortized: float, untagged: float,
                  taggable: float, unallocated: float, allocatable: float) -> str:
    def share(part: float, whole: float) -> str:
        return f"{100 * part / whole:.1f}%" if whole else "-"

    return (f"  {label:<8} {currency:<8} {items:>12,} {billed:>16,.2f} {amortized:>16,.2f} "
            f"{share(untagged, taggable):>9} {share(unallocated, allocatable):>12}")


def concern_lines(settings: Settings) -> list[str]:
    """One line per concern of the last build a user must see (the detail is in the Dagster run log)."""
    import dagster as dg

    from orchestration.alerts import ALERTS_ASSET_KEY

    if not (settings.dagster_home / "dagster.yaml").exists():  # no build recorded there
        return []
    with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey(list(ALERTS_ASSET_KEY)))
    summary = event and event.asset_materialization and event.asset_materialization.metadata.get("summary")
    return [summary.value] if summary else []


def print_summary(settings: Settings, periods: list[str]) -> None:
    for line in concern_lines(settings):
        print(line)
    print()
    print(f"Loaded {len(periods)} billing period(s): {', '.join(periods)}")
    print(warehouse_summary(settings))
    print()
    print(f"Warehouse (DuckDB):  {settings.warehouse_path}   (schema 'marts')")
    print(f"Dagster UI:          FINOPS_DATA_DIR={settings.data_dir} scripts/ui   (http://127.0.0.1:3000; or "
          f"DAGSTER_HOME={settings.dagster_home} FINOPS_DATA_DIR={settings.data_dir} "
          f".venv/bin/dagster dev -m orchestration.definitions)")
    from orchestration.publish import published_path
    from orchestration.reports import latest_report

    published = published_path(settings.data_dir)
    if published.exists():  # the BI copy and the review pack the build_warehouse job ends with
        print(f"Published for BI:    {published}   (read-only copy, DuckDB {_duckdb_version()}; "
              f"parquet in {published.parent / 'parquet'})")
        pack = latest_report(settings.data_dir)
        if pack:
            print(f"Review pack:         {pack}   (open in a browser; `finops report --period YYYY-MM` for another month)")
    from orchestration.dbt_docs import docs_index

    if docs_index(settings.data_dir).exists():
        print(f"dbt docs:            {docs_index(settings.data_dir)}   (models, columns, tests, lineage; one file)")


def _duckdb_version() -> str:
    import duckdb

    return duckdb.__version__


def default_demo_periods(today: date | None = None, months: int = 3) -> list[str]:
    """The `months` complete billing periods before the current one."""
    today = today or date.today()
    year, month = today.year, today.month
    periods = []
    for _ in range(months):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        periods.append(f"{year:04d}-{month:02d}")
    return sorted(periods)


def cmd_demo(args: argparse.Namespace) -> None:
    from orchestration.sample_data import write_sample_exports

    settings = Settings.from_env()
    periods = args.periods or default_demo_periods()
    out_dir = settings.sample_exports_dir
    print(f"Generating sample exports for a demo organisation: {len(periods)} months x {args.rows:,} "
          f"line items -> {out_dir}", flush=True)
    write_sample_exports(out_dir, periods=periods, rows_per_period=args.rows, seed=args.seed, optimize_waste=True)
    from orchestration.sample_data.drivers import write_sample_drivers  # business drivers for unit economics
    write_sample_drivers(settings.data_dir, periods, args.seed, rows_per_period=args.rows)
    from orchestration.sample_data.usage_drivers import write_sample_usage_drivers  # usage of shared pools
    write_sample_usage_drivers(settings.data_dir, periods, args.seed)
    settings = dataclasses.replace(settings, export_uri=str(out_dir))
    built = run_build(settings, verbose=args.verbose, run_kind="demo")
    print_summary(settings, built)


def cmd_build(args: argparse.Namespace) -> None:
    settings = Settings.from_env()
    if args.export_uri:
        settings = dataclasses.replace(settings, export_uri=args.export_uri)
    built = run_build(settings, args.period, verbose=args.verbose)
    print_summary(settings, built)


def cmd_report(args: argparse.Namespace) -> None:
    from orchestration.reports import write_review_pack

    pack = write_review_pack(Settings.from_env().data_dir, args.period)
    print(f"Monthly cost review pack for {pack.period}: {pack.path}")
    for other in pack.others:  # a bill in several currencies: one pack per currency
        print(f"  and for its costs in another currency: {other}")
    if pack.unavailable:
        print(f"  not available yet in the published warehouse: {', '.join(pack.unavailable)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="finops", description=__doc__.split("\n\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="show Dagster and dbt progress logs")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="generate sample exports for a demo organisation and build everything")
    demo.add_argument("--rows", type=int, default=200_000, help="line items per billing period (default 200,000)")
    demo.add_argument("--periods", nargs="+", metavar="YYYY-MM", type=billing_period_argument,
                      help="billing periods (default: last 3 months)")
    demo.add_argument("--seed", type=int, default=42)
    demo.set_defaults(func=cmd_demo)
    build = sub.add_parser("build", help="load exports and build every mart")
    build.add_argument("--export-uri", help="s3://bucket/prefix or a folder (default: $FINOPS_EXPORT_URI)")
    build.add_argument("--period", nargs="+", metavar="YYYY-MM", type=billing_period_argument,
                       help="only these billing periods")
    build.set_defaults(func=cmd_build)
    report = sub.add_parser("report", help="write the monthly cost review pack (HTML) from the published marts")
    report.add_argument("--period", metavar="YYYY-MM", type=billing_period_argument,
                        help="billing period (default: the last closed one published)")
    report.set_defaults(func=cmd_report)
    args = parser.parse_args(argv)
    # pyspark (installed with the Spark extra) warns about pandas 3 whenever it is imported, here
    # by Great Expectations; nothing of this project runs on pyspark in-process.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    else:  # long S3 downloads report their progress even when everything else is quiet
        progress = logging.getLogger("orchestration.ingestion.storage")
        progress.setLevel(logging.INFO)
        progress.addHandler(logging.StreamHandler(sys.stderr))
    from orchestration.ingestion.errors import IngestionError
    from orchestration.reports import ReportError

    try:
        args.func(args)
    except (IngestionError, BuildFailed, ReportError) as exc:
        print(f"finops: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
