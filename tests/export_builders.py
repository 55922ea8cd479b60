"""Write small exports in the real AWS delivery layouts, for tests.

The fixtures are hand-written rows (a handful, checkable by eye) in the layouts
AWS delivers: Data Exports with manifests, legacy CUR CSV.gz with manifests,
and the real sample files (FINOPS_REAL_SAMPLES_DIR, default ../shared/samples) arranged the way AWS lays them out.
"""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


def cur2_row(line_item_id: str, cost: float, *, line_item_type: str = "Usage", account: str = "222233334444",
             payer: str = "111122223333", start: str = "2024-01-05 10:00:00", product: str = "AmazonEC2",
             tags: dict[str, str] | None = None, currency: str = "USD") -> dict:
    return {
        "identity_line_item_id": line_item_id,
        "bill_payer_account_id": payer,
        "line_item_usage_account_id": account,
        "line_item_line_item_type": line_item_type,
        "line_item_usage_start_date": datetime.fromisoformat(start),
        "line_item_unblended_cost": cost,
        "line_item_product_code": product,
        "line_item_currency_code": currency,
        "resource_tags": tags or {},
    }


CUR2_TEST_SCHEMA = pa.schema([
    ("identity_line_item_id", pa.string()),
    ("bill_payer_account_id", pa.string()),
    ("line_item_usage_account_id", pa.string()),
    ("line_item_line_item_type", pa.string()),
    ("line_item_usage_start_date", pa.timestamp("ms", tz="UTC")),
    ("line_item_unblended_cost", pa.float64()),
    ("line_item_product_code", pa.string()),
    ("line_item_currency_code", pa.string()),
    ("resource_tags", pa.map_(pa.string(), pa.string())),
])


def write_data_export(root: Path, export: str, period: str, files: dict[str, list[dict] | bytes], *,
                      execution_id: str, bucket: str = "finops-exports", prefix: str = "",
                      schema: pa.Schema = CUR2_TEST_SCHEMA, manifest_files: list[str] | None = None,
                      payer: str = "111122223333") -> Path:
    """A CUR 2.0 (or FOCUS) Data Export delivery: parquet data files plus the period's manifest.

    ``payer`` is the account in the manifest's exportArn (the account that owns the export).

    ``files`` maps file names to rows (written as parquet) or raw bytes (written as is, e.g. corrupt data).
    """
    data_dir = root / export / "data" / f"BILLING_PERIOD={period}"
    data_dir.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        if isinstance(content, bytes):
            (data_dir / name).write_bytes(content)
        else:
            table = pa.Table.from_pylist(
                [{k: (list(v.items()) if isinstance(v, dict) else v) for k, v in row.items()} for row in content],
                schema=schema)
            pq.write_table(table, data_dir / name)
    key_prefix = f"{prefix}/" if prefix else ""
    data_files = [f"s3://{bucket}/{key_prefix}{export}/data/BILLING_PERIOD={period}/{name}"
                  for name in (manifest_files if manifest_files is not None else files)]
    manifest_dir = root / export / "metadata" / f"BILLING_PERIOD={period}"
    manifest_dir.mkdir(parents=True, exist_ok=True)
    manifest = {"executionId": execution_id, "exportArn": f"arn:aws:bcm-data-exports:us-east-1:{payer}:export/{export}",
                "columns": [{"name": f.name, "type": str(f.type)} for f in schema],
                "dataFiles": data_files, "additionalOutputFiles": []}
    path = manifest_dir / f"{export}-Manifest.json"
    path.write_text(json.dumps(manifest))
    return path


# The columns a legacy CUR CSV delivery must have (orchestration/landing_schema.CUR_REQUIRED, CSV-spelled).
LEGACY_CSV_REQUIRED_HEADER = ["identity/LineItemId", "bill/PayerAccountId", "lineItem/UsageAccountId",
                              "lineItem/LineItemType", "lineItem/UsageStartDate", "lineItem/UnblendedCost"]


