"""Ledger entries and the canonical bodies their leaves commit to."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from mlwarden.ledger.entry import (
    MAX_BODY_BYTES,
    LedgerEntry,
    MalformedEntry,
    body_position,
    decode_body,
    encode_body,
)

WHEN = datetime(2026, 11, 27, 22, 42, 5, 123456, tzinfo=UTC)
PREV = bytes(range(32))


def _entry(**overrides: object) -> LedgerEntry:
    fields: dict[str, object] = {
        "actor": "alice@example.com",
        "action": "store.put",
        "decision": "allow",
        "artifact": "model/résnet@3",
        "details": {"size": 12, "tags": ["a", "b"], "score": 0.5, "ok": True, "none": None},
        "time": WHEN,
    }
    fields.update(overrides)
    return LedgerEntry(**fields)  # type: ignore[arg-type]


def test_the_body_is_canonical_json_with_position_and_chain() -> None:
    body = encode_body(_entry(), 7, PREV)
    assert (
        body
        == (
            '{"action":"store.put","actor":"alice@example.com","artifact":"model/résnet@3",'
            '"decision":"allow","details":{"none":null,"ok":true,"score":0.5,"size":12,'
            f'"tags":["a","b"]}},"prev":"{PREV.hex()}","seq":7,'
            '"time":"2026-11-27T22:42:05.123456Z","v":1}'
        ).encode()
    )
    seq, prev, entry = decode_body(body)
    assert (seq, prev, entry) == (7, PREV, _entry())
    assert body_position(body) == (7, PREV)


def test_the_first_entry_has_no_predecessor_and_times_become_utc() -> None:
    local = WHEN.astimezone(timezone(timedelta(hours=5, minutes=30)))
    body = encode_body(_entry(time=local), 0, None)
    assert b'"prev":null' in body and b'"time":"2026-11-27T22:42:05.123456Z"' in body
    assert decode_body(body)[2].time == WHEN


def test_details_are_copied_so_later_changes_do_not_reach_the_ledger() -> None:
    details: dict[str, object] = {"tags": ["a"]}
    entry = _entry(details=details)
    details["tags"].append("b")  # type: ignore[attr-defined]
    details["new"] = 1
    assert entry.details == {"tags": ["a"]}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("actor", ""),
        ("actor", "x" * 513),
        ("action", "Store.Put"),
        ("action", "store put"),
        ("decision", ""),
        ("artifact", ""),
        ("details", {"x": float("nan")}),
        ("details", {"x": b"bytes"}),
        ("details", {1: "non-string key"}),
        ("details", {"x": {"y"}}),
        ("details", {"x": "\ud800"}),  # a lone surrogate cannot be UTF-8
        ("time", datetime(2026, 1, 1)),  # no time zone
    ],
)
def test_invalid_entries_are_refused_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(ValueError):
        _entry(**{field: value})


def test_deep_or_oversized_details_are_refused() -> None:
    nested: object = "leaf"
    for _ in range(20):
        nested = [nested]
    with pytest.raises(ValueError, match="nested deeper"):
        _entry(details={"x": nested})
    with pytest.raises(ValueError, match="over"):
        encode_body(_entry(details={"x": "y" * MAX_BODY_BYTES}), 0, None)


def _reencode(body: bytes, **changes: object) -> bytes:
    document = json.loads(body)
    document.update(changes)
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b.replace(b'"seq":7', b'"seq": 7'),  # whitespace
        lambda b: b.replace(b'"actor"', b'"actor":"x","actor"'),  # duplicate key
        lambda b: b.replace(b'"score":0.5', b'"score":NaN'),
        lambda b: b.replace(b"r\xc3\xa9snet", b"r\\u00e9snet"),  # escaped instead of UTF-8
        lambda b: b.replace(b"r\xc3\xa9snet", b"r\xe9snet"),  # not UTF-8
        lambda b: _reencode(b, extra=1),
        lambda b: _reencode(b, v=2),
        lambda b: _reencode(b, seq=-1),
        lambda b: _reencode(b, seq="7"),
        lambda b: _reencode(b, prev="ab"),
        lambda b: _reencode(b, prev=PREV.hex().upper()),
        lambda b: _reencode(b, action="DELETE"),
        lambda b: _reencode(b, details=[1]),
        lambda b: b"[" * 40_000 + b"]" * 40_000,
        lambda b: b" " * (MAX_BODY_BYTES + 1),
    ],
)
def test_bodies_the_ledger_could_not_have_written_are_malformed(mutate: object) -> None:
    body = encode_body(_entry(), 7, PREV)
    bad = mutate(body)  # type: ignore[operator]
    assert bad != body
    with pytest.raises(MalformedEntry):
        decode_body(bad)
    with pytest.raises(MalformedEntry):
        body_position(bad)


def test_a_time_in_another_spelling_is_malformed() -> None:
    # The auditor's fast check reads only the position; the full decode checks the time.
    body = _reencode(encode_body(_entry(), 7, PREV), time="2026-11-27T22:42:05.123456+00:00")
    assert body_position(body) == (7, PREV)
    with pytest.raises(MalformedEntry, match="not canonical UTC"):
        decode_body(body)
