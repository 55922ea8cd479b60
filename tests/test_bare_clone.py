"""The repository on its own: a copy of the tracked files with no sibling ../shared folder
collects every test, and the tests that read the real billing samples skip with their reason."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("FINOPS_REAL_SAMPLES_DIR", "FINOPS_DATA_DIR")}


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=cwd, env=_env(),
                          capture_output=True, text=True, timeout=300)


def test_a_bare_copy_collects_and_skips_the_real_sample_tests_with_their_reason(tmp_path):
    if shutil.which("git") is None or not (REPO_ROOT / ".git").exists():
        pytest.skip("not a git checkout: cannot list the tracked files")
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True).stdout
    copy = tmp_path / "clone"  # tmp_path has no shared/ beside it
    for name in filter(None, tracked.decode().split("\0")):
        source = REPO_ROOT / name
        if source.is_file():  # a file deleted in the work tree but not yet from the index is skipped
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    assert not (copy.parent / "shared").exists()

    # What scripts/bootstrap does after installing (the venv is this interpreter's): parse the dbt
    # project, whose manifest the Dagster definitions read at import.
    parsed = subprocess.run([str(Path(sys.executable).with_name("dbt")), "parse", "--quiet", "--profiles-dir", ".",
                             "--project-dir", "."], cwd=copy / "dbt_project", capture_output=True, text=True,
                            env={**_env(), "FINOPS_DATA_DIR": str(copy / "data")}, timeout=300)
    assert parsed.returncode == 0, parsed.stdout[-3000:] + parsed.stderr[-3000:]

    collected = _run(["--collect-only", "-q"], copy)
    assert collected.returncode == 0, collected.stdout[-3000:] + collected.stderr[-3000:]
    assert "error" not in collected.stdout.lower().splitlines()[-1], collected.stdout[-3000:]

    real = _run(["-m", "real_samples", "-rs"], copy)
    assert real.returncode == 0, real.stdout[-3000:] + real.stderr[-3000:]
    missing = (copy / ".." / "shared" / "samples").resolve()
    reason = f"real billing samples not found at {missing}; set FINOPS_REAL_SAMPLES_DIR to run them"
    summary = real.stdout.splitlines()[-1]
    assert re.search(r"\b[1-9]\d* skipped", summary) and "passed" not in summary and "failed" not in summary, \
        real.stdout[-3000:]
    assert real.stdout.count(reason) >= 1 and "SKIPPED" in real.stdout, real.stdout[-3000:]
