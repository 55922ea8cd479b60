"""The dbt docs site for BI users, published beside the review pack.

``dbt docs generate --static`` writes one self-contained HTML file (manifest and catalog
inlined: models, columns with their descriptions and types, tests, lineage) that opens from
disk without a server. It is written to ``$FINOPS_DATA_DIR/reports/dbt-docs/index.html``,
next to the monthly review pack, and swapped in atomically (a reader never sees half a file).

dbt writes its artifacts (manifest.json, catalog.json …) to a temporary target path, never
to the project's ``target/``: the Dagster definitions are built from that manifest.

The site describes the project, not the month's data, so it is generated again only when
the project changed: a digest of what the site shows (every node's code, description and
columns, the docs blocks) is kept beside it, and a build that changed no model keeps the page.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from orchestration.reports.review_pack import REPORTS_FOLDER
from orchestration.settings import DBT_PROJECT_DIR, dbt_executable

DOCS_FOLDER = "dbt-docs"


class DocsError(Exception):
    """dbt docs generate failed; the previous docs file is still in place."""


def docs_index(data_dir: Path | str) -> Path:
    """``$FINOPS_DATA_DIR/reports/dbt-docs/index.html``."""
    return Path(data_dir) / REPORTS_FOLDER / DOCS_FOLDER / "index.html"


def project_digest(manifest: dict) -> str:
    """sha256 of what the docs site shows: nodes' code, descriptions and columns, sources, docs blocks."""
    import hashlib
    import json

    shown = {
        "nodes": {uid: [n.get("checksum", {}).get("checksum"), n.get("description"),
                        {c: v.get("description") for c, v in n.get("columns", {}).items()}, n.get("config")]
                  for uid, n in manifest.get("nodes", {}).items()},
        "sources": {uid: [s.get("description"), sorted(s.get("columns", {}))]
                    for uid, s in manifest.get("sources", {}).items()},
        "docs": {uid: d.get("block_contents") for uid, d in manifest.get("docs", {}).items()},
        "exposures": sorted(manifest.get("exposures", {})),
    }
    return hashlib.sha256(json.dumps(shown, sort_keys=True, default=str).encode()).hexdigest()


def generate_docs(data_dir: Path | str, manifest: dict | None = None) -> tuple[Path, bool]:
    """Run ``dbt docs generate --static`` on the build file and publish its single HTML file.

    Returns the page and whether it was generated (False: the project is the one the page
    was made from, given its ``manifest``)."""
    target = docs_index(data_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    # beside the folder, not in it: the folder holds the page alone (it is what users publish)
    stamp = target.parent.with_name(f".{DOCS_FOLDER}.project-digest")
    digest = project_digest(manifest) if manifest is not None else None
    if digest and target.exists() and stamp.exists() and stamp.read_text() == digest:
        return target, False
    env = {**os.environ, "FINOPS_DATA_DIR": str(Path(data_dir).resolve())}
    with tempfile.TemporaryDirectory(prefix=".dbt-docs-", dir=target.parent) as work:
        completed = subprocess.run(
            [dbt_executable(), "docs", "generate", "--static", "--quiet", "--profiles-dir", ".", "--project-dir", ".",
             "--target-path", work],
            cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True)
        page = Path(work) / "static_index.html"
        if completed.returncode != 0 or not page.exists():
            raise DocsError(f"dbt docs generate failed: {_dbt_error(completed.stdout + completed.stderr)} "
                            f"(the previous {target} is unchanged; dbt's log: {DBT_PROJECT_DIR / 'logs' / 'dbt.log'})")
        tmp = target.with_name(f".{target.name}.tmp")
        page.replace(tmp)
        os.replace(tmp, target)
    if digest:
        stamp.write_text(digest)
    return target, True


def _dbt_error(output: str) -> str:
    """dbt's own error message, without the Python traceback it prints after it."""
    lines = [line.strip() for line in output.splitlines()]
    for i, line in enumerate(lines):
        if line.endswith("Encountered an error:"):
            message = []
            for following in lines[i + 1:]:
                if not following or "Traceback (most recent call last)" in following:
                    break
                message.append(following)
            return " ".join(message) or line
    return " ".join(line for line in lines[-3:] if line) or "no output"


def build_dbt_docs_asset(upstream_keys):
    """The Dagster asset ``dbt_docs`` (group ``publish``).

    Downstream of the steps that read the build file (alerts, publish): dbt-duckdb opens the
    file for writing, which DuckDB allows to one process at a time, so it must not run beside
    them in the UI's multiprocess executor.
    """
    import dagster as dg

    @dg.asset(key=dg.AssetKey(["dbt_docs"]), group_name="publish", compute_kind="dbt",
              deps=list(upstream_keys), required_resource_keys={"finops"},
              description="The dbt docs site (models, column descriptions, tests, lineage) as one static HTML "
                          "file beside the review pack: $FINOPS_DATA_DIR/reports/dbt-docs/index.html.")
    def dbt_docs(context):
        import json

        manifest_path = DBT_PROJECT_DIR / os.environ.get("DBT_TARGET_PATH", "target") / "manifest.json"
        manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else None
        path, generated = generate_docs(context.resources.finops.data_dir, manifest)
        return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(path)),
                                              "size_bytes": path.stat().st_size,
                                              "status": "generated" if generated else "unchanged (same project)"})

    return dbt_docs
