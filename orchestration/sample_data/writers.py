"""The delivery layouts: CUR 2.0, legacy CUR (CSV and Athena parquet) and FOCUS 1.0.

Each writer receives the pieces of one payer's billing period and streams them
to files under ``out_dir`` exactly as AWS lays them out in S3 (``out_dir``
stands for ``s3://<bucket>/<prefix>``), then writes the period's manifest.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from orchestration.landing_schema import CUR_COLUMNS, FOCUS_COLUMNS

from . import organisation as org
from .line_items import (
    CUR_NAMES, CUR_SCHEMA, DISCOUNTED, MS_HOUR, RIFEE, SP_COVERED, SP_NEGATION, SP_RECURRING, TS, TYPES, USAGE,
    PeriodGenerator, Piece, dict_array, legacy_tag_key, stable_uuid,
)

ROW_GROUP_ROWS = 131_072  # bounded writer memory
FORMATS = ("cur2", "cur_legacy_csv", "cur_legacy_parquet", "focus")
STATS_COLUMNS = ["line_item_usage_start_date", "line_item_line_item_type", "line_item_usage_account_id",
                 "bill_payer_account_id", "line_item_product_code", "bill_billing_period_start_date",
                 "ChargePeriodStart", "ChargeCategory", "SubAccountId", "BillingAccountId", "BillingPeriodStart"]
MAP_COLUMNS = {"cost_category", "discount", "product", "resource_tags", "tags"}
# CUR 2.0 columns a legacy CUR does not have (maps, names, net and discount columns), and the
# split cost allocation columns (a legacy CUR has them when split data is on; the sample's legacy
# payer runs no EKS cluster).
LEGACY_EXCLUDED = MAP_COLUMNS | {
    "bill_payer_account_name", "line_item_usage_account_name", "discount_bundled_discount", "discount_total_discount",
} | {c for c, _ in CUR_COLUMNS if "_net_" in c or c.startswith("split_line_item_")}
LEGACY_COLUMNS = [c for c in CUR_NAMES if c not in LEGACY_EXCLUDED]

_CATEGORIES = (("line_item_", "lineItem"), ("savings_plan_", "savingsPlan"), ("reservation_", "reservation"),
               ("pricing_", "pricing"), ("product_", "product"), ("identity_", "identity"), ("bill_", "bill"))
_LOWER_FIRST_PRICING = {"currency", "public_on_demand_cost", "public_on_demand_rate", "term", "unit"}


def legacy_csv_name(cur_name: str) -> str:
    """CUR 2.0 / Athena name -> legacy CUR CSV header (``line_item_unblended_cost`` -> ``lineItem/UnblendedCost``)."""
    for prefix, category in _CATEGORIES:
        if cur_name.startswith(prefix):
            rest = cur_name[len(prefix):]
            parts = rest.split("_")
            if category == "product" or (category == "pricing" and rest in _LOWER_FIRST_PRICING):
                name = parts[0] + "".join(p.capitalize() for p in parts[1:])
            else:
                name = "".join(p.upper() if len(p) == 1 else p.capitalize() for p in parts)
            return f"{category}/{name}"
    raise ValueError(cur_name)


def athena_name(legacy_name: str) -> str:
    """The rule mapping legacy CUR names to Athena / CUR 2.0 names (``reservation/ReservationARN``
    -> ``reservation_reservation_a_r_n``)."""
    s = re.sub(r"([A-Z])", r"_\1", legacy_name).lower()
    s = re.sub(r"[^a-z0-9]", "_", s)
    return re.sub(r"_+", "_", s).strip("_")


def _decode(arr: pa.Array) -> pa.Array:
    return arr.cast(pa.string()) if pa.types.is_dictionary(arr.type) else arr


def _nullify_empty(arr: pa.Array) -> pa.Array:
    """Empty strings -> NULL (FOCUS uses nulls)."""
    if pa.types.is_dictionary(arr.type):
        empty = [i for i, v in enumerate(arr.dictionary.to_pylist()) if v == "" or v is None]
        if not empty:
            return arr
        idx = arr.indices.to_numpy(zero_copy_only=False)
        return dict_array(idx, arr.dictionary, mask=np.isin(idx, empty))
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, arr.type), arr)


def _remap(arr: pa.Array, fn) -> pa.DictionaryArray:
    """Apply ``fn`` to a dictionary array's values (cheap: only the dictionary is touched); None -> NULL."""
    if not pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_encode()
    values = [fn(v) for v in arr.dictionary.to_pylist()]
    idx = arr.indices.to_numpy(zero_copy_only=False)
    nulls = [i for i, v in enumerate(values) if v is None]
    mask = np.isin(idx, nulls) if nulls else None
    return dict_array(idx, [v or "" for v in values], mask=mask)


