"""Find the exports in a location and the current delivery of each billing period.

Three delivery layouts are recognised (see docs/background.md, "Delivery layouts"):

* AWS Data Exports (CUR 2.0 and FOCUS):
  ``<export>/metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json`` whose
  ``dataFiles`` list the files of the current delivery (``executionId``).
  Which table it is (CUR 2.0 or FOCUS) is read from the manifest's columns.
* Legacy CUR with manifests (CSV.gz, or parquet without Athena):
  ``<report>/<yyyymmdd-yyyymmdd>/<report>-Manifest.json`` whose ``reportKeys``
  list the files of the current delivery (``assemblyId``).
* Legacy CUR in the Athena layout: ``<report>/<report>/year=YYYY/month=M/*.parquet``,
  overwritten in place, with a ``cost_and_usage_data_status`` table beside it;
  the delivery id is a hash of the files' names, sizes and ETags.

Only the manifest decides which files belong to a delivery: stale files of an
earlier delivery that are still in the folder are never loaded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from urllib.parse import urlparse

from orchestration.ingestion.errors import IngestionError, NoExportsFoundError, StorageAccessError
from orchestration.ingestion.storage import ExportStore, StoredObject, safe_relative_key
from orchestration.landing_schema import CUR2, CUR_LEGACY, FOCUS

log = logging.getLogger(__name__)

DATA_EXPORTS_MANIFEST = re.compile(
    r"^(?P<root>(?:.*/)?)(?P<export>[^/]+)/metadata/BILLING_PERIOD=(?P<period>\d{4}-\d{2})/[^/]+-Manifest\.json$"
)
LEGACY_MANIFEST = re.compile(
    r"^(?P<root>(?:.*/)?)(?P<export>[^/]+)/(?P<start>\d{8})-(?P<end>\d{8})/(?P=export)-Manifest\.json$"
)
ATHENA_DATA = re.compile(
    r"^(?P<root>(?:.*/)?)(?P<export>[^/]+)/(?P=export)/year=(?P<year>\d{4})/month=(?P<month>\d{1,2})/[^/]+\.parquet$"
)
ATHENA_STATUS = re.compile(
    r"^(?P<root>(?:.*/)?)(?P<export>[^/]+)/cost_and_usage_data_status/[^/]+\.parquet$"
)
DATA_FILE_SUFFIXES = (".parquet", ".csv", ".csv.gz", ".csv.zip")

# Columns that tell a FOCUS table from a CUR one in a Data Exports manifest.
FOCUS_MARKER_COLUMNS = {"BilledCost", "ChargePeriodStart", "BillingAccountId"}


@dataclass(frozen=True)
class Delivery:
    """The current delivery of one export for one billing period."""

    format: str  # cur2 | cur_legacy | focus
    layout: str  # data_exports | legacy_manifest | athena
    export_name: str
    export_root: str  # key prefix of the export folder, relative to the store root
    billing_period: str  # YYYY-MM
    delivery_id: str
    data_keys: tuple[str, ...]
    manifest_key: str | None = None
    ready: bool = True  # False while AWS reports UPDATE_IN_PROGRESS
    notes: tuple[str, ...] = field(default=())
    # Why this delivery cannot be loaded (a broken manifest): it fails its own billing period
    # when landed, and every other period still loads.
    problem: IngestionError | None = field(default=None, compare=False)
    payer_account_id: str | None = None  # from the manifest (exportArn / account), when it says
    # Set by discovery when another export of the same format has the same name (two payers that
    # both call their export "cur2"): the payer account, or the export's folder when that does not
    # tell them apart. It keeps the two in separate landing files and line items.
    name_qualifier: str | None = None

    @property
    def export_key(self) -> str:
        """The export's unique name in the warehouse: its AWS name, qualified only when that collides."""
        return self.export_name if self.name_qualifier is None else f"{self.export_name}@{self.name_qualifier}"

    @property
    def export_id(self) -> str:
        return f"{self.format}/{self.export_key}"


def _parse_manifest(store: ExportStore, key: str) -> dict:
    try:
        manifest = json.loads(store.read_bytes(key))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IngestionError(
            f"{store.describe(key)}: manifest is not valid JSON ({exc}); wait for the next delivery or remove it"
        ) from exc
    if not isinstance(manifest, dict):
        raise IngestionError(f"{store.describe(key)}: manifest is not a JSON object")
    return manifest


def _resolve_manifest_entry(store: ExportStore, manifest_key: str, export_dir: str, export_name: str,
                            entry: str) -> str:
    """Turn a manifest's file reference (s3://bucket/key or bucket-relative key) into a store key.

    Manifests name files by their full key in the bucket they were delivered to;
    the same folder may since have been synced elsewhere (another bucket, a
    prefix, a local disk).  The part after ``<export>/`` is stable, so anchor there.
    """
    key = urlparse(entry).path.lstrip("/") if entry.startswith("s3://") else entry.lstrip("/")
    context = f"{store.describe(manifest_key)}: data file {entry!r}"
    safe_relative_key(key, context=context)
    marker = f"{export_name}/"
    index = key.find(f"/{marker}") + 1 if f"/{marker}" in key else (0 if key.startswith(marker) else -1)
    if index < 0:
        raise IngestionError(f"{context} is not inside the export folder {export_name!r}; fix the manifest")
    return safe_relative_key(export_dir + key[index + len(marker):], context=context)


