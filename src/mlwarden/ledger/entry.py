"""Ledger entries and their canonical body, the bytes each Merkle leaf commits to.

A body is canonical JSON (sorted keys, no whitespace, UTF-8, no NaN) of the entry plus two
fields the ledger adds: ``seq``, the entry's own position, and ``prev``, the leaf hash of
the entry before it. ``seq`` makes a moved entry visible on its own; ``prev`` chains every
entry to its predecessor, so an entry whose body *and* leaf hash were rewritten is still
caught by the entry after it, without waiting for the next signed checkpoint.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

BODY_VERSION = 1
"""Version of the body layout, stored as ``v`` in every body."""

MAX_BODY_BYTES = 64 * 1024
"""Largest canonical body accepted, on write and on read."""

MAX_DETAILS_DEPTH = 16
"""Deepest nesting of lists and objects inside ``details``."""

MAX_TEXT = 512
"""Longest ``actor`` and ``artifact`` values (characters)."""

_TOKEN = re.compile(r"[a-z][a-z0-9_.:-]{0,63}")
_HEX_HASH = re.compile(r"[0-9a-f]{64}")
_BODY_KEYS = frozenset(
    {"v", "seq", "prev", "time", "actor", "action", "artifact", "decision", "details"}
)


class MalformedEntry(ValueError):
    """A stored body that the ledger could not have written (the message says why)."""


def _now() -> datetime:
    return datetime.now(UTC)


def _format_time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _check_json(value: object, depth: int, where: str) -> None:
    """Refuse anything canonical JSON cannot carry faithfully."""
    if value is None or isinstance(value, bool | int | str):
        return
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"{where} holds {value!r}, which JSON cannot represent")
        return
    if depth >= MAX_DETAILS_DEPTH:
        raise ValueError(f"{where} is nested deeper than {MAX_DETAILS_DEPTH} levels")
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_json(item, depth + 1, f"{where}[{index}]")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where} has the non-string key {key!r}")
            _check_json(item, depth + 1, f"{where}.{key}")
        return
    raise ValueError(f"{where} holds a {type(value).__name__}, which is not JSON")


# Built once: json.dumps/json.loads with options construct a new codec on every call.
_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)
_DECODER = json.JSONDecoder()


def canonical_json(value: object) -> bytes:
    """Canonical JSON bytes: sorted keys, no whitespace, UTF-8, no NaN or Infinity."""
    return _ENCODER.encode(value).encode("utf-8")


@dataclass(frozen=True)
class LedgerEntry:
    """One audited event: who did what to which artifact, and what was decided.

    Construction validates every field and raises ``ValueError`` naming the bad one, so an
    entry that exists can always be written. ``time`` is normalised to UTC; ``details`` is
    copied, so later changes to the caller's dict do not reach the ledger.
    """

    actor: str
    """Who acted: a user, service account or key id (1..512 characters)."""
    action: str
    """What was attempted, a lowercase dotted token such as ``store.put`` or ``model.load``."""
    decision: str
    """The outcome, a lowercase token such as ``allow``, ``deny`` or ``pass``."""
    artifact: str | None = None
    """The artifact acted on, e.g. ``artifact:42`` or ``model/resnet@3``; None if none."""
    details: Mapping[str, Any] = field(default_factory=dict)
    """Further JSON data (strings, numbers, booleans, null, lists, objects)."""
    time: datetime = field(default_factory=_now)
    """When it happened; must carry a time zone (stored as ISO-8601 UTC)."""

    def __post_init__(self) -> None:
        if not isinstance(self.actor, str) or not 0 < len(self.actor) <= MAX_TEXT:
            raise ValueError(f"actor must be 1..{MAX_TEXT} characters, got {self.actor!r:.80}")
        for name in ("action", "decision"):
            value = getattr(self, name)
            if not isinstance(value, str) or not _TOKEN.fullmatch(value):
                raise ValueError(
                    f"{name} must be a lowercase token such as 'store.put' or 'allow', "
                    f"got {value!r:.80}"
                )
        if self.artifact is not None and (
            not isinstance(self.artifact, str) or not 0 < len(self.artifact) <= MAX_TEXT
        ):
            raise ValueError(f"artifact must be None or 1..{MAX_TEXT} characters")
        if not isinstance(self.details, Mapping):
            raise ValueError("details must be a mapping of JSON values")
        _check_json(self.details, 0, "details")
        if not isinstance(self.time, datetime) or self.time.utcoffset() is None:
            raise ValueError("time must be a datetime with a time zone (use datetime.now(UTC))")
        # A deep copy through JSON both freezes the caller's data and proves it encodes.
        try:
            copied = json.loads(canonical_json(dict(self.details)))
        except (ValueError, UnicodeEncodeError) as exc:
            raise ValueError(f"details cannot be stored as canonical JSON: {exc}") from None
        object.__setattr__(self, "details", copied)
        object.__setattr__(self, "time", self.time.astimezone(UTC))


@dataclass(frozen=True)
class StoredEntry:
    """An entry as stored at a position of the ledger."""

    seq: int
    """0-based position (the Merkle leaf index)."""
    entry: LedgerEntry
    prev: bytes | None
    """Leaf hash of entry ``seq - 1`` as recorded in this body; None for the first entry."""
    body: bytes
    """The canonical body the leaf hash commits to."""
    leaf_hash: bytes
    """The leaf hash recorded next to the body."""


def encode_body(entry: LedgerEntry, seq: int, prev: bytes | None) -> bytes:
    """The canonical body of ``entry`` stored at ``seq`` after an entry with leaf hash ``prev``.

    Raises ``ValueError`` when the body would exceed :data:`MAX_BODY_BYTES`.
    """
    document = {
        "v": BODY_VERSION,
        "seq": seq,
        "prev": None if prev is None else prev.hex(),
        "time": _format_time(entry.time),
        "actor": entry.actor,
        "action": entry.action,
        "artifact": entry.artifact,
        "decision": entry.decision,
        "details": entry.details,
    }
    body = canonical_json(document)
    if len(body) > MAX_BODY_BYTES:
        raise ValueError(f"the entry encodes to {len(body)} bytes, over {MAX_BODY_BYTES}")
    return body


def _load_canonical(body: bytes) -> dict[str, Any]:
    """Parse a body and insist it is byte for byte what :func:`encode_body` writes.

    Re-encoding and comparing also rejects duplicate keys (the parser keeps one of them),
    NaN, extra whitespace, escapes and key order, all at the speed of the C JSON codec.
    """
    if len(body) > MAX_BODY_BYTES:
        raise MalformedEntry(f"the body is {len(body)} bytes, over {MAX_BODY_BYTES}")
    try:
        document = _DECODER.decode(body.decode("utf-8"))
        canonical = canonical_json(document)
    except (ValueError, RecursionError) as exc:
        raise MalformedEntry(f"the body is not valid canonical JSON ({exc})") from None
    if canonical != body:
        raise MalformedEntry("the body is not in canonical form")
    if not isinstance(document, dict) or document.keys() != _BODY_KEYS:
        raise MalformedEntry("the body does not have the ledger entry fields")
    return document


def _position(document: dict[str, Any]) -> tuple[int, bytes | None]:
    version, seq, prev_hex = document["v"], document["seq"], document["prev"]
    if type(version) is not int or version != BODY_VERSION:
        raise MalformedEntry(f"unknown body version {version!r:.40}")
    if type(seq) is not int or seq < 0:
        raise MalformedEntry("seq is not a non-negative integer")
    if prev_hex is None:
        return seq, None
    if not isinstance(prev_hex, str) or not _HEX_HASH.fullmatch(prev_hex):
        raise MalformedEntry("prev is not a 64-digit lowercase hex hash")
    return seq, bytes.fromhex(prev_hex)


def body_position(body: bytes) -> tuple[int, bytes | None]:
    """``(seq, prev)`` of a stored body, checking its canonical form and field types.

    The fast check the auditor runs on every entry; :func:`decode_body` validates fully.
    Raises :class:`MalformedEntry`.
    """
    document = _load_canonical(body)
    position = _position(document)
    if not (
        isinstance(document["actor"], str)
        and isinstance(document["time"], str)
        and isinstance(document["action"], str)
        and _TOKEN.fullmatch(document["action"])
        and isinstance(document["decision"], str)
        and _TOKEN.fullmatch(document["decision"])
        and (document["artifact"] is None or isinstance(document["artifact"], str))
        and isinstance(document["details"], dict)
    ):
        raise MalformedEntry("a field of the body has the wrong type or form")
    return position


def decode_body(body: bytes) -> tuple[int, bytes | None, LedgerEntry]:
    """Parse a stored body into ``(seq, prev, entry)``.

    Raises :class:`MalformedEntry` for anything :func:`encode_body` would not have produced
    byte for byte: oversized, invalid UTF-8, duplicate keys, missing or extra fields,
    non-canonical spacing or key order, invalid field values.
    """
    document = _load_canonical(body)
    seq, prev = _position(document)
    stamp = document["time"]
    if not isinstance(stamp, str):
        raise MalformedEntry("time is not a string")
    try:
        when = datetime.fromisoformat(stamp)
    except ValueError:
        raise MalformedEntry(f"time {stamp!r:.40} is not ISO-8601") from None
    if when.utcoffset() is None or _format_time(when) != stamp:
        raise MalformedEntry(f"time {stamp!r:.40} is not canonical UTC")
    try:
        entry = LedgerEntry(
            actor=document["actor"],
            action=document["action"],
            decision=document["decision"],
            artifact=document["artifact"],
            details=document["details"],
            time=when,
        )
    except ValueError as exc:
        raise MalformedEntry(str(exc)) from None
    return seq, prev, entry