def _s3_uri(bucket: str, prefix: str, rel: str) -> str:
    key = f"{prefix.strip('/')}/{rel}" if prefix.strip("/") else rel
    return f"s3://{bucket}/{key}"


def _key(prefix: str, rel: str) -> str:
    return f"{prefix.strip('/')}/{rel}" if prefix.strip("/") else rel


class _RotatingParquet:
    def __init__(self, folder: Path, name: str, schema: pa.Schema, rows_per_file: int, fmt: str = "{:05d}"):
        self.folder, self.name, self.schema, self.rows_per_file, self.fmt = folder, name, schema, rows_per_file, fmt
        self.files: list[Path] = []
        self.writer: pq.ParquetWriter | None = None
        self.rows_in_file = 0
        stats = [c for c in STATS_COLUMNS if c in schema.names]
        self.opts = dict(compression="snappy", store_schema=False, write_statistics=stats)

    def write(self, table: pa.Table) -> None:
        off = 0
        while off < table.num_rows:
            if self.writer is None or self.rows_in_file >= self.rows_per_file:
                self._open()
            take = min(table.num_rows - off, self.rows_per_file - self.rows_in_file)
            self.writer.write_table(table.slice(off, take), row_group_size=ROW_GROUP_ROWS)
            self.rows_in_file += take
            off += take

    def _open(self) -> None:
        if self.writer is not None:
            self.writer.close()
        path = self.folder / f"{self.name}-{self.fmt.format(len(self.files) + 1)}.snappy.parquet"
        self.files.append(path)
        self.writer = pq.ParquetWriter(path, self.schema, **self.opts)
        self.rows_in_file = 0

    def close(self) -> list[Path]:
        if self.writer is None:
            self._open()
        self.writer.close()
        return self.files


class ExportWriter:
    fmt = ""

    def __init__(self, out_dir: Path, gen: PeriodGenerator, *, seed: int, bucket: str, prefix: str,
                 rows_per_file: int):
        self.out_dir, self.gen, self.plan = out_dir, gen, gen.plan
        self.seed, self.bucket, self.prefix, self.rows_per_file = seed, bucket, prefix, rows_per_file
        self.role = self.plan.role
        self.payer = self.plan.payer
        self.period = self.plan.period

    @property
    def export_name(self) -> str:
        slug = {"cur2": "cur2", "cur_legacy_csv": "cur", "cur_legacy_parquet": "cur-athena", "focus": "focus"}[self.fmt]
        return f"{org.ORG_SLUG}-{slug}-{self.role}"

    def rel(self, path: Path) -> str:
        return path.relative_to(self.out_dir).as_posix()

    def write(self, piece: Piece) -> None:
        raise NotImplementedError

    def close(self) -> dict:
        raise NotImplementedError


def _fresh(folder: Path) -> Path:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


