"""Issue 15.4: S3 refusing to list or read (access, missing bucket, credentials, throttling, no
network) is one clear error naming the s3:// URI and the permission needed, never a botocore
traceback, and what is landed stays byte for byte what it was.

Every failure comes from a real S3 endpoint (moto's server on 127.0.0.1):

- AccessDenied and bad credentials: a second moto server of this module with IAM
  authentication switched on (moto's ``/moto-api/reset-auth``, the server side of
  ``INITIAL_NO_AUTH_ACTION_COUNT``) and IAM users whose inline policies allow only part of
  what loading needs.  moto does not evaluate S3 bucket policies, only identity policies,
  so the denial comes from an IAM user policy, which S3 reports the same way (AccessDenied).
- NoSuchBucket: a bucket that does not exist on the shared moto server.
- ExpiredToken and throttling: a botocore ``before-send`` hook on the session answers
  with the response S3 sends (the XML error body and status code) in place of the server,
  so botocore parses it and retries it with its real retry handler exactly as it would
  S3's own; the hook counts the attempts.
- no network: an endpoint on a loopback port nothing listens on.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from orchestration.cli import main
from orchestration.ingestion.errors import IngestionError
from orchestration.ingestion.landing import load_exports
from tests.conftest import _free_port, start_moto_server, upload_folder
from tests.export_builders import cur2_row, write_data_export
from tests.test_ingestion import landed, two_rows_delivery
from tests.test_landing_faults import landing_digest

UNCHANGED = "Nothing was loaded from it; what is landed stays as it was."
MANIFEST = "billing/cur2-export/metadata/BILLING_PERIOD=2024-01/cur2-export-Manifest.json"


def use_identity(monkeypatch, endpoint: str, key_id: str, secret: str) -> None:
    """Point boto3 at ``endpoint`` with these keys (a fresh default session: boto3 caches credentials)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)


