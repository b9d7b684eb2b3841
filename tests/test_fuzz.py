"""Hostile bytes never crash the scanner: mutated pickles, zips and compressed streams."""

from __future__ import annotations

import io
import pickle
import zipfile
import zlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mutations import mutate

from mlwarden.engine import scan_blob
from mlwarden.findings import Location, ScanStatus
from mlwarden.scanners.base import Blob, ScanSettings

_DATA = {"w": [1.5, 2.5], "n": "layer", "t": (1, 2), "s": {1, 2}, "b": b"\x00\x01"}
SEEDS = [
    pickle.dumps(_DATA, protocol=p) for p in range(6)
] + [
    b"\x80\x02cos\nsystem\nq\x00X\x04\x00\x00\x00trueq\x01\x85q\x02Rq\x03.",
    zlib.compress(pickle.dumps(_DATA, protocol=4)),
]  # fmt: skip


def _zip(data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("archive/data.pkl", data)
        zf.writestr("archive/data/0", b"\x00" * 64)
    return buf.getvalue()


SEEDS.append(_zip(SEEDS[4]))


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    return mutate(draw, draw(st.sampled_from(SEEDS)))


def _scan(data: bytes, name: str) -> None:
    findings, status, fmt = scan_blob(Blob(data, Location(name), name), ScanSettings())
    assert isinstance(status, ScanStatus)
    assert fmt
    for f in findings:
        assert f.rule_id.startswith("MLW-")
        assert "scanner failed" not in f.title.lower(), f.evidence


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=mutated(), name=st.sampled_from(["model.pkl", "model.pt", "blob", "x.joblib"]))
def test_mutated_inputs_never_crash(data: bytes, name: str) -> None:
    _scan(data, name)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=2048), name=st.sampled_from(["a.pkl", "b.npy", "c.zip", "d"]))
def test_random_bytes_never_crash(data: bytes, name: str) -> None:
    _scan(data, name)
