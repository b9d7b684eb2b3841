"""in-toto Statement v1: the typed form, its validation when read, and subject matching.

Specification: https://github.com/in-toto/attestation/tree/main/spec/v1 (statement.md,
resource_descriptor.md, digest_set.md). Reading validates what a consumer relies on and
ignores unknown fields, as the specification asks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mlwarden.store.signing.bounded_reading import check_size, parse_json_object
from mlwarden.store.signing.errors import SignatureError, SignatureFailure

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
"""The ``_type`` of every in-toto v1 Statement."""
IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
"""The DSSE payloadType of an in-toto Statement."""
MAX_STATEMENT_BYTES = 16 * 1024 * 1024
"""Largest serialised statement read."""
MAX_DIGEST_VALUE = 512
"""Longest digest value accepted (a SHA-512 is 128 hex characters)."""

# Hex lengths of the digest algorithms with a fixed size (in-toto digest_set.md).
_HEX_DIGEST_LENGTHS: dict[str, tuple[int, ...]] = {
    "sha1": (40,),
    "sha224": (56,),
    "sha256": (64,),
    "sha384": (96,),
    "sha512": (128,),
    "sha512_224": (56,),
    "sha512_256": (64,),
    "sha3_224": (56,),
    "sha3_256": (64,),
    "sha3_384": (96,),
    "sha3_512": (128,),
    "md5": (32,),
    "gitCommit": (40, 64),
    "gitTree": (40, 64),
    "gitBlob": (40, 64),
    "gitTag": (40, 64),
    "dirHash": (64,),
}
_LOWER_HEX = re.compile(r"[0-9a-f]+")


@dataclass(frozen=True)
class Subject:
    """One artifact a statement is about: a name and its digests."""

    name: str
    """The artifact's name (a file name, a model name)."""
    digest: Mapping[str, str] = field(default_factory=dict)
    """Algorithm → lowercase hex value, e.g. ``{"sha256": "9f86…"}``; never empty."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of this subject."""
        return {"name": self.name, "digest": dict(self.digest)}


