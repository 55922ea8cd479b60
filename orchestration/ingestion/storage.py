"""Read-only access to an export location: an S3 prefix (boto3) or a local folder.

Keys are always relative to the location's root and use "/".  Credentials come
from boto3's standard chain (environment, profile, instance role, and
``AWS_ENDPOINT_URL`` for S3-compatible endpoints); they are never logged.
"""

from __future__ import annotations

import logging
import os
import posixpath
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

from orchestration.ingestion.errors import IngestionError, StorageAccessError, UnsafeKeyError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredObject:
    key: str  # relative to the store root
    size: int
    version: str  # ETag on S3, mtime_ns locally: changes when the object is rewritten


def safe_relative_key(key: str, *, context: str) -> str:
    """Normalise a relative key and refuse one that would leave its root."""
    if key.startswith("/") or "\\" in key:
        raise UnsafeKeyError(f"{context}: key {key!r} is absolute or uses backslashes; refusing to load it")
    parts = key.split("/")
    if any(part == ".." for part in parts):
        raise UnsafeKeyError(
            f"{context}: key {key!r} contains '..' and would escape the export/landing folder; "
            "refusing to load it. Fix the manifest or remove the object."
        )
    normalised = posixpath.normpath(key)
    if normalised in ("", "."):
        raise UnsafeKeyError(f"{context}: empty key")
    return normalised


class ExportStore(Protocol):
    uri: str

    def list_objects(self) -> list[StoredObject]: ...

    def read_bytes(self, key: str) -> bytes: ...

    def local_path(self, key: str, scratch_dir: Path) -> Path:
        """A local file with the object's content (downloaded into scratch_dir if remote)."""
        ...

    def describe(self, key: str) -> str:
        """How to name the object in messages (its full URI)."""
        ...


class LocalStore:
    def __init__(self, root: Path):
        self.root = root.resolve()
        self.uri = str(self.root)
        if not self.root.is_dir():
            raise IngestionError(
                f"export location {self.root} does not exist or is not a folder; "
                "set FINOPS_EXPORT_URI to an s3://bucket/prefix or an existing folder"
            )

    def list_objects(self) -> list[StoredObject]:
        """Every file under the root, following symlinked folders (an export folder linked in from
        elsewhere is read like any other).  A folder reached twice — a link back to an ancestor, or
        two links to one folder — is read once only (the first path in sorted order), so a loop
        cannot hang the walk and no export is counted twice."""
        objects = []
        seen_dirs: set[tuple[int, int]] = set()
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=True, onerror=self._walk_error):
            here = os.stat(dirpath)
            if (here.st_dev, here.st_ino) in seen_dirs:
                log.warning("%s: %s is a folder already read under another path (a symlink); read once only",
                            self.uri, dirpath)
                dirnames.clear()
                continue
            seen_dirs.add((here.st_dev, here.st_ino))
            dirnames.sort()
            for name in filenames:
                path = Path(dirpath) / name
                if not path.is_file():  # a broken symlink, a socket...
                    if path.is_symlink():
                        log.warning("%s: %s is a broken symlink; ignored", self.uri, path)
                    continue
                stat = path.stat()
                key = path.relative_to(self.root).as_posix()
                objects.append(StoredObject(key, stat.st_size, str(stat.st_mtime_ns)))
        return sorted(objects, key=lambda o: o.key)

    def _walk_error(self, exc: OSError) -> None:
        raise IngestionError(f"{exc.filename}: cannot read this folder of the export location "
                             f"({exc.strerror or exc}); make it readable, or point FINOPS_EXPORT_URI elsewhere") from exc

    def _path(self, key: str) -> Path:
        # The key is checked lexically (no '..', not absolute), not after resolving symlinks:
        # a symlink under the export folder is the user's own choice and is followed.
        return self.root / safe_relative_key(key, context=self.uri)

    def read_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def local_path(self, key: str, scratch_dir: Path) -> Path:
        path = self._path(key)
        if not path.is_file():
            raise IngestionError(f"{self.describe(key)}: file not found")
        return path

    def describe(self, key: str) -> str:
        return str(self.root / key)


