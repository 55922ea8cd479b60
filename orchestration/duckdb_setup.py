"""Install the DuckDB extensions the project needs from PyPI packages, not the internet.

DuckDB normally downloads extensions on first use; here that is impossible (and
in many corporate networks too).  The ``duckdb-extension-*`` packages ship the
binaries; installing them once puts them where DuckDB autoloads them from, so
every later connection (ours, dbt-duckdb's, a BI user's notebook) finds them.
"""

from __future__ import annotations

import functools

import duckdb

# httpfs: reading s3:// directly (optional path; the loader downloads with boto3).
# icu, json and parquet are built into the duckdb wheel.
BUNDLED_EXTENSIONS = ("httpfs",)


@functools.cache
def install_bundled_extensions() -> None:
    from duckdb_extensions import import_extension

    with duckdb.connect() as con:
        installed = {
            name for name, is_installed in
            con.execute("SELECT extension_name, installed FROM duckdb_extensions()").fetchall() if is_installed
        }
        for name in BUNDLED_EXTENSIONS:
            if name not in installed:
                import_extension(name, con=con)


if __name__ == "__main__":
    install_bundled_extensions()