@dataclass(frozen=True)
class Statement:
    """An in-toto v1 Statement: subjects and a typed predicate about them.

    ``predicate`` is the parsed JSON object; treat it as read-only (``to_dict`` copies it).
    """

    subjects: tuple[Subject, ...]
    predicate_type: str
    """A URI naming the predicate's schema, e.g. ``https://slsa.dev/provenance/v1``."""
    predicate: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, with ``_type`` set."""
        return {
            "_type": STATEMENT_TYPE,
            "subject": [s.to_dict() for s in self.subjects],
            "predicateType": self.predicate_type,
            "predicate": json.loads(json.dumps(self.predicate)),
        }

    def to_json(self) -> bytes:
        """UTF-8 JSON with sorted keys: the same statement always serialises alike."""
        return json.dumps(
            self.to_dict(),
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
        ).encode("utf-8")


def parse_statement(data: bytes, subject: str = "statement") -> Statement:
    """Parse and validate a serialised Statement (bounded, unambiguous JSON).

    Raises :class:`SignatureError` (``MALFORMED``) naming the first missing or invalid
    field; ``subject`` names the source in that message.
    """
    check_size(data, MAX_STATEMENT_BYTES, subject, "in-toto statement")
    return statement_from_dict(parse_json_object(data, subject, "in-toto statement"), subject)


def statement_from_dict(document: Mapping[str, Any], subject: str) -> Statement:
    """Validate a parsed Statement: ``_type``, non-empty ``subject`` list, predicate type."""
    statement_type = document.get("_type")
    if statement_type != STATEMENT_TYPE:
        raise malformed(subject, f"_type is {statement_type!r}, not the in-toto Statement v1 type")
    raw_subjects = document.get("subject")
    if not isinstance(raw_subjects, list) or not raw_subjects:
        raise malformed(subject, "the statement has no subject list")
    subjects = tuple(
        _subject_from_dict(raw, subject, f"subject[{index}]")
        for index, raw in enumerate(raw_subjects)
    )
    predicate_type = document.get("predicateType")
    if not isinstance(predicate_type, str) or not is_uri(predicate_type):
        raise malformed(subject, "predicateType is missing or not a URI")
    predicate = document.get("predicate", {})
    if not isinstance(predicate, dict):
        raise malformed(subject, "predicate is not an object")
    return Statement(subjects=subjects, predicate_type=predicate_type, predicate=predicate)


def check_resource_descriptor(value: object, subject: str, where: str) -> dict[str, Any]:
    """Validate an in-toto ResourceDescriptor: at least one of uri, digest, content."""
    if not isinstance(value, dict):
        raise malformed(subject, f"{where} is not an object")
    if not any(key in value for key in ("uri", "digest", "content")):
        raise malformed(subject, f"{where} has none of uri, digest, content")
    for key in ("uri", "name", "downloadLocation", "mediaType", "content"):
        if key in value and not isinstance(value[key], str):
            raise malformed(subject, f"{where}.{key} is not a string")
    if "digest" in value:
        check_digest_set(value["digest"], subject, f"{where}.digest")
    if "annotations" in value and not isinstance(value["annotations"], dict):
        raise malformed(subject, f"{where}.annotations is not an object")
    return value


def check_digest_set(value: object, subject: str, where: str) -> dict[str, str]:
    """Validate a DigestSet: non-empty, string values, lowercase hex for known algorithms."""
    if not isinstance(value, dict) or not value:
        raise malformed(subject, f"{where} is not a non-empty object")
    for algorithm, digest in value.items():
        if not isinstance(digest, str) or not digest or len(digest) > MAX_DIGEST_VALUE:
            raise malformed(subject, f"{where}.{algorithm} is not a digest string")
        lengths = _HEX_DIGEST_LENGTHS.get(algorithm)
        if lengths and (len(digest) not in lengths or not _LOWER_HEX.fullmatch(digest)):
            raise malformed(subject, f"{where}.{algorithm} is not a lowercase hex {algorithm}")
    return value


def check_subject(statement: Statement, digest: str, *, name: str | None = None) -> Subject:
    """Return the subject of ``statement`` whose digest matches; else raise.

    ``digest`` is ``"algorithm:hex"`` (``"sha256:9f86…"``) or bare hex, read as SHA-256.
    With ``name``, the matching subject must also carry that name. Raises
    :class:`SignatureError` with ``SUBJECT_MISMATCH`` when no subject matches.
    """
    algorithm, _, value = digest.rpartition(":")
    algorithm = algorithm or "sha256"
    value = value.lower()
    for candidate in statement.subjects:
        if candidate.digest.get(algorithm) == value and (name is None or candidate.name == name):
            return candidate
    named = f" named {name!r}" if name is not None else ""
    raise SignatureError(
        "statement",
        f"no subject{named} has {algorithm} digest {value[:16]}… "
        f"(subjects: {', '.join(s.name for s in statement.subjects)})",
        "check that this attestation belongs to this artifact",
        failure=SignatureFailure.SUBJECT_MISMATCH,
    )


def malformed(subject: str, problem: str) -> SignatureError:
    """A ``MALFORMED`` :class:`SignatureError` for an invalid statement field."""
    return SignatureError(
        subject,
        problem,
        "regenerate the attestation with a conforming tool",
        failure=SignatureFailure.MALFORMED,
    )


def _subject_from_dict(value: object, subject: str, where: str) -> Subject:
    if not isinstance(value, dict):
        raise malformed(subject, f"{where} is not an object")
    name = value.get("name", "")
    if not isinstance(name, str):
        raise malformed(subject, f"{where}.name is not a string")
    if "digest" not in value:
        raise malformed(subject, f"{where} has no digest")
    return Subject(name=name, digest=check_digest_set(value["digest"], subject, f"{where}.digest"))


def is_uri(value: object) -> bool:
    """Whether ``value`` is a string with a URI scheme and something after it."""
    if not isinstance(value, str):
        return False
    scheme, colon, rest = value.partition(":")
    return bool(colon and rest and re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme))