class _Progress:
    """Logs a download's progress every few seconds (boto3 calls it from worker threads)."""

    def __init__(self, name: str, size: int, interval_s: float = 5.0):
        self.name, self.size, self.interval_s = name, size, interval_s
        self.done = 0
        self.started = self.last = time.monotonic()
        self.lock = threading.Lock()

    def __call__(self, nbytes: int) -> None:
        with self.lock:
            self.done += nbytes
            now = time.monotonic()
            if now - self.last >= self.interval_s and self.size:
                self.last = now
                rate = self.done / max(now - self.started, 1e-9) / 1e6
                log.info("downloading %s: %.0f%% of %.1f MB (%.1f MB/s)", self.name,
                         100 * self.done / self.size, self.size / 1e6, rate)


class S3Store:
    def __init__(self, uri: str):
        parsed = urlparse(uri)
        self.uri = uri.rstrip("/")
        self.bucket = parsed.netloc
        self.prefix = parsed.path.strip("/")
        if not self.bucket:
            raise IngestionError(f"export location {uri!r} has no bucket; expected s3://bucket/prefix")
        import boto3  # imported here so local-folder users never need AWS configuration

        # The standard credential chain and AWS_ENDPOINT_URL apply; nothing is logged.
        try:
            self.client = boto3.client("s3")
        except Exception as exc:  # e.g. AWS_PROFILE naming a profile that does not exist
            raise s3_failure(exc, where=self.uri, action="set up the S3 client", permission="", resource="",
                             bucket=self.bucket, endpoint=None) from exc
        self._sizes: dict[str, int] = {}

    def _full_key(self, key: str) -> str:
        key = safe_relative_key(key, context=self.uri)
        return f"{self.prefix}/{key}" if self.prefix else key

    def list_objects(self) -> list[StoredObject]:
        paginator = self.client.get_paginator("list_objects_v2")
        prefix = f"{self.prefix}/" if self.prefix else ""
        objects = []
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    key = item["Key"][len(prefix):]
                    if key and not key.endswith("/"):
                        objects.append(StoredObject(key, item["Size"], item["ETag"].strip('"')))
                        self._sizes[key] = item["Size"]
        except Exception as exc:
            raise self._failure(exc, f"s3://{self.bucket}/{prefix}", "list the export location",
                                "s3:ListBucket", f"arn:aws:s3:::{self.bucket}"
                                + (f" (for the prefix {prefix!r})" if prefix else "")) from exc
        return sorted(objects, key=lambda o: o.key)

    def read_bytes(self, key: str) -> bytes:
        full_key = self._full_key(key)
        try:
            return self.client.get_object(Bucket=self.bucket, Key=full_key)["Body"].read()
        except Exception as exc:
            raise self._failure(exc, self.describe(key), "read the object", "s3:GetObject",
                                f"arn:aws:s3:::{self.bucket}/{full_key}") from exc

    def exists(self, key: str) -> bool:
        return key in self._sizes

    def local_path(self, key: str, scratch_dir: Path) -> Path:
        target = (scratch_dir / safe_relative_key(key, context=self.uri)).resolve()
        if not target.is_relative_to(scratch_dir.resolve()):
            raise UnsafeKeyError(f"{self.describe(key)}: would be written outside {scratch_dir}; refusing it")
        target.parent.mkdir(parents=True, exist_ok=True)
        size = self._sizes.get(key, 0)
        log.info("downloading %s (%.1f MB)", self.describe(key), size / 1e6)
        try:
            self.client.download_file(self.bucket, self._full_key(key), str(target),
                                      Callback=_Progress(self.describe(key), size))
        except Exception as exc:
            raise self._failure(exc, self.describe(key), "read the object", "s3:GetObject",
                                f"arn:aws:s3:::{self.bucket}/{self._full_key(key)}") from exc
        return target

    def describe(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._full_key(key)}"

    def _failure(self, exc: Exception, where: str, action: str, permission: str, resource: str) -> Exception:
        """The user-facing error for a failed S3 call (``exc`` itself when it is not one of S3's)."""
        return s3_failure(exc, where=where, action=action, permission=permission, resource=resource,
                          bucket=self.bucket, endpoint=self.client.meta.endpoint_url)


# What S3 (or botocore) said, grouped by what the user has to do about it.  HEAD requests
# (download_file starts with one) carry no error body: their code is the bare HTTP status.
S3_ACCESS_DENIED = {"AccessDenied", "403", "AllAccessDisabled", "AccountProblem"}
S3_BAD_CREDENTIALS = {"ExpiredToken", "ExpiredTokenException", "InvalidAccessKeyId", "SignatureDoesNotMatch",
                      "InvalidToken", "TokenRefreshRequired", "InvalidClientTokenId", "UnrecognizedClientException",
                      "AuthorizationHeaderMalformed", "RequestExpired", "RequestTimeTooSkewed"}