class _DataExportWriter(ExportWriter):
    """AWS Data Exports layout, shared by CUR 2.0 and FOCUS."""

    top = ""
    schema: pa.Schema
    manifest_types: dict[str, str]

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.root = self.out_dir / self.top / self.export_name
        self.data_dir = _fresh(self.root / "data" / f"BILLING_PERIOD={self.period}")
        self.meta_dir = self.root / "metadata" / f"BILLING_PERIOD={self.period}"
        self.files = _RotatingParquet(self.data_dir, self.export_name, self.schema, self.rows_per_file)

    def close(self) -> dict:
        files = self.files.close()
        self.meta_dir.mkdir(parents=True, exist_ok=True)
        manifest = {
            "executionId": stable_uuid(self.seed, self.fmt, self.payer.account_id, self.period),
            "exportArn": f"arn:aws:bcm-data-exports:us-east-1:{self.payer.account_id}:export/"
                         f"{self.export_name}-{stable_uuid('export', self.fmt, self.payer.account_id)}",
            "billingPeriod": {"start": f"{self.plan.start:%Y-%m-%dT%H:%M:%S.000Z}",
                              "end": f"{self.plan.end:%Y-%m-%dT%H:%M:%S.000Z}"},
            "columns": [{"name": f.name, "type": self.manifest_types[f.name]} for f in self.schema],
            "dataFiles": [_s3_uri(self.bucket, self.prefix, self.rel(f)) for f in files],
            "additionalOutputFiles": [],
        }
        mpath = self.meta_dir / f"{self.export_name}-Manifest.json"
        mpath.write_text(json.dumps(manifest, indent=2) + "\n")
        return {"export_dir": self.rel(self.root), "data_files": [self.rel(f) for f in files],
                "manifest": self.rel(mpath)}


_MANIFEST_TYPE = {"VARCHAR": "string", "DOUBLE": "double", "TIMESTAMP": "timestamp",
                  "MAP(VARCHAR, VARCHAR)": "map<string,string>", "MAP(VARCHAR, DOUBLE)": "map<string,double>"}


class Cur2Writer(_DataExportWriter):
    fmt = "cur2"
    top = "cur2"
    schema = CUR_SCHEMA
    manifest_types = {n: _MANIFEST_TYPE[t] for n, t in CUR_COLUMNS}

    def write(self, piece: Piece) -> None:
        self.files.write(piece.table())


FOCUS_TYPES = {"VARCHAR": pa.dictionary(pa.int32(), pa.string()), "DOUBLE": pa.float64(), "TIMESTAMP": TS}
FOCUS_SCHEMA = pa.schema([(n, pa.string() if n == "Tags" else FOCUS_TYPES[t]) for n, t in FOCUS_COLUMNS])

CHARGE_CATEGORY = {
    "Usage": "Usage", "DiscountedUsage": "Usage", "SavingsPlanCoveredUsage": "Usage", "SavingsPlanNegation": "Usage",
    "BundledDiscount": "Usage", "Discount": "Usage", "PrivateRateDiscount": "Usage", "EdpDiscount": "Usage",
    "Fee": "Purchase", "RIFee": "Purchase", "SavingsPlanUpfrontFee": "Purchase", "SavingsPlanRecurringFee": "Purchase",
    "Tax": "Tax", "Credit": "Credit", "Refund": "Adjustment",
}
CHARGE_FREQUENCY = {
    "Usage": "Usage-Based", "DiscountedUsage": "Usage-Based", "SavingsPlanCoveredUsage": "Usage-Based",
    "SavingsPlanNegation": "Usage-Based", "Fee": "One-Time", "SavingsPlanUpfrontFee": "One-Time",
    "RIFee": "Recurring", "SavingsPlanRecurringFee": "Recurring", "Tax": "Recurring", "Credit": "One-Time",
    "Refund": "One-Time",
}
PRICING_CATEGORY = {"Usage": "Standard", "DiscountedUsage": "Committed", "SavingsPlanCoveredUsage": "Committed",
                    "SavingsPlanNegation": "Committed"}


