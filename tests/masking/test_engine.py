"""The masking engine: every format round trip, joins, atomic output, hostile input.

These tests use the regex detector from ``conftest.py`` so they check the engine's
mechanics; ``test_rescan.py`` checks the result against the real detector.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from detector_stub import RegexDetector

from mlwarden.errors import UsageError
from mlwarden.masking.engine import mask_file
from mlwarden.masking.keys import KeySource, MaskKey
from mlwarden.masking.limits import MaskLimits
from mlwarden.masking.operators import Pseudonym
from mlwarden.masking.policy import MaskPolicy, default_policy, load_policy

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

CARD = "4111 1111 1111 1111"
POLICY = """\
version: 1
entities:
  email: {operator: pseudonym, normalize: casefold}
  credit_card: card_surrogate
columns:
  - {match: ssn, operator: partial, keep_last: 4}
  - {match: internal, operator: drop}
  - {match: sku, operator: keep}
  - {match: zip, operator: zip3}
"""

WritePolicy = Callable[..., Path]


@pytest.fixture
def key_source(key: MaskKey) -> KeySource:
    return lambda: key


@pytest.fixture
def policy(write_policy: WritePolicy) -> MaskPolicy:
    return load_policy(write_policy(POLICY))


def _mask(
    src: Path,
    dst: Path,
    policy: MaskPolicy,
    key_source: KeySource,
    detector: Any,
    **kwargs: Any,
) -> Any:
    return mask_file(src, dst, policy, key_source=key_source, detector=detector, **kwargs)


def _token(key: MaskKey, email: str) -> str:
    return Pseudonym(key, normalize="casefold").apply(email)


# -- round trips -----------------------------------------------------------------------------


def test_csv_round_trip_applies_rules_and_detection(
    tmp_path: Path, policy: MaskPolicy, key: MaskKey, key_source: KeySource
) -> None:
    src = tmp_path / "people.csv"
    src.write_text(
        "name,ssn,internal,sku,zip,notes\r\n"
        f'Ann,123-45-6789,secret,AB-1,02139,"mail Ann@Example.com, card {CARD}"\r\n'
        "Bob,987-65-4321,x,AB-2,03601,nothing here\r\n",
        encoding="utf-8",
    )
    dst = tmp_path / "out.csv"
    summary = _mask(src, dst, policy, key_source, RegexDetector())
    raw = dst.read_bytes()
    assert raw.count(b"\r\n") == 3  # line endings kept
    rows = list(csv.reader(io.StringIO(raw.decode())))
    assert rows[0] == ["name", "ssn", "sku", "zip", "notes"]  # internal dropped
    assert rows[1][:4] == ["Ann", "***-**-6789", "AB-1", "021"]
    assert rows[2][1:4] == ["***-**-4321", "AB-2", "000"]
    assert _token(key, "ann@example.com") in rows[1][4]
    assert "Example.com" not in rows[1][4] and "4111" not in rows[1][4][-19:]
    assert rows[2][4] == "nothing here"
    assert summary.rows == 2
    assert summary.dropped_columns == ("internal",)
    assert summary.replacements[("column ssn", "partial")] == 2
    assert summary.replacements[("email", "pseudonym")] == 1
    assert summary.replacements[("credit_card", "card_surrogate")] == 1


def test_tsv_keeps_tabs_and_bom(tmp_path: Path, policy: MaskPolicy, key_source: KeySource) -> None:
    src = tmp_path / "a.tsv"
    src.write_bytes("\ufeffssn\tnote\n123-45-6789\tcall 212-555-0188\n".encode())
    dst = tmp_path / "b.tsv"
    _mask(src, dst, policy, key_source, RegexDetector())
    text = dst.read_bytes()
    assert text.startswith("\ufeff".encode())
    lines = text.decode("utf-8-sig").splitlines()
    assert lines[0] == "ssn\tnote"
    masked_ssn, note = lines[1].split("\t")
    assert masked_ssn == "***-**-6789"
    assert "212-555-0188" not in note and note.startswith("call tok_")


def test_jsonl_masks_nested_paths_lists_and_keys(
    tmp_path: Path, policy: MaskPolicy, key: MaskKey, key_source: KeySource
) -> None:
    records = [
        {"user": {"email": "a@x.io", "ssn": "123-45-6789", "internal": 1}, "n": 5},
        {"tags": ["b@x.io", "x", "y"], "counts": {"c@x.io": 3}, "ok": True, "none": None},
    ]
    src = tmp_path / "a.jsonl"
    src.write_text("\n".join(json.dumps(r) for r in records) + "\n\n", encoding="utf-8")
    dst = tmp_path / "b.jsonl"
    summary = _mask(src, dst, policy, key_source, RegexDetector())
    lines = dst.read_text(encoding="utf-8").split("\n")
    first, second = json.loads(lines[0]), json.loads(lines[1])
    assert first == {
        "user": {"email": _token(key, "a@x.io"), "ssn": "***-**-6789"},
        "n": 5,
    }
    assert second["tags"] == [_token(key, "b@x.io"), "x", "y"]  # too few e-mails to classify
    assert second["counts"] == {_token(key, "c@x.io"): 3}
    assert second["ok"] is True and second["none"] is None
    assert lines[2:] == ["", ""]  # the blank line is kept
    assert summary.rows == 2
    assert summary.dropped_columns == ("user.internal",)


def test_parquet_round_trip_keeps_types_and_retypes_masked_columns(
    tmp_path: Path, policy: MaskPolicy, key: MaskKey, key_source: KeySource
) -> None:
    table = pa.table(
        {
            "id": pa.array([1, 2, 3], pa.int64()),
            "ssn": pa.array(["123-45-6789", None, "987-65-4321"]),
            "zip": pa.array([2139, 90210, 89012], pa.int32()),
            "internal": pa.array(["a", "b", "c"]),
            "contact": pa.array(
                [{"email": "a@x.io", "phone": None}, None, {"email": None, "phone": "n/a"}],
                pa.struct([("email", pa.string()), ("phone", pa.string())]),
            ),
            "notes": pa.array([["ok", "b@x.io", "fine"], [], None], pa.list_(pa.string())),
            "score": pa.array([0.5, 1.5, None], pa.float64()),
        }
    )
    src = tmp_path / "a.parquet"
    pq.write_table(table, src, compression="zstd")
    dst = tmp_path / "b.parquet"
    summary = _mask(src, dst, policy, key_source, RegexDetector())
    out = pq.read_table(dst)
    assert out.column_names == ["id", "ssn", "zip", "contact", "notes", "score"]
    assert out.schema.field("id").type == pa.int64()
    assert out.schema.field("zip").type == pa.string()  # masked by an operator: now text
    assert out.schema.field("score").type == pa.float64()
    assert out.column("ssn").to_pylist() == ["***-**-6789", None, "***-**-4321"]
    assert out.column("zip").to_pylist() == ["[REDACTED:zip]", "902", "000"]  # 2139 lost a 0
    assert out.column("contact").to_pylist()[0] == {"email": _token(key, "a@x.io"), "phone": None}
    assert out.column("notes").to_pylist() == [["ok", _token(key, "b@x.io"), "fine"], [], None]
    assert out.column("score").to_pylist() == [0.5, 1.5, None]
    assert pq.ParquetFile(dst).metadata.row_group(0).column(0).compression == "ZSTD"
    assert summary.rows == 3


def test_parquet_streams_many_batches_into_row_groups(
    tmp_path: Path, policy: MaskPolicy, key_source: KeySource
) -> None:
    n = 2500
    src = tmp_path / "big.parquet"
    pq.write_table(
        pa.table({"ssn": [f"123-45-{i:04d}" for i in range(n)], "v": list(range(n))}),
        src,
        row_group_size=700,
    )
    dst = tmp_path / "out.parquet"
    limits = MaskLimits(chunk_rows=300, parquet_row_group_rows=1000)
    summary = _mask(src, dst, policy, key_source, RegexDetector(), limits=limits)
    out = pq.read_table(dst)
    assert summary.rows == n == out.num_rows
    assert out.column("v").to_pylist() == list(range(n))
    assert out.column("ssn").to_pylist()[-1] == f"***-**-{n - 1:04d}"
    assert pq.ParquetFile(dst).metadata.num_row_groups == 3


def test_plain_text_keeps_line_endings_and_masks_every_line(
    tmp_path: Path, policy: MaskPolicy, key: MaskKey, key_source: KeySource
) -> None:
    src = tmp_path / "a.log"
    src.write_bytes(b"user a@x.io logged in\r\nno pii\n\nlast b@x.io")
    dst = tmp_path / "b.log"
    summary = _mask(src, dst, policy, key_source, RegexDetector())
    expected = f"user {_token(key, 'a@x.io')} logged in\r\nno pii\n\nlast {_token(key, 'b@x.io')}"
    assert dst.read_bytes() == expected.encode()
    assert summary.rows == 4


def test_long_text_lines_are_masked_across_block_boundaries(
    tmp_path: Path, policy: MaskPolicy, key: MaskKey, key_source: KeySource
) -> None:
    words = [f"w{i} c{i}@x.io" for i in range(400)]
    line = " ".join(words)
    src = tmp_path / "a.txt"
    src.write_text(line + "\n" + line, encoding="utf-8")
    dst = tmp_path / "b.txt"
    limits = MaskLimits(text_block_chars=97, text_overlap_chars=40)
    _mask(src, dst, policy, key_source, RegexDetector(), limits=limits)
    out = dst.read_text(encoding="utf-8")
    assert "@x.io" not in out
    expected = " ".join(f"w{i} {_token(key, f'c{i}@x.io')}" for i in range(400))
    assert out == expected + "\n" + expected


# -- joins and determinism -------------------------------------------------------------------


def test_same_email_in_two_files_and_formats_gets_the_same_pseudonym(
    tmp_path: Path, policy: MaskPolicy, key_source: KeySource
) -> None:
    (tmp_path / "orders.csv").write_text("order,email\n1,Jane@Corp.com\n", encoding="utf-8")
    (tmp_path / "users.jsonl").write_text('{"email": "jane@corp.com"}\n', encoding="utf-8")
    _mask(tmp_path / "orders.csv", tmp_path / "o.csv", policy, key_source, RegexDetector())
    _mask(tmp_path / "users.jsonl", tmp_path / "u.jsonl", policy, key_source, RegexDetector())
    with (tmp_path / "o.csv").open(encoding="utf-8") as fh:
        from_csv = next(csv.DictReader(fh))["email"]
    from_jsonl = json.loads((tmp_path / "u.jsonl").read_text())["email"]
    assert from_csv == from_jsonl and from_csv.startswith("tok_")


def test_a_different_key_breaks_the_link(
    tmp_path: Path, policy: MaskPolicy, key_source: KeySource, other_key: MaskKey
) -> None:
    src = tmp_path / "a.csv"
    src.write_text("email\nj@c.io\n", encoding="utf-8")
    _mask(src, tmp_path / "1.csv", policy, key_source, RegexDetector())
    _mask(src, tmp_path / "2.csv", policy, lambda: other_key, RegexDetector())
    assert (tmp_path / "1.csv").read_text() != (tmp_path / "2.csv").read_text()


def test_classified_columns_are_masked_whole(
    tmp_path: Path, write_policy: WritePolicy, key: MaskKey, key_source: KeySource
) -> None:
    policy = load_policy(write_policy("version: 1\nentities: {email: redact}\n"))
    src = tmp_path / "a.csv"
    rows = "".join(f"u{i}@x.io\n" for i in range(9)) + "unknown\n"
    src.write_text("contact\n" + rows, encoding="utf-8")
    dst = tmp_path / "b.csv"
    summary = _mask(src, dst, policy, key_source, RegexDetector())
    assert dst.read_text().splitlines()[1:] == ["[REDACTED:email]"] * 10
    assert summary.classified_columns == {"contact": "email"}


def test_classification_can_be_turned_off(
    tmp_path: Path, write_policy: WritePolicy, key_source: KeySource
) -> None:
    text = "version: 1\nentities: {email: redact}\ndetection: {classify_columns: false}\n"
    src = tmp_path / "a.csv"
    src.write_text("contact\n" + "".join(f"u{i}@x.io\n" for i in range(9)) + "unknown\n")
    dst = tmp_path / "b.csv"
    _mask(src, dst, load_policy(write_policy(text)), key_source, RegexDetector())
    assert dst.read_text().splitlines()[-1] == "unknown"


def test_header_cells_that_hold_data_are_masked(
    tmp_path: Path, policy: MaskPolicy, key: MaskKey, key_source: KeySource
) -> None:
    src = tmp_path / "headless.csv"
    src.write_text("a@x.io,123-45-6789\nb@x.io,1\n", encoding="utf-8")
    dst = tmp_path / "b.csv"
    _mask(src, dst, policy, key_source, RegexDetector())
    assert "a@x.io" not in dst.read_text() and "123-45-6789" not in dst.read_text()


# -- keys --------------------------------------------------------------------------------------


def test_redact_only_policy_runs_without_a_key(tmp_path: Path, write_policy: WritePolicy) -> None:
    policy = load_policy(write_policy("version: 1\ndefault_action: redact\n"))

    def no_key() -> MaskKey:
        raise AssertionError("the key must not be fetched")

    src = tmp_path / "a.txt"
    src.write_text("mail a@x.io\n")
    _mask(src, tmp_path / "b.txt", policy, no_key, RegexDetector())
    assert (tmp_path / "b.txt").read_text() == "mail [REDACTED:email]\n"


def test_missing_key_fails_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlwarden.masking.keys import env_key_source

    monkeypatch.delenv("MLWARDEN_MASK_KEY", raising=False)
    src = tmp_path / "a.csv"
    src.write_text("email\na@x.io\n")
    with pytest.raises(UsageError, match="MLWARDEN_MASK_KEY"):
        mask_file(
            src, tmp_path / "b.csv", default_policy(), key_source=env_key_source(),
            detector=RegexDetector(),
        )  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv"]


# -- the input is sacred; the output is all or nothing -----------------------------------------


def test_input_is_never_modified(tmp_path: Path, policy: MaskPolicy, key_source: KeySource) -> None:
    src = tmp_path / "a.csv"
    src.write_text("email\na@x.io\n")
    before = (src.read_bytes(), src.stat().st_mtime_ns, src.stat().st_mode)
    _mask(src, tmp_path / "b.csv", policy, key_source, RegexDetector())
    assert (src.read_bytes(), src.stat().st_mtime_ns, src.stat().st_mode) == before


def test_output_that_is_the_input_is_refused(
    tmp_path: Path, policy: MaskPolicy, key_source: KeySource
) -> None:
    src = tmp_path / "a.csv"
    src.write_text("email\na@x.io\n")
    link = tmp_path / "link.csv"
    link.symlink_to(src)
    hard = tmp_path / "hard.csv"
    os.link(src, hard)
    for target in (src, tmp_path / "." / "a.csv", link, hard):
        with pytest.raises(UsageError, match="output is the input"):
            _mask(src, target, policy, key_source, RegexDetector(), overwrite=True)
    assert src.read_text() == "email\na@x.io\n"


def test_existing_output_needs_overwrite(
    tmp_path: Path, policy: MaskPolicy, key_source: KeySource
) -> None:
    src = tmp_path / "a.csv"
    src.write_text("email\na@x.io\n")
    dst = tmp_path / "b.csv"
    dst.write_text("keep me")
    with pytest.raises(UsageError, match="already exists"):
        _mask(src, dst, policy, key_source, RegexDetector())
    assert dst.read_text() == "keep me"
    _mask(src, dst, policy, key_source, RegexDetector(), overwrite=True)
    assert "tok_" in dst.read_text()


class _InterruptingDetector(RegexDetector):
    def __init__(self, after: int) -> None:
        super().__init__()
        self.after = after

    def detect(self, text: str, **kwargs: Any) -> Any:
        if self.calls >= self.after:
            raise KeyboardInterrupt
        return super().detect(text, **kwargs)


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "txt", "parquet"])
def test_interrupted_write_leaves_no_output_file(
    tmp_path: Path, policy: MaskPolicy, key_source: KeySource, fmt: str
) -> None:
    src = tmp_path / f"in.{fmt}"
    values = [f"row {i} u{i}@x.io" for i in range(3000)]
    if fmt == "csv":
        src.write_text("note\n" + "\n".join(values) + "\n")
    elif fmt == "jsonl":
        src.write_text("\n".join(json.dumps({"note": v}) for v in values) + "\n")
    elif fmt == "txt":
        src.write_text("\n".join(values) + "\n")
    else:
        pq.write_table(pa.table({"note": values}), src)
    dst = tmp_path / f"out.{fmt}"
    limits = MaskLimits(chunk_rows=100, parquet_row_group_rows=100)
    with pytest.raises(KeyboardInterrupt):
        _mask(src, dst, policy, key_source, _InterruptingDetector(2500), limits=limits)
    assert sorted(p.name for p in tmp_path.iterdir()) == [src.name, "policy.yaml"]


def test_output_file_is_private(tmp_path: Path, policy: MaskPolicy, key_source: KeySource) -> None:
    src = tmp_path / "a.csv"
    src.write_text("email\na@x.io\n")
    dst = tmp_path / "b.csv"
    _mask(src, dst, policy, key_source, RegexDetector())
    assert dst.stat().st_mode & 0o077 == 0


# -- hostile and malformed input ----------------------------------------------------------------


def _no_key() -> MaskKey:
    raise AssertionError("a redact-only policy must not fetch the key")


def _usage_error(tmp_path: Path, name: str, content: bytes, policy: MaskPolicy, **kw: Any) -> str:
    src = tmp_path / name
    src.write_bytes(content)
    with pytest.raises(UsageError) as caught:
        _mask(src, tmp_path / ("out-" + name), policy, _no_key, RegexDetector(), **kw)
    assert not (tmp_path / ("out-" + name)).exists()
    return str(caught.value)


def test_malformed_inputs_name_the_file_and_line(tmp_path: Path, policy: MaskPolicy) -> None:
    redact = load_policy(_policy_file(tmp_path, "version: 1\ndefault_action: redact\n"))
    message = _usage_error(tmp_path, "a.jsonl", b'{"a": 1}\n{"a": \n', redact)
    assert "a.jsonl" in message and "line 2" in message
    message = _usage_error(tmp_path, "b.jsonl", b'{"email": "x", "email": "a@x.io"}\n', redact)
    assert "duplicate key 'email'" in message
    message = _usage_error(tmp_path, "c.jsonl", b"[" * 100_000 + b"]" * 100_000 + b"\n", redact)
    assert "line 1" in message
    message = _usage_error(tmp_path, "d.csv", b"a,b\n1,2\n\xff\xfe\n", redact)
    assert "not UTF-8" in message
    message = _usage_error(tmp_path, "e.parquet", b"PAR1 not really", redact)
    assert "Parquet" in message
    message = _usage_error(tmp_path, "f.csv", b"a\n" + b"x" * 300 + b"\n", redact,
                           limits=MaskLimits(max_line_chars=200))  # fmt: skip
    assert "line 2 is longer than 200" in message
    message = _usage_error(tmp_path, "g.csv", b'a,b\n"unclosed' + b"x" * 200_000, redact)
    assert "g.csv" in message
    message = _usage_error(tmp_path, "h.csv", b",".join([b"c"] * 50) + b"\n", redact,
                           limits=MaskLimits(max_columns=10))  # fmt: skip
    assert "50 columns" in message


def test_format_problems_are_usage_errors(tmp_path: Path, policy: MaskPolicy) -> None:
    redact = load_policy(_policy_file(tmp_path, "version: 1\ndefault_action: redact\n"))
    assert "--format" in _usage_error(tmp_path, "data.bin", b"x", redact)
    assert "decompress" in _usage_error(tmp_path, "data.csv.gz", b"x", redact)
    assert "content is Parquet" in _usage_error(tmp_path, "x.csv", b"PAR1....", redact)
    with pytest.raises(UsageError, match="does not exist"):
        mask_file(tmp_path / "nope.csv", tmp_path / "o.csv", redact)


def test_text_format_can_be_forced(tmp_path: Path, write_policy: WritePolicy) -> None:
    policy = load_policy(write_policy("version: 1\ndefault_action: redact\n"))
    src = tmp_path / "notes.data"
    src.write_text("a@x.io\n")
    mask_file(src, tmp_path / "o.data", policy, format="text", detector=RegexDetector())
    assert (tmp_path / "o.data").read_text() == "[REDACTED:email]\n"


def _policy_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "txt"])
def test_memory_does_not_grow_with_the_file(
    tmp_path: Path, write_policy: WritePolicy, fmt: str
) -> None:
    import tracemalloc

    policy = load_policy(
        write_policy(
            "version: 1\ndefault_action: redact\ncolumns: [{match: note, operator: partial}]\n"
        )
    )

    def peak_for(rows: int) -> int:
        src = tmp_path / f"in{rows}.{fmt}"
        lines = (f"{i},customer {i} wrote about order {i * 7}" for i in range(rows))
        if fmt == "jsonl":
            lines = (json.dumps({"id": i, "note": f"order {i * 7}"}) for i in range(rows))
        src.write_text("id,note\n" * (fmt == "csv") + "\n".join(lines) + "\n")
        limits = MaskLimits(chunk_rows=100, cache_entries=100)
        tracemalloc.start()
        try:
            mask_file(src, tmp_path / f"out{rows}.{fmt}", policy, detector=RegexDetector(),
                      limits=limits)  # fmt: skip
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    peak_for(100)  # warm-up: first-use allocations are not per-row costs
    small, large = peak_for(1_000), peak_for(8_000)
    assert large < 1.5 * small, (small, large)


@pytest.mark.parametrize("name", ["e.csv", "e.jsonl", "e.txt", "header.csv", "e.parquet"])
def test_empty_inputs_give_empty_outputs_of_the_same_format(
    tmp_path: Path, policy: MaskPolicy, key_source: KeySource, name: str
) -> None:
    src = tmp_path / name
    if name == "e.parquet":
        pq.write_table(pa.table({"email": pa.array([], pa.string())}), src)
    else:
        src.write_text("a,b\n" if name == "header.csv" else "")
    dst = tmp_path / ("out-" + name)
    assert _mask(src, dst, policy, key_source, RegexDetector()).rows == 0
    if name == "e.parquet":
        assert pq.read_table(dst).num_rows == 0
    else:
        assert dst.read_text() == src.read_text()
