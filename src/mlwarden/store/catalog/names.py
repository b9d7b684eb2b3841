"""What the catalog accepts as names, references, labels and other caller-supplied strings.

Everything a user types (an artifact name, ``name:version``, a label) or a pipeline sends
(an entity reference such as ``run:train-7``) is checked here before it reaches a query, so
an odd string fails with a message that says what is allowed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from mlwarden.errors import UsageError

MAX_NAME = 200
MAX_VERSION = 2**31 - 1
MAX_LABELS = 64
MAX_SIGNATURE_BYTES = 1024 * 1024

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")
_KIND = re.compile(r"[a-z][a-z0-9_-]{0,31}")
_DIGEST = re.compile(r"[0-9a-f]{64}")
_LABEL_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,62}")
_ENTITY = re.compile(r"(?P<kind>[a-z][a-z0-9_-]{0,31}):(?P<id>[A-Za-z0-9][A-Za-z0-9._/@:-]{0,199})")
_RELATION = re.compile(r"[a-z][a-z0-9_]{0,63}")
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}")
_CREATOR = re.compile(r"[^\x00-\x1f\x7f]{1,255}")
_LABEL_VALUE = re.compile(r"[^\x00-\x1f\x7f]{0,255}")
_NAME_RULES = (
    f"up to {MAX_NAME} letters, digits and . _ / -, starting with a letter or digit, "
    "with no '..', '//' or trailing '/'"
)


def check_name(name: str) -> str:
    """An artifact name such as ``fraud/model`` or ``customers-2026.parquet``."""
    if (
        not isinstance(name, str)
        or len(name) > MAX_NAME
        or _NAME.fullmatch(name) is None
        or ".." in name
        or "//" in name
        or name.endswith("/")
    ):
        raise UsageError(f"artifact name {_show(name)}", "is not allowed", f"use {_NAME_RULES}")
    return name


def parse_reference(reference: str) -> tuple[str, int | None]:
    """``name`` or ``name:version`` → (name, version or None for the latest)."""
    if not isinstance(reference, str):
        raise UsageError(f"artifact {_show(reference)}", "is not a reference", "use NAME[:VERSION]")
    name, colon, version = reference.rpartition(":")
    if not colon:
        return check_name(reference), None
    if not version.isdigit() or len(version) > 10 or not 1 <= int(version) <= MAX_VERSION:
        raise UsageError(
            f"artifact {_show(reference)}",
            f"version {_show(version)} is not a positive whole number",
            "use NAME:VERSION, e.g. fraud-model:3, or NAME alone for the latest version",
        )
    return check_name(name), int(version)


def check_kind(kind: str) -> str:
    """An artifact kind: ``model``, ``dataset``, ``file``, ``folder``, ``attestation``..."""
    if not isinstance(kind, str) or _KIND.fullmatch(kind) is None:
        raise UsageError(
            f"artifact kind {_show(kind)}",
            "is not allowed",
            "use a lowercase word such as model, dataset, file or folder",
        )
    return kind


def check_digest(digest: str) -> str:
    """A lowercase hex SHA-256 digest."""
    if not isinstance(digest, str) or _DIGEST.fullmatch(digest) is None:
        raise UsageError(
            f"digest {_show(digest)}",
            "is not a SHA-256 digest",
            "pass 64 lowercase hex digits",
        )
    return digest


def check_labels(labels: Mapping[str, str] | None) -> dict[str, str]:
    """Labels as a plain dict; keys like names (up to 63 characters), values up to 255."""
    if labels is None:
        return {}
    if len(labels) > MAX_LABELS:
        raise UsageError("labels", f"more than {MAX_LABELS} were given", "keep fewer labels")
    checked: dict[str, str] = {}
    for key, value in labels.items():
        check_label_key(key)
        if not isinstance(value, str) or _LABEL_VALUE.fullmatch(value) is None:
            raise UsageError(
                f"label {key}",
                "has a value that is not text of up to 255 characters without control characters",
                "shorten the value or remove control characters",
            )
        checked[key] = value
    return checked


def check_label_key(key: str) -> str:
    """A label key: letters, digits and ``. _ / -``, up to 63 characters."""
    if not isinstance(key, str) or _LABEL_KEY.fullmatch(key) is None:
        raise UsageError(
            f"label key {_show(key)}",
            "is not allowed",
            "use up to 63 letters, digits and . _ / -, starting with a letter or digit",
        )
    return key


def check_entity(reference: str) -> str:
    """A lineage endpoint: ``artifact:42``, ``run:train-2026-11-27``, ``deployment:prod/eu``."""
    if not isinstance(reference, str) or _ENTITY.fullmatch(reference) is None:
        raise UsageError(
            f"lineage reference {_show(reference)}",
            "is not KIND:ID",
            "use e.g. artifact:42 (an artifact's .ref), run:train-7 or deployment:prod",
        )
    if reference.startswith("artifact:") and not reference[9:].isdigit():
        raise UsageError(
            f"lineage reference {_show(reference)}",
            "names an artifact by something other than its id",
            "use the artifact record's .ref, e.g. artifact:42",
        )
    return reference


def check_relation(relation: str) -> str:
    """A lineage relation such as ``trained``, ``produced``, ``deployed``, ``derived``."""
    if not isinstance(relation, str) or _RELATION.fullmatch(relation) is None:
        raise UsageError(
            f"lineage relation {_show(relation)}",
            "is not allowed",
            "use a lowercase word with '_', e.g. trained, produced, deployed",
        )
    return relation


def check_media_type(media_type: str | None) -> str | None:
    """An IANA-style ``type/subtype`` (lowercase, no parameters), or None."""
    if media_type is None:
        return None
    if not isinstance(media_type, str) or _MEDIA_TYPE.fullmatch(media_type) is None:
        raise UsageError(
            f"media type {_show(media_type)}",
            "is not a lowercase type/subtype",
            "e.g. application/octet-stream or application/vnd.mlwarden.folder+tar",
        )
    return media_type


def check_creator(creator: str) -> str:
    """Who stored the artifact: 1 to 255 characters without control characters."""
    if not isinstance(creator, str) or _CREATOR.fullmatch(creator) is None:
        raise UsageError(
            f"creator {_show(creator)}",
            "is empty, too long or contains control characters",
            "pass the user or service identity, up to 255 characters",
        )
    return creator


def check_text(what: str, value: str, max_length: int) -> str:
    """Free text for an identifier column: 1 to ``max_length`` characters, no control characters."""
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= max_length
        or _CREATOR.fullmatch(value) is None
    ):
        raise UsageError(
            what,
            f"{_show(value)} is empty, longer than {max_length} or contains control characters",
            "pass the identifier the key provider or backend returned",
        )
    return value


def check_bytes(what: str, value: bytes, min_length: int, max_length: int) -> bytes:
    """Bytes of a bounded length (a wrapped key, a blob id, a signature bundle)."""
    if not isinstance(value, bytes | bytearray | memoryview):
        raise UsageError(what, f"is {type(value).__name__}, not bytes", "pass bytes")
    data = bytes(value)
    if not min_length <= len(data) <= max_length:
        raise UsageError(
            what,
            f"is {len(data)} bytes long, outside {min_length}..{max_length}",
            "pass the value the crypto layer produced",
        )
    return data


def check_size(what: str, value: int) -> int:
    """A byte count: a non-negative int that fits a 64-bit column."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**63:
        raise UsageError(what, f"{value!r} is not a byte count", "pass a non-negative integer")
    return value


def _show(value: object) -> str:
    """A value for an error message: quoted, and cut short so hostile input cannot flood it."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
