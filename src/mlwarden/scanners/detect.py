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

_DEEP_PROBE_SUFFIXES = (".h5", ".hdf5", ".hdf", ".keras", ".zip", ".npz", *PICKLE_SUFFIXES)
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_IDL_SAVE_MAGIC = (b"SR\x00\x04", b"SR\x00\x06")


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


# A JSON object, also behind a UTF-8 BOM or in UTF-16/32 (json.loads reads them all).
_JSON_STARTS = (b"{", b"\xef\xbb\xbf{", b"\xff\xfe{\x00", b"\xfe\xff\x00{", b"{\x00")


def _is_hdf5(data: memoryview) -> bool:
    # libhdf5 finds its signature at 0 or after a user block of 512, 1024, 2048... bytes.
    offset = 0
    while offset + 8 <= len(data):
        if bytes(data[offset : offset + 8]) == _HDF5_MAGIC:
            return True
        offset = 512 if offset == 0 else offset * 2
    return False


def _is_tar(data: memoryview) -> bool:
    return len(data) >= 512 and bytes(data[257:262]) == b"ustar"


def detect(blob: Blob) -> str:
    """Name the format of ``blob`` (``unknown`` when nothing matches)."""
    data = blob.view()
    head = bytes(data[:16])
    name = blob.name.lower()
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "zip"
    # Before the pickle test: a safetensors header length such as 0x280 starts 80 02.
    # (The engine still reads such files as pickles too, see engine._polyglot_pickle.)
    if _is_safetensors(data) or name.endswith(".safetensors"):
        return "safetensors"
    if len(head) >= 2 and head[0] == 0x80 and head[1] <= 5:
        return "pickle"
    if head.startswith(b"\x93NUMPY"):
        return "numpy"
    if head.startswith(b"GGUF"):
        return "gguf"
    # Probing far into a blob faults in pages (and their readahead): inside archives only
    # members whose names suggest it are probed beyond their first bytes, so the tensor
    # storages of a large checkpoint stay unread.
    deep = blob.depth == 0 or name.endswith(_DEEP_PROBE_SUFFIXES)
    if head.startswith(_HDF5_MAGIC) or (deep and _is_hdf5(data)):
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
    if head.startswith(b"\x5d\x00\x00") and name.endswith((".lzma", ".joblib", ".pkl")):
        return "lzma"
    if _is_zlib(head):
        return "zlib"
    if name.endswith(".onnx") or (not name.endswith(".pb") and _is_onnx(data)):
        return "onnx"
    if name.endswith(("saved_model.pb", "saved_model.pbtxt", "keras_metadata.pb")):
        return "tf-savedmodel"
    if head.startswith(b"PAR1"):
        from mlwarden.scanners.data.sniffers import looks_like_parquet

        if looks_like_parquet(data, name):
            return "parquet"
    if head.startswith(_IDL_SAVE_MAGIC):
        # IDL save files (scipy.io.readsav) share the .sav suffix with joblib dumps; their
        # "SR" record marker would otherwise read as a malformed protocol-0 pickle.
        return "unknown"
    if name.endswith(PICKLE_SUFFIXES) and head[:1] and head[0] in VALID_OPCODES:
        return "pickle"
    text_format = _text_format(data, name, blob.depth)
    if text_format is not None:
        return text_format
    if name.endswith((".json", ".keras")) or head.lstrip().startswith(_JSON_STARTS):
        return "json"
    if deep and has_zip_directory(data):
        return "zip"
    return "unknown"


