"""Shared fixtures: a real S3 endpoint (moto's server on 127.0.0.1) and scratch data dirs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# The real AWS billing samples live outside the repository. Their folder comes from the setting
# FINOPS_REAL_SAMPLES_DIR (default: the sibling folder ../shared/samples, which .ci/run sets
# explicitly); the tests that read them carry the marker `real_samples` and skip where it is absent.
SAMPLES_ENV = "FINOPS_REAL_SAMPLES_DIR"


def real_samples_dir() -> Path:
    configured = os.environ.get(SAMPLES_ENV)
    folder = Path(configured).expanduser() if configured else REPO_ROOT / ".." / "shared" / "samples"
    return folder.resolve()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_moto_server() -> tuple[subprocess.Popen, str]:
    """moto's server on a free loopback port, once it accepts connections: (process, endpoint URL)."""
    port = _free_port()
    moto = Path(sys.executable).with_name("moto_server")
    proc = subprocess.Popen([str(moto), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, f"http://127.0.0.1:{port}"
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("moto_server did not start")
            time.sleep(0.1)


@pytest.fixture(scope="session")
def s3_endpoint():
    """moto's S3 server on a free loopback port, with the boto3 environment pointing at it."""
    proc, endpoint = start_moto_server()
    saved = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                            "AWS_DEFAULT_REGION")}
    os.environ.update({"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing",
                       "AWS_SECRET_ACCESS_KEY": "moto-secret-never-logged", "AWS_DEFAULT_REGION": "us-east-1"})
    yield endpoint
    proc.terminate()
    proc.wait(timeout=10)
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def s3_bucket(s3_endpoint, request):
    """A fresh, empty bucket for one test."""
    import boto3

    name = "t-" + request.node.name.lower().replace("_", "-")[:50].strip("-")
    client = boto3.client("s3")
    client.create_bucket(Bucket=name)
    return name


def upload_folder(local_dir: Path, bucket: str, prefix: str = "") -> None:
    import boto3

    client = boto3.client("s3")
    for path in sorted(local_dir.rglob("*")):
        if path.is_file():
            key = path.relative_to(local_dir).as_posix()
            client.upload_file(str(path), bucket, f"{prefix}/{key}" if prefix else key)


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    folder = real_samples_dir()
    if not folder.is_dir():
        pytest.skip(f"real billing samples not found at {folder}; set {SAMPLES_ENV} to run them")
    return folder


# Enough line items a month for the generated cost spike to clear the anomaly floor
# (var anomaly_min_cost, 25 USD), so there are alerts to summarise.
DEMO_ROWS = 20_000


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    """One real `finops demo` (a subprocess, as a user runs it) in a fresh FINOPS_DATA_DIR, shared by
    the modules that read what it prints and builds (test_demo_output, test_semantic_layer)."""
    data_dir = tmp_path_factory.mktemp("demo") / "data"
    env = {**os.environ, "FINOPS_DATA_DIR": str(data_dir), "FINOPS_DUCKDB_THREADS": "2"}
    for name in ("FINOPS_EXPORT_URI", "DAGSTER_HOME"):
        env.pop(name, None)
    completed = subprocess.run([str(Path(sys.executable).with_name("finops")), "demo", "--rows", str(DEMO_ROWS)],
                               cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=1800)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return data_dir, completed