class FocusWriter(_DataExportWriter):
    fmt = "focus"
    top = "focus"
    schema = FOCUS_SCHEMA
    manifest_types = {n: ("string" if n == "Tags" else _MANIFEST_TYPE[t]) for n, t in FOCUS_COLUMNS}

    def write(self, piece: Piece) -> None:
        c = piece.cols
        n = piece.n
        types = piece.type_codes
        is_usage = np.isin(types, [TYPES.index(t) for t in (USAGE, DISCOUNTED, SP_COVERED, SP_NEGATION)])
        sp = c["savings_plan_savings_plan_a_r_n"]
        ri = c["reservation_reservation_a_r_n"]
        sp_s, ri_s = _decode(sp), _decode(ri)
        has_ri = pc.not_equal(ri_s, "").to_numpy(zero_copy_only=False)
        has_sp = pc.not_equal(sp_s, "").to_numpy(zero_copy_only=False)
        cd_id = pc.if_else(pa.array(has_ri), ri_s, sp_s)
        kind = np.where(has_ri, 2, np.where(has_sp, 1, 0)).astype(np.int32)
        kind_mask = kind == 0
        status = np.zeros(n, dtype=np.int32)
        status[np.isin(types, [TYPES.index(SP_COVERED), TYPES.index(DISCOUNTED), TYPES.index(SP_NEGATION)])] = 1
        status[np.isin(types, [TYPES.index(SP_RECURRING), TYPES.index(RIFEE)])] = 2

        def dict_of(codes: np.ndarray, values: list, mask=None) -> pa.Array:
            return dict_array(codes, list(values), mask=mask)

        type_arr = c["line_item_line_item_type"]
        unblended = c["line_item_unblended_cost"]
        out = {
            "AvailabilityZone": _nullify_empty(c["line_item_availability_zone"]),
            "BilledCost": unblended,
            "BillingAccountId": c["bill_payer_account_id"],
            "BillingAccountName": c["bill_payer_account_name"],
            "BillingCurrency": c["line_item_currency_code"],
            "BillingPeriodEnd": c["bill_billing_period_end_date"],
            "BillingPeriodStart": c["bill_billing_period_start_date"],
            "ChargeCategory": _remap(type_arr, CHARGE_CATEGORY.get),
            "ChargeClass": dict_of(np.zeros(n), [""], np.ones(n, dtype=bool)),
            "ChargeDescription": _nullify_empty(c["line_item_line_item_description"]),
            "ChargeFrequency": _remap(type_arr, CHARGE_FREQUENCY.get),
            "ChargePeriodEnd": c["line_item_usage_end_date"],
            "ChargePeriodStart": c["line_item_usage_start_date"],
            "CommitmentDiscountCategory": dict_of(kind, ["", "Spend", "Usage"], kind_mask),
            "CommitmentDiscountId": _nullify_empty(cd_id),
            "CommitmentDiscountName": dict_of(np.zeros(n), [""], np.ones(n, dtype=bool)),
            "CommitmentDiscountStatus": dict_of(status, ["", "Used", "Unused"], status == 0),
            "CommitmentDiscountType": dict_of(kind, ["", "Savings Plan", "Reserved Instance"], kind_mask),
            "CommitmentDiscountQuantity": pa.nulls(n, pa.float64()),
            "CommitmentDiscountUnit": dict_of(np.zeros(n), [""], np.ones(n, dtype=bool)),
            "ConsumedQuantity": pa.array(np.where(is_usage, c["line_item_usage_amount"].to_numpy(), np.nan),
                                         mask=~is_usage),
            "ConsumedUnit": _nullify_masked(c["pricing_unit"], ~is_usage),
            "ContractedCost": unblended,
            "ContractedUnitPrice": pa.nulls(n, pa.float64()),
            "EffectiveCost": pa.array(piece.effective),
            "InvoiceIssuerName": c["bill_invoicing_entity"],
            "ListCost": pa.array(piece.list_cost),
            "ListUnitPrice": pa.nulls(n, pa.float64()),
            "PricingCategory": _remap(type_arr, PRICING_CATEGORY.get),
            "PricingQuantity": pa.array(np.where(is_usage, c["line_item_usage_amount"].to_numpy(), np.nan),
                                        mask=~is_usage),
            "PricingUnit": _nullify_masked(c["pricing_unit"], ~is_usage),
            "ProviderName": dict_of(np.zeros(n), ["AWS"]),
            "PublisherName": dict_of(np.zeros(n), ["Amazon Web Services, Inc."]),
            "RegionId": _nullify_empty(c["product_region_code"]),
            "RegionName": _nullify_empty(piece.region_name),
            "ResourceId": _nullify_empty(c["line_item_resource_id"]),
            "ResourceName": dict_of(np.zeros(n), [""], np.ones(n, dtype=bool)),
            "ResourceType": dict_of(np.zeros(n), [""], np.ones(n, dtype=bool)),
            "ServiceCategory": piece.service_category,
            "ServiceSubcategory": dict_of(np.zeros(n), [""], np.ones(n, dtype=bool)),
            "ServiceName": piece.service_name,
            "SkuId": _nullify_empty(c["product_sku"]),
            "SkuPriceId": _nullify_empty(c["pricing_rate_code"]),
            "SubAccountId": c["line_item_usage_account_id"],
            "SubAccountName": c["line_item_usage_account_name"],
            "Tags": piece.tags_json,
        }
        cols = []
        for f in FOCUS_SCHEMA:
            a = out[f.name]
            if pa.types.is_dictionary(f.type) and not pa.types.is_dictionary(a.type):
                a = a.dictionary_encode()
            cols.append(a)
        self.files.write(pa.Table.from_arrays(cols, schema=FOCUS_SCHEMA))