S3_THROTTLED = {"SlowDown", "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottled",
                "RequestThrottledException", "RequestLimitExceeded", "TooManyRequestsException",
                "ProvisionedThroughputExceededException", "BandwidthLimitExceeded", "ServiceUnavailable",
                "503", "InternalError", "500"}
S3_NOT_FOUND = {"NoSuchKey", "404"}
UNCHANGED = "Nothing was loaded from it; what is landed stays as it was"


def s3_failure(exc: Exception, *, where: str, action: str, permission: str, resource: str, bucket: str,
               endpoint: str | None) -> Exception:
    """Translate a botocore/s3transfer error into a StorageAccessError saying what to do.

    ``where`` is the s3:// URI of the object or prefix, ``action`` what was being done
    ("read the object"), ``permission`` the IAM action it needs on ``resource``.  Other
    exceptions are returned unchanged.  botocore's messages never contain credentials.
    """
    import botocore.exceptions as bce

    if isinstance(exc, bce.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "?"))
        text = error.get("Message") or ""
        attempts = exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0) + 1
        if code in S3_NOT_FOUND:
            return IngestionError(f"{where}: object not found ({code}); it was listed but is gone: wait for the "
                                  f"delivery to finish, or re-deliver the period. {UNCHANGED}.")
        if code == "NoSuchBucket":
            return StorageAccessError(
                f"{where}: bucket {bucket!r} does not exist (NoSuchBucket); check the bucket name in "
                f"FINOPS_EXPORT_URI (and AWS_ENDPOINT_URL if you use an S3-compatible endpoint). {UNCHANGED}.")
        if code in S3_ACCESS_DENIED:
            return StorageAccessError(
                f"{where}: access denied ({code}) when trying to {action}: the AWS identity in use needs "
                f"{permission} on {resource}; grant it (IAM or bucket policy) or use credentials that have "
                f"it, then run again. {UNCHANGED}.")
        if code in S3_BAD_CREDENTIALS:
            return StorageAccessError(
                f"{where}: the AWS credentials were refused ({code}{': ' + text if text else ''}) when trying to "
                f"{action}; they are invalid or expired: renew them (`aws sso login`, a new session token or "
                f"access key) and run again. {UNCHANGED}.")
        if code in S3_THROTTLED:
            return StorageAccessError(
                f"{where}: S3 is throttling or unavailable ({code}) and still refused to {action} after {attempts} "
                "attempt(s); wait a few minutes and run again, or allow more retries (AWS_MAX_ATTEMPTS, "
                f"AWS_RETRY_MODE=adaptive). {UNCHANGED}.")
        return StorageAccessError(f"{where}: S3 refused to {action} ({code}{': ' + text if text else ''}). "
                                  f"{UNCHANGED}.")
    if isinstance(exc, (bce.NoCredentialsError, bce.PartialCredentialsError)):
        return StorageAccessError(
            f"{where}: no AWS credentials found to {action}; configure boto3's credential chain (AWS_PROFILE, "
            f"~/.aws/credentials, `aws sso login`, an instance role) and run again. {UNCHANGED}.")
    if isinstance(exc, (bce.CredentialRetrievalError, bce.TokenRetrievalError, bce.SSOTokenLoadError,
                        bce.UnauthorizedSSOTokenError)):
        return StorageAccessError(
            f"{where}: the AWS credentials could not be obtained to {action} ({exc}); they are expired or "
            f"misconfigured: renew them (`aws sso login`) and run again. {UNCHANGED}.")
    if isinstance(exc, (bce.ConnectionError, bce.HTTPClientError)) or type(exc).__name__ == "RetriesExceededError":
        return StorageAccessError(
            f"{where}: cannot reach S3 at {endpoint} to {action} ({exc}); check the network, the region and "
            f"AWS_ENDPOINT_URL, then run again. {UNCHANGED}.")
    if isinstance(exc, bce.BotoCoreError):
        return StorageAccessError(f"{where}: cannot {action}: {exc}. {UNCHANGED}.")
    return exc


def open_store(uri: str) -> ExportStore:
    if uri.startswith("s3://"):
        return S3Store(uri)
    if "://" in uri:
        raise IngestionError(f"export location {uri!r}: only s3:// URIs and local folders are supported")
    return LocalStore(Path(uri).expanduser())
