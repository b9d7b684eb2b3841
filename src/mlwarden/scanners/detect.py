"""Format detection from content (magic bytes), with the file name only as a tie-breaker."""

from __future__ import annotations

import struct

from mlwarden.scanners.base import Blob
from mlwarden.scanners.model.pickle_vm import VALID_OPCODES

PICKLE_SUFFIXES = (
    ".pkl",
    ".pickle",
    ".pt",
    ".pth",
    ".bin",
    ".ckpt",
    ".joblib",
    ".sav",
    ".p",
    ".dat",
    ".data",
    ".model",
    ".mdl",
)

STRICT_PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".pt", ".pth", ".ckpt", ".sav")
"""Names that promise a pickle: a stream that fails to parse is reported as malformed."""

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def _is_zlib(head: bytes) -> bool:
    return (
        len(head) >= 2
        and head[0] == 0x78
        and head[1] in (0x01, 0x5E, 0x9C, 0xDA)
        and ((head[0] << 8) | head[1]) % 31 == 0
    )


def _is_safetensors(data: memoryview) -> bool:
    if len(data) < 10:
        return False
    (n,) = struct.unpack("<Q", data[:8])
    return 2 <= n <= len(data) - 8 and data[8] == ord("{")


def _is_tar(data: memoryview) -> bool:
    return len(data) >= 512 and bytes(data[257:262]) == b"ustar"


def detect(blob: Blob) -> str:
    """Name the format of ``blob`` (``unknown`` when nothing matches)."""
    data = blob.view()
    head = bytes(data[:16])
    name = blob.name.lower()
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "zip"
    if len(head) >= 2 and head[0] == 0x80 and head[1] <= 5:
        return "pickle"
    if head.startswith(b"\x93NUMPY"):
        return "numpy"
    if head.startswith(b"GGUF"):
        return "gguf"
    if head.startswith(_HDF5_MAGIC):
        return "hdf5"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"BZh"):
        return "bz2"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if head.startswith(b"\x04\x22\x4d\x18"):
        return "lz4"
    if head.startswith(b"ZF0x"):
        return "joblib-zfile"
    if _is_tar(data):
        return "tar"
    if _is_safetensors(data):
        return "safetensors"
    if head.startswith(b"\x5d\x00\x00") and name.endswith((".lzma", ".joblib", ".pkl")):
        return "lzma"
    if _is_zlib(head):
        return "zlib"
    if name.endswith(".onnx"):
        return "onnx"
    if name.endswith(("saved_model.pb", "saved_model.pbtxt")):
        return "tf-savedmodel"
    if name.endswith(".keras") or (name.endswith(".json") and head.lstrip().startswith(b"{")):
        return "json"
    if name.endswith(PICKLE_SUFFIXES) and head[:1] and head[0] in VALID_OPCODES:
        return "pickle"
    if _has_eocd(data):
        return "zip"
    return "unknown"


def _has_eocd(data: memoryview) -> bool:
    # A zip whose first bytes are something else (self-extracting or prefixed archives) is
    # still opened by zip readers that search for the end-of-central-directory record.
    tail = bytes(data[-65_557:])
    return len(data) >= 22 and b"PK\x05\x06" in tail