def _nullify_masked(arr: pa.Array, mask: np.ndarray) -> pa.Array:
    if not pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_encode()
    idx = arr.indices.to_numpy(zero_copy_only=False)
    empty = [i for i, v in enumerate(arr.dictionary.to_pylist()) if v == ""]
    return dict_array(idx, arr.dictionary, mask=mask | np.isin(idx, empty))


def legacy_tag_columns(cur2_keys: list[str]) -> dict[str, list[str]]:
    """Athena tag column -> the CUR 2.0 keys folded into it (keys colliding after snake-casing merge)."""
    out: dict[str, list[str]] = {}
    for k in cur2_keys:
        out.setdefault(athena_name("resourceTags/" + legacy_tag_key(k)), []).append(k)
    return out


class LegacyParquetWriter(ExportWriter):
    """Legacy CUR with Athena integration: year=YYYY/month=M/<report>-0000N.snappy.parquet."""

    fmt = "cur_legacy_parquet"

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        name = self.export_name
        self.root = self.out_dir / "cur-legacy-parquet" / name
        self.data_dir = _fresh(self.root / name / f"year={self.plan.start.year}" / f"month={self.plan.start.month}")
        self.tag_cols = legacy_tag_columns(self.gen.tag_keys)
        fields = [(c, CUR_SCHEMA.field(c).type) for c in LEGACY_COLUMNS]
        fields += [(t, pa.dictionary(pa.int32(), pa.string())) for t in sorted(self.tag_cols)]
        self.schema = pa.schema(fields)
        self.files = _RotatingParquet(self.data_dir, name, self.schema, self.rows_per_file)

    def write(self, piece: Piece) -> None:
        arrays = [piece.cols[c] for c in LEGACY_COLUMNS]
        for t in sorted(self.tag_cols):
            keys = self.tag_cols[t]
            a = piece.legacy_tags[keys[0]]
            for k in keys[1:]:
                sa, sb = _decode(a), _decode(piece.legacy_tags[k])
                a = pc.if_else(pc.equal(sa, ""), sb, sa).dictionary_encode()
            arrays.append(a)
        self.files.write(pa.Table.from_arrays(arrays, schema=self.schema))

    def close(self) -> dict:
        files = self.files.close()
        status_dir = self.root / "cost_and_usage_data_status"
        status_dir.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table({"status": ["READY"]}), status_dir / "cost_and_usage_data_status.parquet",
                       compression="snappy")
        return {"export_dir": self.rel(self.root), "data_files": [self.rel(f) for f in files],
                "status_file": self.rel(status_dir / "cost_and_usage_data_status.parquet")}


_CSV_TYPE = {"VARCHAR": "OptionalString", "DOUBLE": "OptionalBigDecimal", "TIMESTAMP": "DateTime"}
CUR_TYPE = dict(CUR_COLUMNS)


