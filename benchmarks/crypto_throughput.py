"""Throughput of mlwarden's envelope encryption against the primitives it is made of.

Prints one table per chunk size: MB/s of raw AES-GCM over the same chunks (``AESGCM.encrypt``),
raw SHA-256, the two one after the other, and ``EnvelopeCipher`` encrypting and decrypting an
in-memory stream into a sink that discards what it is given. Each figure is the best of
``--repeat`` runs. Not a test: nothing is asserted.

    .venv/bin/python benchmarks/crypto_throughput.py [--mb 256] [--chunks 1,4] [--repeat 3]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import time
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mlwarden.store.crypto.envelope import EnvelopeCipher, new_blob_id, new_data_key

MiB = 1 << 20


class NullSink(io.RawIOBase):
    """A writable stream that keeps nothing (so the figures measure crypto, not disk)."""

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return memoryview(data).nbytes


def best_of(repeat: int, run: Callable[[], object]) -> float:
    """Shortest wall time of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def measure(data: bytes, chunk: int, repeat: int) -> list[tuple[str, float]]:
    """(label, MB/s) rows for one chunk size."""
    key = new_data_key()
    aead = AESGCM(key)
    view = memoryview(data)
    aad = bytes(39)  # the envelope's per-chunk associated data is 39 bytes long

    def raw_aes() -> None:
        for i, off in enumerate(range(0, len(view), chunk)):
            aead.encrypt(i.to_bytes(12, "big"), view[off : off + chunk], aad)

    def raw_sha() -> None:
        digest = hashlib.sha256()
        for off in range(0, len(view), chunk):
            digest.update(view[off : off + chunk])

    def raw_both() -> None:
        digest = hashlib.sha256()
        for i, off in enumerate(range(0, len(view), chunk)):
            piece = view[off : off + chunk]
            digest.update(piece)
            aead.encrypt(i.to_bytes(12, "big"), piece, aad)

    blob = io.BytesIO()
    info = EnvelopeCipher(chunk).encrypt_stream(io.BytesIO(data), blob, key, new_blob_id())
    sealed = blob.getvalue()

    def envelope_encrypt(parallel: bool) -> Callable[[], object]:
        cipher = EnvelopeCipher(chunk, parallel_hash=parallel)
        return lambda: cipher.encrypt_stream(io.BytesIO(data), NullSink(), key, new_blob_id())

    def envelope_decrypt(digest: str | None) -> Callable[[], object]:
        cipher = EnvelopeCipher(chunk)
        return lambda: cipher.decrypt_stream(
            io.BytesIO(sealed), NullSink(), key, info.blob_id, digest
        )

    mb = len(data) / MiB
    runs = [
        ("raw AESGCM.encrypt", raw_aes),
        ("raw SHA-256", raw_sha),
        ("raw SHA-256 then AESGCM.encrypt", raw_both),
        ("EnvelopeCipher.encrypt_stream", envelope_encrypt(True)),
        ("EnvelopeCipher.encrypt_stream, parallel_hash=False", envelope_encrypt(False)),
        ("EnvelopeCipher.decrypt_stream, digest checked", envelope_decrypt(info.sha256)),
        ("EnvelopeCipher.decrypt_stream, no digest", envelope_decrypt(None)),
    ]
    return [(label, mb / best_of(repeat, run)) for label, run in runs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=256, help="stream size in MiB (default 256)")
    parser.add_argument("--chunks", default="1,4", help="chunk sizes in MiB (default 1,4)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (default 3)")
    args = parser.parse_args()
    data = os.urandom(args.mb * MiB)
    print(f"{args.mb} MiB stream, best of {args.repeat}, {os.cpu_count()} CPUs")
    for chunk_mib in (int(c) for c in args.chunks.split(",")):
        rows = measure(data, chunk_mib * MiB, args.repeat)
        aes, sha = rows[0][1], rows[1][1]
        print(f"\nchunk {chunk_mib} MiB")
        print(f"| {'what':<52} | {'MB/s':>7} | {'vs AES-GCM':>10} | {'vs SHA-256':>10} |")
        print(f"|{'-' * 54}|{'-' * 9}|{'-' * 12}|{'-' * 12}|")
        for label, rate in rows:
            print(f"| {label:<52} | {rate:7.0f} | {rate / aes:10.0%} | {rate / sha:10.0%} |")


if __name__ == "__main__":
    main()