def _manifest_period(match: re.Match) -> str:
    """YYYY-MM of a Data Exports or legacy CUR manifest key."""
    if match.re is DATA_EXPORTS_MANIFEST:
        return match["period"]
    return f"{match['start'][:4]}-{match['start'][4:6]}"


def _manifest_deliveries(store: ExportStore, objects: dict[str, StoredObject]) -> list[Delivery]:
    deliveries = []
    for key in objects:
        match = DATA_EXPORTS_MANIFEST.match(key) or LEGACY_MANIFEST.match(key)
        if match is None:
            continue
        try:
            deliveries.append(_manifest_delivery(store, objects, key, match))
        except StorageAccessError:
            raise  # the location cannot be read (access, credentials, throttling): no period can load
        except IngestionError as problem:
            # A broken manifest fails its own export and period only (and says so), not the others.
            fmt = CUR2 if match.re is DATA_EXPORTS_MANIFEST else CUR_LEGACY
            digest = hashlib.sha256(str(problem).encode()).hexdigest()[:16]
            deliveries.append(Delivery(fmt, "invalid_manifest", match["export"], f"{match['root']}{match['export']}/",
                                       _manifest_period(match), f"invalid:{digest}", (), manifest_key=key,
                                       problem=problem))
    return deliveries


def _manifest_delivery(store: ExportStore, objects: dict[str, StoredObject], key: str,
                       match: re.Match) -> Delivery:
    """The delivery a Data Exports or legacy CUR manifest describes; IngestionError if it is broken."""
    manifest = _parse_manifest(store, key)
    period = _manifest_period(match)
    if match.re is DATA_EXPORTS_MANIFEST:
        columns = {c.get("name") if isinstance(c, dict) else c for c in manifest.get("columns", [])}
        fmt = FOCUS if columns & FOCUS_MARKER_COLUMNS else CUR2
        layout, refs, delivery_id = "data_exports", manifest.get("dataFiles"), manifest.get("executionId")
    else:
        fmt, layout = CUR_LEGACY, "legacy_manifest"
        refs, delivery_id = manifest.get("reportKeys"), manifest.get("assemblyId")
    if not isinstance(refs, list) or not delivery_id:
        missing = "dataFiles/reportKeys" if not isinstance(refs, list) else "executionId/assemblyId"
        raise IngestionError(f"{store.describe(key)}: manifest lacks {missing}; it is not a complete manifest")
    if not refs:
        raise IngestionError(
            f"{store.describe(key)}: manifest lists no data files (its dataFiles/reportKeys is empty), so "
            f"billing period {period} has nothing to load; wait for AWS's next delivery of the period, "
            "or remove this manifest if the export really has no charges for it")
    export_dir = f"{match['root']}{match['export']}/"
    data_keys = tuple(_resolve_manifest_entry(store, key, export_dir, match["export"], ref) for ref in refs)
    for data_key in data_keys:
        if data_key not in objects:
            raise IngestionError(
                f"{store.describe(key)}: manifest lists data file {store.describe(data_key)} "
                "which does not exist; the delivery is incomplete — wait for AWS to finish "
                "writing it, or re-deliver the period"
            )
    if len(set(data_keys)) != len(data_keys):
        twice = sorted({k for k in data_keys if data_keys.count(k) > 1})
        raise IngestionError(
            f"{store.describe(key)}: manifest lists data file {store.describe(twice[0])} more than once; "
            "loading it would count its costs twice — re-deliver the period with a corrected manifest")
    return Delivery(fmt, layout, match["export"], export_dir, period, str(delivery_id), data_keys,
                    manifest_key=key, payer_account_id=_manifest_payer(manifest))


def _manifest_payer(manifest: dict) -> str | None:
    """The payer account a manifest names: legacy CUR's ``account``, or the account field of a
    Data Export's ``exportArn`` (arn:aws:bcm-data-exports:<region>:<account>:export/<name>)."""
    if manifest.get("account"):
        return str(manifest["account"])
    arn = str(manifest.get("exportArn") or "").split(":")
    return arn[4] if len(arn) > 5 and arn[4] else None


