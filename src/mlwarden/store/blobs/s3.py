"""Blobs in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW…), under an optional prefix.

boto3 is imported on first use (``pip install 'mlwarden[s3]'``). Credentials, profile and
default region come from boto3's usual sources (``AWS_ACCESS_KEY_ID`` /
``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``, instance roles); they are never part of the URL.

A write holds at most one part in memory: small blobs are sent with one ``PutObject`` at
commit, larger ones as a multipart upload that is completed on commit and aborted
otherwise, so S3's own atomicity means a key never shows a partial object.
"""

from __future__ import annotations

import io
import ipaddress
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO, Self
from urllib.parse import parse_qsl, urlsplit

from mlwarden.errors import UsageError
from mlwarden.store.blobs.interface import DEFAULT_ORPHAN_AGE, Bytes, WriterBase
from mlwarden.store.blobs.keys import BlobNotFoundError, check_key, is_valid_key

MiB = 1024 * 1024
MIN_PART_SIZE = 8 * MiB
"""Smallest part size accepted (S3's own floor is 5 MiB)."""
MAX_PART_SIZE = 256 * MiB
"""Largest base part size; parts grow up to 16x this for very large blobs."""
_MAX_PARTS = 10_000  # S3's limit per multipart upload
_PARTS_PER_STEP = 2_000  # the part size doubles every this many parts, four times at most
_READ_BUFFER = 1 * MiB

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_PREFIX_SEGMENT = re.compile(r"[A-Za-z0-9._-]{1,128}")
_URL_OPTIONS = ("endpoint", "region", "addressing", "part_mib", "insecure")
_NOT_FOUND = frozenset({"NoSuchKey", "NotFound", "404"})
_DENIED = frozenset(
    {"AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken"}
)
_URL_FIX = "write it as s3://bucket/optional/prefix?endpoint=https://host:port&region=REGION"


