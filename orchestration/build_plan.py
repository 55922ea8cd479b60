"""What a warehouse build has to do, decided before dbt starts: which billing periods, which models.

Two things change a warehouse: a new delivery of a billing period (data) and an edited
model, seed, macro or project setting (logic). After every successful build the state
it was built from is recorded in ``<data dir>/build_state.json``:

``deliveries``
    per billing period, the delivery id of every landed export (the landing sidecars,
    ``landing/<format>/billing_period=P/<export>.delivery.json``);
``logic``
    per dbt node (model, seed, test), a digest of what decides its rows: its file's
    checksum, its config, and the SQL of every macro it calls, directly or not; plus
    ``dbt_project.yml`` (vars) under the key ``project``.

The next build compares:

* a period whose deliveries differ (new, re-delivered, removed) is rebuilt in every
  period-grained model, and nothing else is (the Dagster partitions of the run become
  the dbt models' billing periods, macros/incremental/billing_periods.sql);
* a node whose digest differs is rebuilt for every period with ``--full-refresh``,
  together with everything downstream of it (dbt's ``state:modified+``, computed here
  from the manifest); a seed edit therefore never re-reads the line items, whose models
  depend on the landing files alone;
* nothing differs, and the published copy is there: the build is "up to date" and runs
  nothing at all.

No state (a first build, or a warehouse built by a release without it) means a full
build of everything.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

STATE_FILE = "build_state.json"
STATE_VERSION = 1
# dbt resource types whose logic decides rows (tests decide pass/fail: a changed test is re-run)
LOGIC_RESOURCE_TYPES = {"model", "seed", "test", "snapshot"}


@dataclass(frozen=True)
class BuildPlan:
    """What to rebuild: the billing periods whose deliveries changed, the dbt nodes whose logic did."""

    periods: tuple[str, ...] = ()  # YYYY-MM whose landed deliveries changed since the last build
    changed_nodes: frozenset[str] = frozenset()  # dbt unique ids changed, with everything downstream
    full: bool = False  # nothing to compare with: every node, every period
    reasons: tuple[str, ...] = field(default=())
    built_at: str | None = None  # when the build compared with ran

    @property
    def up_to_date(self) -> bool:
        return not self.full and not self.periods and not self.changed_nodes


def landed_deliveries(landing_dir: Path) -> dict[str, dict[str, str]]:
    """{billing period: {"<format>/<landing file stem>": delivery id}} of what is landed now."""
    landed: dict[str, dict[str, str]] = {}
    for sidecar in sorted(landing_dir.glob("*/billing_period=*/*.delivery.json")):
        if not sidecar.with_name(sidecar.name.removesuffix(".delivery.json") + ".parquet").exists():
            continue  # a sidecar without its file is not landed data
        period = sidecar.parent.name.removeprefix("billing_period=")
        record = json.loads(sidecar.read_text())
        export = f"{sidecar.parent.parent.name}/{sidecar.name.removesuffix('.delivery.json')}"
        landed.setdefault(period, {})[export] = f"{record.get('delivery_id')}@v{record.get('landing_format_version')}"
    return landed


def periods_already_built(data_dir: Path, deliveries: list) -> list[str]:
    """Billing periods whose every current delivery (discovery's) is landed and is what the last
    successful build was made from: landing them again, and checking them, would change nothing."""
    from orchestration.ingestion.landing import LANDING_FORMAT_VERSION, landed_delivery

    state = _read_state(data_dir)
    if state is None:
        return []
    landed_now = landed_deliveries(data_dir / "landing")
    by_period: dict[str, list] = {}
    for delivery in deliveries:
        by_period.setdefault(delivery.billing_period, []).append(delivery)
    built = []
    for period, of_period in sorted(by_period.items()):
        current = [landed_delivery(data_dir / "landing", d) for d in of_period]
        if all(c and c.get("delivery_id") == d.delivery_id and c.get("landing_format_version") == LANDING_FORMAT_VERSION
               for c, d in zip(current, of_period)) and state["deliveries"].get(period) == landed_now.get(period):
            built.append(period)
    return built


def logic_digests(manifest: dict, project_dir: Path) -> dict[str, str]:
    """A digest per dbt node of what decides its rows (see the module docstring), plus ``project``."""
    macros = manifest.get("macros", {})
    macro_cache: dict[str, str] = {}

    def macro_digest(unique_id: str, seen: frozenset[str] = frozenset()) -> str:
        if unique_id in macro_cache:
            return macro_cache[unique_id]
        macro = macros.get(unique_id, {})
        parts = [macro.get("macro_sql", "")]
        for called in sorted(macro.get("depends_on", {}).get("macros", [])):
            if called not in seen:
                parts.append(macro_digest(called, seen | {unique_id}))
        macro_cache[unique_id] = _digest(parts)
        return macro_cache[unique_id]

    digests = {}
    for unique_id, node in manifest.get("nodes", {}).items():
        if node.get("resource_type") not in LOGIC_RESOURCE_TYPES:
            continue
        parts = [node.get("checksum", {}).get("checksum", ""),
                 json.dumps(node.get("config", {}), sort_keys=True, default=str),
                 *[macro_digest(m) for m in sorted(node.get("depends_on", {}).get("macros", []))]]
        digests[unique_id] = _digest(parts)
    digests["project"] = _digest([(project_dir / "dbt_project.yml").read_text()])
    return digests


def plan_build(data_dir: Path, manifest: dict, project_dir: Path, *, warehouse_exists: bool) -> BuildPlan:
    """Compare what is landed and the dbt project with the state of the last successful build."""
    state = _read_state(data_dir)
    if state is None or not warehouse_exists:
        reason = "no earlier build recorded" if warehouse_exists else "no warehouse yet"
        return BuildPlan(full=True, reasons=(f"full build: {reason}",))
    landed = landed_deliveries(data_dir / "landing")
    before = state["deliveries"]
    periods = tuple(sorted(p for p in set(landed) | set(before) if landed.get(p) != before.get(p)))
    logic = logic_digests(manifest, project_dir)
    if logic["project"] != state["logic"].get("project"):
        return BuildPlan(full=True, built_at=state.get("built_at"),
                         reasons=("full build: dbt_project.yml (vars, configs) changed",))
    edited = {uid for uid, digest in logic.items() if uid != "project" and state["logic"].get(uid) != digest}
    changed = _with_descendants(edited, manifest.get("child_map", {}))
    reasons = []
    if periods:
        reasons.append(f"new deliveries of billing period(s) {', '.join(periods)}")
    if edited:
        names = sorted(manifest["nodes"][uid]["name"] for uid in edited if uid in manifest["nodes"])
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        reasons.append(f"changed since the last build: {shown} (rebuilt for every period, with what depends on them)")
    return BuildPlan(periods=periods, changed_nodes=frozenset(changed), reasons=tuple(reasons),
                     built_at=state.get("built_at"))


def record_build(data_dir: Path, manifest: dict, project_dir: Path) -> None:
    """Write the state a successful build started from (atomically: a killed write leaves the old one)."""
    state = {"version": STATE_VERSION, "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
             "deliveries": landed_deliveries(data_dir / "landing"),
             "logic": logic_digests(manifest, project_dir)}
    path = data_dir / STATE_FILE
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True))
    os.replace(tmp, path)


def _read_state(data_dir: Path) -> dict | None:
    try:
        state = json.loads((data_dir / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
        return None
    return state


def _with_descendants(nodes: set[str], child_map: dict[str, list[str]]) -> set[str]:
    result, pending = set(), list(nodes)
    while pending:
        node = pending.pop()
        if node not in result:
            result.add(node)
            pending.extend(child_map.get(node, []))
    return result


def _digest(parts: list[str]) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]