def write_legacy_csv_export(root: Path, report: str, period: str, header: list[str], rows: list[list[str]], *,
                            assembly_id: str, bucket: str = "finops-exports", prefix: str = "",
                            raw_gzip: bytes | None = None) -> Path:
    """A legacy CUR CSV.gz delivery: ``<report>/<yyyymmdd-yyyymmdd>/<assemblyId>/<report>-1.csv.gz`` + manifest."""
    year, month = map(int, period.split("-"))
    end = f"{year + (month == 12):04d}{month % 12 + 1:02d}01"
    range_dir = root / report / f"{year:04d}{month:02d}01-{end}"
    data_dir = range_dir / assembly_id
    data_dir.mkdir(parents=True, exist_ok=True)
    data_file = data_dir / f"{report}-1.csv.gz"
    if raw_gzip is not None:
        data_file.write_bytes(raw_gzip)
    else:
        import csv
        import io

        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        writer.writerows(rows)
        data_file.write_bytes(gzip.compress(buffer.getvalue().encode()))
    key_prefix = f"{prefix}/" if prefix else ""
    manifest = {"assemblyId": assembly_id, "account": "111122223333", "bucket": bucket, "reportName": report,
                "billingPeriod": {"start": f"{year:04d}{month:02d}01T000000.000Z", "end": f"{end}T000000.000Z"},
                "reportKeys": [f"{key_prefix}{report}/{range_dir.name}/{assembly_id}/{data_file.name}"],
                "compression": "GZIP", "contentType": "text/csv",
                "columns": [{"category": c.split("/")[0], "name": c.split("/")[-1]} for c in header]}
    path = range_dir / f"{report}-Manifest.json"
    path.write_text(json.dumps(manifest))
    return path


def arrange_samples(samples_dir: Path, root: Path, *, bucket: str = "finops-exports", prefix: str = "") -> None:
    """Lay the three real sample files out the way AWS delivers them.

    - the October 2018 WorkshopCUR parquet in the Athena layout ``workshop/workshop/year=2018/month=10/``
    - the legacy CUR CSV (November 2023) gzipped with a manifest (assemblyId ``sample-assembly-1``)
    - the FOCUS 1.0 CSV (September 2024) as a Data Export with a manifest
    """
    athena = root / "workshop" / "workshop" / "year=2018" / "month=10"
    athena.mkdir(parents=True, exist_ok=True)
    shutil.copy(samples_dir / "cur-legacy-parquet" / "Oct2018-WorkshopCUR-00001.snappy.parquet", athena)

    csv_text = (samples_dir / "cur-legacy-csv" / "sample-anonymous-aws-export-dataset.csv").read_bytes()
    write_legacy_csv_export(root, "anonymous-cur", "2023-11", [], [], assembly_id="sample-assembly-1",
                            bucket=bucket, prefix=prefix, raw_gzip=gzip.compress(csv_text))

    focus_data = root / "focus-export" / "data" / "BILLING_PERIOD=2024-09"
    focus_data.mkdir(parents=True, exist_ok=True)
    shutil.copy(samples_dir / "focus-1.0" / "focus_sample.csv", focus_data)
    header = (samples_dir / "focus-1.0" / "focus_sample.csv").read_text().splitlines()[0]
    key_prefix = f"{prefix}/" if prefix else ""
    manifest_dir = root / "focus-export" / "metadata" / "BILLING_PERIOD=2024-09"
    manifest_dir.mkdir(parents=True, exist_ok=True)
    (manifest_dir / "focus-export-Manifest.json").write_text(json.dumps({
        "executionId": "focus-sample-1",
        "columns": [{"name": c.strip('"'), "type": "string"} for c in header.split(",")],
        "dataFiles": [f"s3://{bucket}/{key_prefix}focus-export/data/BILLING_PERIOD=2024-09/focus_sample.csv"],
    }))
