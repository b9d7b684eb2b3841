"""Vault throughput and memory: store put/get of a large artifact against raw AES-GCM.

    .venv/bin/python benchmarks/vault_bench.py [--size-mib 1024] [--chunk-mib 1]

In one run on the same file: raw AES-256-GCM (``cryptography``, 1 MiB chunks, reading the
file), raw SHA-256, then ``Vault.put`` and ``Vault.get`` (SQLite catalog, local blob
folder), each in a fresh child process that reports its wall time and how much its peak
resident memory grew during the operation (the kernel's peak is reset just before).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MIB = 1 << 20


def _make_file(path: Path, size: int) -> None:
    block = os.urandom(16 * MIB)
    with path.open("wb") as fh:
        left = size
        while left:
            n = min(left, len(block))
            fh.write(block[:n])
            left -= n


def _raw_aes(path: Path, chunk: int) -> float:
    aes = AESGCM(AESGCM.generate_key(bit_length=256))
    buf = bytearray(chunk)
    start = time.perf_counter()
    with path.open("rb", buffering=0) as fh:
        index = 0
        while n := fh.readinto(buf):
            aes.encrypt(index.to_bytes(12, "big"), memoryview(buf)[:n], b"")
            index += 1
    return time.perf_counter() - start


def _raw_sha(path: Path, chunk: int) -> float:
    digest = hashlib.sha256()
    buf = bytearray(chunk)
    start = time.perf_counter()
    with path.open("rb", buffering=0) as fh:
        while n := fh.readinto(buf):
            digest.update(memoryview(buf)[:n])
    return time.perf_counter() - start


def _raw_copy(path: Path, chunk: int) -> float:
    """Read the file and write a copy with fsync: the storage ceiling for put and get."""
    buf = bytearray(chunk)
    target = path.with_suffix(".copy")
    start = time.perf_counter()
    with path.open("rb", buffering=0) as src, target.open("wb", buffering=0) as dst:
        while n := src.readinto(buf):
            dst.write(memoryview(buf)[:n])
        os.fsync(dst.fileno())
    seconds = time.perf_counter() - start
    target.unlink()
    return seconds


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def child(op: str, workdir: Path, src: Path, chunk: int) -> None:
    """Run one vault operation and print JSON {seconds, peak_growth_mib, peak_rss_mib}."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "store"))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from database_targets import DatabaseTarget
    from vault_fixtures import open_test_vault

    target = DatabaseTarget("sqlite", f"sqlite:///{workdir / 'catalog.db'}", None)
    vault = open_test_vault(workdir / "keys", target, str(workdir / "blobs"), chunk_size=chunk)
    vault.catalog.list_artifacts()  # warm the connection
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak RSS counter
    base = _status_kib("VmRSS")
    start = time.perf_counter()
    if op == "put":
        vault.put(src, "bench/big", kind="dataset")
    else:
        out = workdir / "out.bin"
        out.unlink(missing_ok=True)
        vault.get("bench/big", out)
    seconds = time.perf_counter() - start
    peak = _status_kib("VmHWM")
    vault.close()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_growth_mib": (peak - base) / 1024,
                "peak_rss_mib": peak / 1024,
            }
        )
    )


def _run_child(op: str, workdir: Path, src: Path, chunk: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", op, str(workdir), str(src), str(chunk)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--chunk-mib", type=float, default=1.0)
    parser.add_argument(
        "--dir", default=".", help="Where the artifact, catalog and blobs go (e.g. /dev/shm)."
    )
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        op, workdir, src, chunk = args.child
        child(op, Path(workdir), Path(src), int(chunk))
        return
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "store"))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from vault_fixtures import make_parts

    size = args.size_mib * MIB
    chunk = int(args.chunk_mib * MIB)
    with tempfile.TemporaryDirectory(prefix="mlw-vault-bench-", dir=args.dir) as tmp:
        workdir = Path(tmp)
        src = workdir / "artifact.bin"
        _make_file(src, size)
        make_parts(workdir / "keys")
        _raw_sha(src, chunk)  # warm the page cache
        aes = min(_raw_aes(src, chunk) for _ in range(2))
        sha = min(_raw_sha(src, chunk) for _ in range(2))
        copy = _raw_copy(src, chunk)
        put = _run_child("put", workdir, src, chunk)
        get = _run_child("get", workdir, src, chunk)
    mb = size / 1e6
    print(
        f"artifact {args.size_mib} MiB, chunk {args.chunk_mib:g} MiB, {os.cpu_count()} CPUs, "
        f"storage {args.dir}"
    )
    print(f"{'operation':<34} {'MB/s':>8} {'% of raw AES-GCM':>17} {'peak growth MiB':>16}")
    print(f"{'raw AES-256-GCM (cryptography)':<34} {mb / aes:>8.0f} {100:>16.0f}% {'':>16}")
    print(f"{'raw SHA-256 (hashlib)':<34} {mb / sha:>8.0f} {100 * aes / sha:>16.0f}% {'':>16}")
    print(
        f"{'raw copy (read+write+fsync)':<34} {mb / copy:>8.0f} {100 * aes / copy:>16.0f}% {'':>16}"
    )
    for label, r in (("vault put (encrypt+hash+store)", put), ("vault get (decrypt+verify)", get)):
        rate = mb / r["seconds"]
        print(
            f"{label:<34} {rate:>8.0f} {100 * rate / (mb / aes):>16.0f}% "
            f"{r['peak_growth_mib']:>16.1f}"
        )
    print(
        f"(peak RSS of the put/get processes: {put['peak_rss_mib']:.0f} / "
        f"{get['peak_rss_mib']:.0f} MiB including the interpreter and libraries)"
    )


if __name__ == "__main__":
    main()