class LegacyCsvWriter(ExportWriter):
    """Legacy CUR CSV: <report>/<yyyymmdd-yyyymmdd>/<assemblyId>/<report>-<n>.csv.gz + manifest."""

    fmt = "cur_legacy_csv"

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        name = self.export_name
        self.root = self.out_dir / "cur-legacy-csv" / name
        self.range = f"{self.plan.start:%Y%m%d}-{self.plan.end:%Y%m%d}"
        self.assembly_id = stable_uuid(self.seed, self.fmt, self.payer.account_id, self.period)
        period_dir = self.root / self.range
        if period_dir.exists():
            shutil.rmtree(period_dir)
        self.data_dir = _fresh(period_dir / self.assembly_id)
        self.tag_keys = list(self.gen.tag_keys)
        self.header = [legacy_csv_name(c) for c in LEGACY_COLUMNS] + [
            f"resourceTags/{legacy_tag_key(k)}" for k in self.tag_keys]
        self.schema = pa.schema([(h, pa.string() if CUR_TYPE.get(c) != "DOUBLE" else pa.float64())
                                 for h, c in zip(self.header, LEGACY_COLUMNS + [None] * len(self.tag_keys))])
        self.files: list[Path] = []
        self.rows_in_file = 0
        self._gz = None
        self._raw = None
        self._csv = None

    def _open(self) -> None:
        self._close_file()
        path = self.data_dir / f"{self.export_name}-{len(self.files) + 1}.csv.gz"
        self.files.append(path)
        self._raw = open(path, "wb")
        self._gz = gzip.GzipFile(filename="", mode="wb", fileobj=self._raw, compresslevel=6, mtime=0)
        self._gz.write((",".join(self.header) + "\n").encode())  # unquoted, like AWS
        self._csv = pacsv.CSVWriter(self._gz, self.schema,
                                    write_options=pacsv.WriteOptions(quoting_style="needed", include_header=False))
        self.rows_in_file = 0

    def _close_file(self) -> None:
        if self._csv is not None:
            self._csv.close()
            self._gz.close()
            self._raw.close()
            self._csv = None

    def _timestamps(self, arr: pa.Array) -> pa.Array:
        ms = arr.cast(pa.int64()).to_numpy()
        idx = ((ms - self.plan.start_ms) // MS_HOUR).astype(np.int32)
        return pa.DictionaryArray.from_arrays(pa.array(idx), self.gen.hour_iso).cast(pa.string())

    def write(self, piece: Piece) -> None:
        arrays = []
        for c in LEGACY_COLUMNS:
            a = piece.cols[c]
            t = CUR_TYPE[c]
            if t == "TIMESTAMP":
                a = self._timestamps(a)
            elif t == "VARCHAR":
                a = _decode(a)
            arrays.append(a)
        arrays += [_decode(piece.legacy_tags[k]) for k in self.tag_keys]
        table = pa.Table.from_arrays(arrays, schema=self.schema)
        off = 0
        while off < table.num_rows:
            if self._csv is None or self.rows_in_file >= self.rows_per_file:
                self._open()
            take = min(table.num_rows - off, self.rows_per_file - self.rows_in_file)
            self._csv.write_table(table.slice(off, take))
            self.rows_in_file += take
            off += take

    def close(self) -> dict:
        if self._csv is None:
            self._open()
        self._close_file()
        keys = [_key(self.prefix, self.rel(f)) for f in self.files]
        columns = []
        for h, c in zip(self.header, LEGACY_COLUMNS + [None] * len(self.tag_keys)):
            category, _, name = h.partition("/")
            typ = "Interval" if c == "identity_time_interval" else _CSV_TYPE[CUR_TYPE[c]] if c else "OptionalString"
            columns.append({"category": category, "name": name, "type": typ})
        manifest = {
            "assemblyId": self.assembly_id,
            "account": self.payer.account_id,
            "columns": columns,
            "charset": "UTF-8",
            "compression": "GZIP",
            "contentType": "text/csv",
            "reportId": stable_uuid("report", self.export_name).replace("-", ""),
            "reportName": self.export_name,
            "billingPeriod": {"start": f"{self.plan.start:%Y%m%dT%H%M%S}.000Z",
                              "end": f"{self.plan.end:%Y%m%dT%H%M%S}.000Z"},
            "bucket": self.bucket,
            "reportKeys": keys,
            "additionalArtifactKeys": [],
        }
        mpath = self.root / self.range / f"{self.export_name}-Manifest.json"
        mpath.write_text(json.dumps(manifest, indent=2) + "\n")
        return {"export_dir": self.rel(self.root), "data_files": [self.rel(f) for f in self.files],
                "manifest": self.rel(mpath)}


WRITERS = {"cur2": Cur2Writer, "cur_legacy_csv": LegacyCsvWriter, "cur_legacy_parquet": LegacyParquetWriter,
           "focus": FocusWriter}