def _qualify_colliding_names(deliveries: list[Delivery]) -> list[Delivery]:
    """Give exports of one format that share a name (in different folders) distinct keys.

    Two payers may both call their export ``cur2``; keyed by name alone, one payer's month
    would replace the other's in landing/. Each is qualified by its payer account when the
    payers differ, else by its folder. Names that do not collide are left as they are, so a
    single export keeps the landing file and line items it always had.
    """
    folders: dict[tuple[str, str], dict[str, str | None]] = defaultdict(dict)
    for d in deliveries:
        folder = folders[(d.format, d.export_name)]
        folder[d.export_root] = folder.get(d.export_root) or d.payer_account_id
    qualifiers: dict[tuple[str, str, str], str] = {}
    for (fmt, name), payer_of in folders.items():
        if len(payer_of) < 2:
            continue
        payers = list(payer_of.values())
        by_payer = None not in payers and len(set(payers)) == len(payers)
        for root, payer in payer_of.items():
            qualifiers[(fmt, name, root)] = payer if by_payer else root.rstrip("/")
            log.info("%s export %r also exists elsewhere: the one in %r is keyed %s@%s", fmt, name, root,
                        name, qualifiers[(fmt, name, root)])
    return [replace(d, name_qualifier=qualifiers[(d.format, d.export_name, d.export_root)])
            if (d.format, d.export_name, d.export_root) in qualifiers else d for d in deliveries]


def _athena_deliveries(store: ExportStore, objects: dict[str, StoredObject]) -> list[Delivery]:
    grouped: dict[tuple[str, str, str], list[StoredObject]] = defaultdict(list)
    status_keys: dict[str, str] = {}
    for key, obj in objects.items():
        if match := ATHENA_DATA.match(key):
            period = f"{match['year']}-{int(match['month']):02d}"
            grouped[(match["root"], match["export"], period)].append(obj)
        elif match := ATHENA_STATUS.match(key):
            status_keys[f"{match['root']}{match['export']}/"] = key
    deliveries = []
    for (root, export, period), files in sorted(grouped.items()):
        export_dir = f"{root}{export}/"
        ready = _athena_status_ready(store, status_keys.get(export_dir))
        digest = hashlib.sha256(
            "\n".join(f"{o.key}\t{o.size}\t{o.version}" for o in sorted(files, key=lambda o: o.key)).encode()
        ).hexdigest()[:32]
        deliveries.append(Delivery(CUR_LEGACY, "athena", export, export_dir, period, f"sha256:{digest}",
                                   tuple(o.key for o in sorted(files, key=lambda o: o.key)), ready=ready))
    return deliveries


def _athena_status_ready(store: ExportStore, status_key: str | None) -> bool:
    if status_key is None:
        return True  # exports without Athena integration have no status table
    import io

    import pyarrow.parquet as pq

    content = store.read_bytes(status_key)  # outside the try: an S3 failure keeps its own message
    try:
        table = pq.read_table(io.BytesIO(content))
    except Exception as exc:
        raise IngestionError(f"{store.describe(status_key)}: unreadable status table ({exc})") from exc
    if "status" not in table.column_names:
        raise IngestionError(f"{store.describe(status_key)}: status table has no 'status' column")
    statuses = {str(s).upper() for s in table.column("status").to_pylist()}
    return statuses <= {"READY"}


def discover_deliveries(store: ExportStore) -> list[Delivery]:
    """Every export's current delivery per billing period, sorted by period then export."""
    objects = {o.key: o for o in store.list_objects()}
    deliveries = _manifest_deliveries(store, objects) + _athena_deliveries(store, objects)
    if not deliveries:
        sample = ", ".join(list(objects)[:5]) or "no files at all"
        raise NoExportsFoundError(
            f"{store.uri}: no CUR 2.0, legacy CUR or FOCUS export found (saw {len(objects)} files: {sample}). "
            "Expected <export>/metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json (Data Exports), "
            "<report>/<yyyymmdd-yyyymmdd>/<report>-Manifest.json (legacy CUR) or "
            "<report>/<report>/year=YYYY/month=M/*.parquet (legacy CUR for Athena). "
            "Point FINOPS_EXPORT_URI at the folder or prefix that holds the export folders."
        )
    deliveries = _qualify_colliding_names([_with_unsupported_files_refused(store, d) for d in deliveries])
    return sorted(deliveries, key=lambda d: (d.billing_period, d.format, d.export_key))


def _with_unsupported_files_refused(store: ExportStore, delivery: Delivery) -> Delivery:
    unsupported = [k for k in delivery.data_keys if not k.lower().endswith(DATA_FILE_SUFFIXES)]
    if not unsupported or delivery.problem:
        return delivery
    return replace(delivery, problem=IngestionError(
        f"{store.describe(unsupported[0])}: unsupported data file type; expected parquet, csv or csv.gz"))


def deliveries_for_periods(deliveries: list[Delivery], periods: list[str] | None, uri: str) -> list[Delivery]:
    """The deliveries of the named billing periods (all when none are named); an unknown period is an error."""
    if not periods:
        return deliveries
    found = sorted({d.billing_period for d in deliveries})
    unknown = sorted(set(periods) - set(found))
    if unknown:
        raise IngestionError(f"{uri}: no export holds billing period(s) {', '.join(unknown)} "
                             f"(found: {', '.join(found)})")
    return [d for d in deliveries if d.billing_period in periods]