class S3Backend:
    """Blobs stored as ``<prefix>/<key>`` objects in ``bucket`` (which must exist).

    ``endpoint_url`` selects an S3-compatible server; plain ``http://`` is refused unless the
    host is loopback or ``allow_insecure_http`` is set. ``part_size`` (8 to 256 MiB) is the
    multipart part size and so the memory one write holds.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        addressing_style: str = "auto",
        part_size: int = MIN_PART_SIZE,
        allow_insecure_http: bool = False,
        client: Any = None,
    ) -> None:
        self.bucket = _check_bucket(bucket)
        self.prefix = _check_prefix(prefix)
        self.location = f"s3://{self.bucket}/{self.prefix}".rstrip("/")
        if endpoint_url is not None:
            _check_endpoint(endpoint_url, allow_insecure_http)
        if addressing_style not in ("auto", "path", "virtual"):
            raise UsageError(
                self.location,
                f"unknown addressing style {addressing_style!r}",
                "use auto, path or virtual",
            )
        if not MIN_PART_SIZE <= part_size <= MAX_PART_SIZE:
            raise UsageError(
                self.location,
                f"part size {part_size} is outside {MIN_PART_SIZE}..{MAX_PART_SIZE} bytes",
                "pick a part size between 8 and 256 MiB",
            )
        self.part_size = part_size
        self._endpoint_url = endpoint_url
        self._region = region
        self._addressing_style = addressing_style
        self._client_instance = client

    @classmethod
    def from_url(cls, url: str) -> Self:
        """``s3://bucket[/prefix][?endpoint=URL&region=R&addressing=path&part_mib=N&insecure=1]``."""
        parts = urlsplit(url)
        if "@" in parts.netloc:
            raise UsageError(
                "s3 URL",
                "contains credentials",
                "remove them from the URL and set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY "
                "or AWS_PROFILE in the environment",
            )
        if not parts.netloc or parts.fragment:
            raise UsageError(url, "names no bucket or carries a fragment", _URL_FIX)
        try:
            pairs = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
        except ValueError:
            raise UsageError(url, "has a malformed query string", _URL_FIX) from None
        options: dict[str, str] = {}
        for name, value in pairs:
            if name not in _URL_OPTIONS or name in options:
                raise UsageError(
                    url,
                    f"unknown or repeated option {name!r}",
                    f"options are {', '.join(_URL_OPTIONS)}, each at most once",
                )
            options[name] = value
        part_mib = options.get("part_mib", str(MIN_PART_SIZE // MiB))
        if not part_mib.isdigit() or len(part_mib) > 6:
            raise UsageError(
                url, f"part_mib={part_mib!r} is not a whole number", "e.g. part_mib=16"
            )
        insecure = options.get("insecure", "false").lower()
        if insecure not in ("true", "false", "1", "0"):
            raise UsageError(url, f"insecure={insecure!r} is not a boolean", "use true or false")
        return cls(
            parts.netloc,
            parts.path.strip("/"),
            endpoint_url=options.get("endpoint") or None,
            region=options.get("region") or None,
            addressing_style=options.get("addressing", "auto"),
            part_size=int(part_mib) * MiB,
            allow_insecure_http=insecure in ("true", "1"),
        )

    def open_writer(self, key: str) -> S3Writer:
        return S3Writer(self, check_key(key))

    def open_reader(self, key: str) -> BinaryIO:
        with self._errors(key):
            response = self._client().get_object(Bucket=self.bucket, Key=self._object(key))
        return io.BufferedReader(_BodyStream(response["Body"]), buffer_size=_READ_BUFFER)

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except BlobNotFoundError:
            return False
        return True

    def delete(self, key: str) -> None:
        with self._errors(key):
            self._client().delete_object(Bucket=self.bucket, Key=self._object(key))

    def size(self, key: str) -> int:
        with self._errors(key):
            response = self._client().head_object(Bucket=self.bucket, Key=self._object(key))
        return int(response["ContentLength"])

    def modified_at(self, key: str) -> datetime:
        """When the blob was committed (the object's Last-Modified time)."""
        with self._errors(key):
            response = self._client().head_object(Bucket=self.bucket, Key=self._object(key))
        when: datetime = response["LastModified"]
        return when if when.tzinfo else when.replace(tzinfo=UTC)

    def iter_keys(self) -> Iterator[str]:
        paginator = self._client().get_paginator("list_objects_v2")
        # The delimiter keeps objects of deeper prefixes (another store) out of the listing.
        pages = paginator.paginate(Bucket=self.bucket, Prefix=self._list_prefix, Delimiter="/")
        with self._errors(None):
            for page in pages:
                for item in page.get("Contents", ()):
                    name = item["Key"][len(self._list_prefix) :]
                    if is_valid_key(name):
                        yield name

    def sweep_orphans(self, older_than: timedelta = DEFAULT_ORPHAN_AGE) -> int:
        """Abort multipart uploads under the prefix started more than ``older_than`` ago.

        S3 gives no sign of whether an upload's writer is alive: ``older_than`` must exceed
        the longest upload any process may be running.
        """
        cutoff = datetime.now(UTC) - older_than
        client = self._client()
        paginator = client.get_paginator("list_multipart_uploads")
        removed = 0
        with self._errors(None):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self._list_prefix):
                for upload in page.get("Uploads", ()):
                    name = upload["Key"][len(self._list_prefix) :]
                    if not is_valid_key(name) or upload["Initiated"] > cutoff:
                        continue
                    client.abort_multipart_upload(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
                    removed += 1
        return removed

    @property
    def _list_prefix(self) -> str:
        return f"{self.prefix}/" if self.prefix else ""

    def _object(self, key: str) -> str:
        return self._list_prefix + check_key(key)

    def _client(self) -> Any:
        if self._client_instance is None:
            from botocore.config import Config

            config = Config(
                retries={"mode": "standard", "max_attempts": 5},
                s3={"addressing_style": self._addressing_style},
            )
            with _SESSION_LOCK:  # boto3 sessions are not thread-safe; the clients they make are
                self._client_instance = _shared_session().client(
                    "s3", endpoint_url=self._endpoint_url, region_name=self._region, config=config
                )
        return self._client_instance

    @contextmanager
    def _errors(self, key: str | None) -> Iterator[None]:
        """Turn boto's errors into messages that name the store, the problem and the fix."""
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        try:
            yield
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            if key is not None and code in _NOT_FOUND:
                raise BlobNotFoundError(self.location, key) from None
            if code == "NoSuchBucket":
                raise UsageError(
                    self.location, "the bucket does not exist", "create it or fix the URL"
                ) from None
            if code in _DENIED:
                raise UsageError(
                    self.location,
                    f"access was refused ({code})",
                    "check the credentials in the environment and the bucket policy",
                ) from None
            raise
        except NoCredentialsError:
            raise UsageError(
                self.location,
                "no S3 credentials were found",
                "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE",
            ) from None
        except BotoCoreError as exc:
            raise UsageError(
                self.location,
                f"the S3 service could not be used ({type(exc).__name__})",
                "check the endpoint, the network and the region",
            ) from None


class S3Writer(WriterBase):
    """A write buffered one part at a time; see :class:`~.interface.BlobWriter`."""

    def __init__(self, backend: S3Backend, key: str) -> None:
        super().__init__(key)
        self._backend = backend
        self._object = backend._object(key)
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []

    def _write(self, data: Bytes) -> None:
        self._buffer += data
        while len(self._buffer) >= self._next_part_size():
            size = self._next_part_size()
            part = bytes(self._buffer[:size])
            del self._buffer[:size]
            self._upload_part(part)

    def _commit(self) -> None:
        client = self._backend._client()
        with self._backend._errors(None):
            if self._upload_id is None:
                client.put_object(
                    Bucket=self._backend.bucket, Key=self._object, Body=bytes(self._buffer)
                )
            else:
                if self._buffer:
                    self._upload_part(bytes(self._buffer))
                client.complete_multipart_upload(
                    Bucket=self._backend.bucket,
                    Key=self._object,
                    UploadId=self._upload_id,
                    MultipartUpload={"Parts": self._parts},
                )
        self._buffer = bytearray()

    def _abort(self) -> None:
        self._buffer = bytearray()
        if self._upload_id is None:
            return
        from botocore.exceptions import ClientError

        try:
            self._backend._client().abort_multipart_upload(
                Bucket=self._backend.bucket, Key=self._object, UploadId=self._upload_id
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NoSuchUpload":
                raise

    def _next_part_size(self) -> int:
        step = min(4, len(self._parts) // _PARTS_PER_STEP)
        return self._backend.part_size << step

    def _upload_part(self, part: bytes) -> None:
        if len(self._parts) >= _MAX_PARTS:
            raise UsageError(
                f"{self._backend.location}/{self.key}",
                f"the blob needs more than {_MAX_PARTS} parts of up to "
                f"{self._backend.part_size << 4} bytes",
                "raise part_mib in the store URL",
            )
        client = self._backend._client()
        with self._backend._errors(None):
            if self._upload_id is None:
                response = client.create_multipart_upload(
                    Bucket=self._backend.bucket, Key=self._object
                )
                self._upload_id = str(response["UploadId"])
            number = len(self._parts) + 1
            response = client.upload_part(
                Bucket=self._backend.bucket,
                Key=self._object,
                UploadId=self._upload_id,
                PartNumber=number,
                Body=part,
            )
        self._parts.append({"ETag": response["ETag"], "PartNumber": number})


class _BodyStream(io.RawIOBase):
    """botocore's streaming body as a raw stream, so a ``BufferedReader`` can wrap it."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self._body.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


_SESSION_LOCK = threading.Lock()
_SESSIONS: list[Any] = []


def _shared_session() -> Any:
    """One boto3 session per process: it caches the S3 service model, which takes a few
    hundred milliseconds to load, so each new backend does not pay for it again."""
    if not _SESSIONS:
        import boto3

        _SESSIONS.append(boto3.session.Session())
    return _SESSIONS[0]


def _check_bucket(bucket: str) -> str:
    if _BUCKET.fullmatch(bucket) is None or ".." in bucket:
        raise UsageError(
            f"bucket {bucket[:80]!r}",
            "is not a valid S3 bucket name",
            "use 3-63 lowercase letters, digits, dots and hyphens",
        )
    return bucket


def _check_prefix(prefix: str) -> str:
    prefix = prefix.strip("/")
    if not prefix:
        return ""
    segments = prefix.split("/")
    if (
        len(prefix) > 512
        or any(_PREFIX_SEGMENT.fullmatch(s) is None for s in segments)
        or any(s in (".", "..") for s in segments)
    ):
        raise UsageError(
            f"prefix {prefix[:80]!r}",
            "is not a usable object prefix",
            "use folder names of letters, digits, '.', '_' and '-' separated by '/'",
        )
    return prefix


def _check_endpoint(endpoint: str, allow_insecure_http: bool) -> None:
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        raise UsageError(
            "S3 endpoint",
            "must be an http(s) URL with a host and no credentials",
            "e.g. endpoint=https://minio.internal:9000",
        )
    if parts.scheme == "http" and not allow_insecure_http and not _is_loopback(parts.hostname):
        raise UsageError(
            f"S3 endpoint {parts.scheme}://{parts.netloc}",
            "is plain HTTP to a host other than this machine",
            "use https://, or add insecure=true to the store URL if the network is trusted",
        )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
