"""The landing store: per format and billing period, one parquet file per export.

Replacing a period is atomic: the new file is written beside the old one under
a temporary name and moved over it with ``os.replace`` (a rename on one file
system), so a reader sees either the old delivery or the new one, never both
and never a half-written file.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from orchestration.landing_schema import FORMATS, SCHEMAS


def empty_select_sql(format_name: str) -> str:
    """A zero-row SELECT with exactly the landing columns and types of a format."""
    columns = ", ".join(
        f'CAST(NULL AS {type_}) AS "{name}"' for name, type_ in SCHEMAS[format_name].landing_columns
    )
    return f"SELECT {columns} WHERE false"


def ensure_landing_layout(landing_dir: Path) -> None:
    """Create the landing folders with a zero-row schema file per format.

    dbt's sources glob ``landing/<format>/**/*.parquet``; the schema file keeps
    that glob valid (and typed) before the first delivery of a format arrives.
    """
    for format_name in FORMATS:
        folder = landing_dir / format_name
        folder.mkdir(parents=True, exist_ok=True)
        schema_file = folder / "_empty.parquet"
        if not schema_file.exists():
            tmp = folder / "._empty.parquet.tmp"
            with duckdb.connect() as con:
                con.execute(f"COPY ({empty_select_sql(format_name)}) TO '{tmp}' (FORMAT parquet)")
            tmp.replace(schema_file)