# Names that say "program text": scanned for secrets, not for personal data.
_SOURCE_SUFFIXES = (
    ".py",
    ".pyi",
    ".sh",
    ".bash",
    ".zsh",
    ".js",
    ".mjs",
    ".ts",
    ".go",
    ".java",
    ".kt",
    ".scala",
    ".r",
    ".jl",
    ".rb",
    ".php",
    ".rs",
    ".c",
    ".cc",
    ".cpp",
    ".h",
    ".hpp",
    ".cs",
    ".swift",
    ".sql",
    ".tf",
    ".tfvars",
    ".hcl",
    ".cfg",
    ".conf",
    ".toml",
    ".xml",
    ".gradle",
    ".ps1",
    ".bat",
    ".lua",
    ".pl",
    ".groovy",
    ".env",
    # Markup and generated sources: secrets can hide there, personal data hardly.
    ".svg",
    ".css",
    ".pyx",
    ".pxd",
    ".pxi",
)
_DATA_SUFFIXES = (".csv", ".tsv", ".tab", ".jsonl", ".ndjson", ".jsonlines")
_TEXT_SNIFF = 8192


_MEMBER_TEXT_SUFFIXES = (
    *_SOURCE_SUFFIXES,
    *_DATA_SUFFIXES,
    ".txt",
    ".md",
    ".rst",
    ".log",
    ".ipynb",
    ".yaml",
    ".yml",
    ".ini",
    ".properties",
    ".json",
)


def _text_format(data: memoryview, name: str, depth: int = 0) -> str | None:
    """The format of a text file: notebook, an ML-infrastructure config, a data table,
    JSON (left to the caller), program source, or plain text. None for binary data."""
    base = name.rsplit("/", 1)[-1].rsplit("!", 1)[-1]
    if depth > 0 and not (
        base.endswith(_MEMBER_TEXT_SUFFIXES) or base.startswith(("Dockerfile", ".env"))
    ):
        # Inside archives only members named as text are read as text: a checkpoint's
        # `version` and `byteorder` records are not documents (and stay cheap to scan).
        return None
    from mlwarden.scanners.code.text_sniff import looks_like_notebook, looks_like_source

    head = bytes(data[:_TEXT_SNIFF])
    json_named = base.endswith((".json", ".keras"))
    maybe_notebook = base.endswith(".ipynb") or (head.lstrip()[:1] == b"{" and not json_named)
    if maybe_notebook and looks_like_notebook(name, head):
        return "notebook"
    from mlwarden.scanners.data import sniffers

    is_text = looks_like_source(name, head) or sniffers.looks_like_text(data, name)
    if not is_text:
        return None
    from mlwarden.scanners.config.sniffing import sniff_config_format

    source_named = base.endswith(_SOURCE_SUFFIXES)
    # A .py file that embeds a manifest in a string is code, not a manifest.
    config = sniff_config_format(name, head, by_content=not source_named)
    if config is not None:
        return config
    if json_named:
        return None  # JSON: model configs and other documents (the caller decides)
    if base.endswith(_DATA_SUFFIXES):
        return sniffers.data_format(data, name)
    if source_named:
        return "source"
    if sniffers.looks_like_jsonl(data, name):
        return "jsonl"
    if head.lstrip()[:1] in (b"{", b"["):
        return None  # one JSON document
    if sniffers.looks_like_tsv(data, name):
        return "tsv"
    if sniffers.looks_like_csv(data, name):
        return "csv"
    return "text"


def _is_onnx(data: memoryview) -> bool:
    # A zip-prefixed polyglot stays a zip: loaders that search for the zip directory
    # would otherwise run a pickle the ONNX scanner never looks at.
    if not data or data[0] != 0x08:  # ModelProto starts with ir_version (field 1, varint)
        return False
    from mlwarden.scanners.model.onnx_format import looks_like_onnx

    return looks_like_onnx(data) and not has_zip_directory(data)


def has_zip_directory(data: memoryview) -> bool:
    """True when an end-of-central-directory record sits in the last 64 KiB."""
    # A zip whose first bytes are something else (self-extracting or prefixed archives) is
    # still opened by zip readers that search for the end-of-central-directory record.
    tail = bytes(data[-65_557:])
    return len(data) >= 22 and b"PK\x05\x06" in tail