@pytest.fixture(scope="module")
def iam_s3():
    """A moto server enforcing IAM: {endpoint, identities: name -> (key id, secret)}.

    - admin: everything
    - lister: s3:ListBucket only (so reading a manifest is denied)
    - metadata_reader: s3:ListBucket, and s3:GetObject on */metadata/* only (so a data file is denied)
    - nobody: no policy at all (so listing is denied)
    """
    proc, endpoint = start_moto_server()
    try:
        iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="setup",
                           aws_secret_access_key="setup")
        policies = {
            "admin": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            "lister": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}],
            "metadata_reader": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"},
                                {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::*/metadata/*"}],
            "nobody": [],
        }
        identities = {}
        for name, statements in policies.items():
            iam.create_user(UserName=name)
            if statements:
                iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(
                    {"Version": "2012-10-17", "Statement": statements}))
            key = iam.create_access_key(UserName=name)["AccessKey"]
            identities[name] = (key["AccessKeyId"], key["SecretAccessKey"])
        # From now on every request must be signed by a known key and allowed by its policies.
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset-auth", data=b"0", method="POST",
                                                      headers={"Content-Type": "text/plain"}))
        yield {"endpoint": endpoint, "identities": identities}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def landed_on_iam_s3(iam_s3, tmp_path, monkeypatch, request):
    """As admin: a bucket with one good delivery under billing/, landed. (uri, landing, digest, bucket)."""
    use_identity(monkeypatch, iam_s3["endpoint"], *iam_s3["identities"]["admin"])
    bucket = "t-" + re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[-50:].strip("-")
    boto3.client("s3").create_bucket(Bucket=bucket)
    two_rows_delivery(tmp_path / "exports", "exec-good")
    upload_folder(tmp_path / "exports", bucket, "billing")
    landing = tmp_path / "landing"
    load_exports(f"s3://{bucket}/billing", landing)
    assert landed(landing, "cur2", "2024-01") == (2, 3.75, ["exec-good"])
    return f"s3://{bucket}/billing", landing, landing_digest(landing), bucket


def assert_refused_exactly(uri: str, landing: Path, before: dict, message: str) -> None:
    with pytest.raises(IngestionError) as refused:
        load_exports(uri, landing)
    assert str(refused.value) == message
    assert landing_digest(landing) == before


def test_listing_denied_names_the_prefix_and_s3_listbucket(landed_on_iam_s3, iam_s3, monkeypatch):
    uri, landing, before, bucket = landed_on_iam_s3
    use_identity(monkeypatch, iam_s3["endpoint"], *iam_s3["identities"]["nobody"])
    assert_refused_exactly(uri, landing, before, (
        f"s3://{bucket}/billing/: access denied (AccessDenied) when trying to list the export location: the AWS "
        f"identity in use needs s3:ListBucket on arn:aws:s3:::{bucket} (for the prefix 'billing/'); grant it (IAM "
        f"or bucket policy) or use credentials that have it, then run again. {UNCHANGED}"))


def test_reading_a_manifest_denied_names_the_key_and_s3_getobject(landed_on_iam_s3, iam_s3, monkeypatch):
    uri, landing, before, bucket = landed_on_iam_s3
    use_identity(monkeypatch, iam_s3["endpoint"], *iam_s3["identities"]["lister"])
    assert_refused_exactly(uri, landing, before, (
        f"s3://{bucket}/{MANIFEST}: access denied (AccessDenied) when trying to read the object: the AWS identity "
        f"in use needs s3:GetObject on arn:aws:s3:::{bucket}/{MANIFEST}; grant it (IAM or bucket policy) or use "
        f"credentials that have it, then run again. {UNCHANGED}"))


def test_downloading_a_data_file_denied_keeps_the_landed_delivery(landed_on_iam_s3, iam_s3, monkeypatch,
                                                                  tmp_path):
    uri, landing, before, bucket = landed_on_iam_s3
    redelivery = tmp_path / "redelivery"  # a new delivery of the same period, uploaded by admin
    write_data_export(redelivery, "cur2-export", "2024-01", {"part-00002.parquet": [cur2_row("c", 9.0)]},
                      execution_id="exec-new", bucket=bucket, prefix="billing")
    upload_folder(redelivery, bucket, "billing")
    data_key = "billing/cur2-export/data/BILLING_PERIOD=2024-01/part-00002.parquet"
    use_identity(monkeypatch, iam_s3["endpoint"], *iam_s3["identities"]["metadata_reader"])
    # download_file starts with a HEAD request, whose refusal has no body: S3's code is the bare status
    assert_refused_exactly(uri, landing, before, (
        f"s3://{bucket}/{data_key}: access denied (403) when trying to read the object: the AWS identity in use "
        f"needs s3:GetObject on arn:aws:s3:::{bucket}/{data_key}; grant it (IAM or bucket policy) or use "
        f"credentials that have it, then run again. {UNCHANGED}"))
    assert landed(landing, "cur2", "2024-01") == (2, 3.75, ["exec-good"])


@pytest.mark.parametrize("identity, code, text", [
    ("wrong_secret", "SignatureDoesNotMatch", "The request signature we calculated does not match the signature "
                                              "you provided. Check your key and signing method."),
    ("unknown_key", "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."),
])
def test_invalid_credentials_say_renew_them(landed_on_iam_s3, iam_s3, monkeypatch, identity, code, text):
    uri, landing, before, bucket = landed_on_iam_s3
    key_id, secret = iam_s3["identities"]["admin"]
    keys = (key_id, secret + "x") if identity == "wrong_secret" else ("AKIAEXPIREDORDELETED", secret)
    use_identity(monkeypatch, iam_s3["endpoint"], *keys)
    assert_refused_exactly(uri, landing, before, (
        f"s3://{bucket}/billing/: the AWS credentials were refused ({code}: {text}) when trying to list the export "
        "location; they are invalid or expired: renew them (`aws sso login`, a new session token or access key) "
        f"and run again. {UNCHANGED}"))


def test_finops_build_prints_one_line_for_a_denied_listing(landed_on_iam_s3, iam_s3, monkeypatch, tmp_path,
                                                           capsys):
    uri, _, _, bucket = landed_on_iam_s3
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    use_identity(monkeypatch, iam_s3["endpoint"], *iam_s3["identities"]["nobody"])
    monkeypatch.setenv("FINOPS_DATA_DIR", str(data_dir))
    capsys.readouterr()
    assert main(["build", "--export-uri", uri]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"finops: error: s3://{bucket}/billing/: access denied (AccessDenied) when trying to list the export "
        f"location: the AWS identity in use needs s3:ListBucket on arn:aws:s3:::{bucket} (for the prefix "
        "'billing/'); grant it (IAM or bucket policy) or use credentials that have it, then run again. "
        f"{UNCHANGED}\n")


# --- the shared moto server (no IAM) --------------------------------------------------------------------

@pytest.fixture
def landed_on_s3(s3_bucket, tmp_path, monkeypatch):
    """One good delivery under s3://<bucket>/billing, landed. (uri, landing, digest)."""
    use_identity(monkeypatch, os.environ["AWS_ENDPOINT_URL"], os.environ["AWS_ACCESS_KEY_ID"],
                 os.environ["AWS_SECRET_ACCESS_KEY"])
    two_rows_delivery(tmp_path / "exports", "exec-good")
    upload_folder(tmp_path / "exports", s3_bucket, "billing")
    landing = tmp_path / "landing"
    load_exports(f"s3://{s3_bucket}/billing", landing)
    assert landed(landing, "cur2", "2024-01") == (2, 3.75, ["exec-good"])
    return f"s3://{s3_bucket}/billing", landing, landing_digest(landing)


def test_a_missing_bucket_is_named(landed_on_s3):
    _, landing, before = landed_on_s3
    assert_refused_exactly("s3://no-such-billing-bucket/billing", landing, before, (
        "s3://no-such-billing-bucket/billing/: bucket 'no-such-billing-bucket' does not exist (NoSuchBucket); "
        "check the bucket name in FINOPS_EXPORT_URI (and AWS_ENDPOINT_URL if you use an S3-compatible endpoint). "
        f"{UNCHANGED}"))


def s3_error(code: str, status: int, text: str) -> AWSResponse:
    """The HTTP response S3 sends for an error: an XML body with the code and message."""
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{text}</Message>'
            f"<RequestId>4442587FB7D0A2F9</RequestId></Error>").encode()

    class Raw:
        def stream(self, **_):
            yield body

    return AWSResponse("https://s3.amazonaws.com/", status,
                       {"Content-Type": "application/xml", "Content-Length": str(len(body))}, Raw())


def answer_every_s3_request_with(response: AWSResponse) -> list[str]:
    """Every S3 request of clients made from now on gets ``response``; returns the list of requests seen."""
    seen = []

    def before_send(request, **_):
        seen.append(f"{request.method} {request.url}")
        return response

    boto3.setup_default_session()
    boto3.DEFAULT_SESSION.events.register("before-send.s3", before_send)
    return seen


@pytest.mark.parametrize("code, status", [("SlowDown", 503), ("Throttling", 400), ("RequestLimitExceeded", 400)])
def test_throttling_after_the_retries_says_wait_and_retry(landed_on_s3, monkeypatch, code, status):
    uri, landing, before = landed_on_s3
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "3")
    seen = answer_every_s3_request_with(s3_error(code, status, "Please reduce your request rate."))
    assert_refused_exactly(uri, landing, before, (
        f"{uri}/: S3 is throttling or unavailable ({code}) and still refused to list the export location after 3 "
        "attempt(s); wait a few minutes and run again, or allow more retries (AWS_MAX_ATTEMPTS, "
        f"AWS_RETRY_MODE=adaptive). {UNCHANGED}"))
    assert len(seen) == 3  # botocore did retry


def test_an_expired_session_token_says_renew_it(landed_on_s3):
    uri, landing, before = landed_on_s3
    seen = answer_every_s3_request_with(s3_error("ExpiredToken", 400, "The provided token has expired."))
    assert_refused_exactly(uri, landing, before, (
        f"{uri}/: the AWS credentials were refused (ExpiredToken: The provided token has expired.) when trying to "
        "list the export location; they are invalid or expired: renew them (`aws sso login`, a new session token "
        f"or access key) and run again. {UNCHANGED}"))
    assert len(seen) == 1  # not retried: it cannot succeed


def test_an_unreachable_endpoint_says_check_the_network(landed_on_s3, monkeypatch):
    uri, landing, before = landed_on_s3
    port = _free_port()  # nothing listens there
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    bucket = uri.removeprefix("s3://").split("/")[0]
    assert_refused_exactly(uri, landing, before, (
        f"{uri}/: cannot reach S3 at http://127.0.0.1:{port} to list the export location (Could not connect to the "
        f'endpoint URL: "http://127.0.0.1:{port}/{bucket}?list-type=2&prefix=billing%2F&encoding-type=url"); '
        f"check the network, the region and AWS_ENDPOINT_URL, then run again. {UNCHANGED}"))


def test_finops_build_prints_one_line_for_a_denied_data_file(landed_on_iam_s3, iam_s3, monkeypatch, tmp_path):
    """The download runs inside the Dagster run of the period: the refusal still reaches the user as one
    line, and no stack trace (a real `finops build` process, so stderr is exactly what a user sees)."""
    uri, _, _, bucket = landed_on_iam_s3
    redelivery = tmp_path / "redelivery"
    write_data_export(redelivery, "cur2-export", "2024-01", {"part-00002.parquet": [cur2_row("c", 9.0)]},
                      execution_id="exec-new", bucket=bucket, prefix="billing")
    upload_folder(redelivery, bucket, "billing")
    data_key = "billing/cur2-export/data/BILLING_PERIOD=2024-01/part-00002.parquet"
    data_dir = tmp_path / "data"
    use_identity(monkeypatch, iam_s3["endpoint"], *iam_s3["identities"]["metadata_reader"])
    monkeypatch.setenv("FINOPS_DATA_DIR", str(data_dir))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    build = subprocess.run([str(Path(sys.executable).with_name("finops")), "build", "--export-uri", uri],
                           capture_output=True, text=True, timeout=600)
    assert build.returncode == 1
    assert build.stderr.splitlines()[-1] == (
        f"finops: error: landing of 2024-01 failed: s3://{bucket}/{data_key}: access denied (403) when trying to "
        f"read the object: the AWS identity in use needs s3:GetObject on arn:aws:s3:::{bucket}/{data_key}; grant "
        f"it (IAM or bucket policy) or use credentials that have it, then run again. {UNCHANGED}")
    assert "Stack Trace" not in build.stderr + build.stdout and "Traceback" not in build.stderr + build.stdout, \
        build.stderr
    assert landed(data_dir / "landing", "cur2", "2024-01") == (0, 0.0, [])


def test_no_credentials_at_all_says_configure_them(landed_on_s3, monkeypatch, tmp_path):
    uri, landing, before = landed_on_s3
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance role to ask
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    assert_refused_exactly(uri, landing, before, (
        f"{uri}/: no AWS credentials found to list the export location; configure boto3's credential chain "
        f"(AWS_PROFILE, ~/.aws/credentials, `aws sso login`, an instance role) and run again. {UNCHANGED}"))


def test_an_unknown_aws_profile_is_named(landed_on_s3, monkeypatch):
    uri, landing, before = landed_on_s3
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    assert_refused_exactly(uri, landing, before, (
        f"{uri}: cannot set up the S3 client: The config profile (no-such-profile) could not be found. {UNCHANGED}"))
