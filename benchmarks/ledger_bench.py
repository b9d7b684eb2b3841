"""Ledger throughput: appends per second, proofs, and the full offline verification.

Run from the repository root::

    .venv/bin/python benchmarks/ledger_bench.py                 # 1,000,000 entries
    .venv/bin/python benchmarks/ledger_bench.py --entries 100000 --keep

It builds a SQLite catalog (as ``open_database`` makes it: WAL, ``synchronous=FULL``) in a
temporary folder, appends ``--entries`` entries with ``append_many`` in batches, signing a
checkpoint every ``--checkpoint-every`` entries, times one-by-one appends, proofs, the full
``Ledger.verify``, an export and ``verify_export``, and prints a table. Pure Merkle figures
(a streamed root over the same number of leaf hashes) come last, after the peak memory
of the database work is read. Nothing is asserted: this is a report.

Latest figures (2026-11-27, the project's 2-core machine, shared with other test runs at a
load average of about 3, so expect +-30%), ``.venv/bin/python benchmarks/ledger_bench.py``:

| measure                                                             | result            |
|---------------------------------------------------------------------|-------------------|
| append_many, batches of 10,000 (SQLite, WAL, synchronous=FULL)      | 14,000 entries/s  |
| checkpoint every 100,000 entries (prove extension, sign, store)     | 0.7 s each        |
| append, one entry per transaction                                   | 250 entries/s     |
| inclusion proof in 1,000,500 entries, first (reads every leaf hash) | 4.5 s             |
| inclusion proof, next ones (block roots kept)                       | 22 ms             |
| consistency proof, half to full (block roots kept)                  | 15 ms             |
| Ledger.verify, 1,000,500 entries, 11 checkpoints                    | 30 s (33,000/s)   |
| export (489 MB of JSON lines)                                       | 19 s              |
| verify_export                                                       | 33 s              |
| peak RSS of the whole benchmark process                             | 80 MB             |
| streamed Merkle root, 1,000,000 leaf hashes (no database)           | 0.8 s             |
| frontier appends, one leaf at a time (no database)                  | 600,000-900,000/s |
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from mlwarden.ledger import Ledger, LedgerEntry, LedgerSigner, verify_export
from mlwarden.ledger.merkle import MerkleFrontier, leaf_hash, root, verify_inclusion
from mlwarden.store.catalog.db import open_database

ORIGIN = "bench.mlwarden.example/ledger"
START = datetime(2026, 11, 27, tzinfo=UTC)
_T = TypeVar("_T")


def entries(start: int, stop: int) -> Iterator[LedgerEntry]:
    for index in range(start, stop):
        yield LedgerEntry(
            actor=f"svc-{index % 17}",
            action="store.put" if index % 5 else "model.load",
            decision="deny" if index % 11 == 0 else "allow",
            artifact=f"model/resnet-{index % 101}@{index // 101}",
            details={"digest": f"{index:064x}", "size": index * 4096},
            time=START + timedelta(milliseconds=index),
        )


def timed(work: Callable[[], _T]) -> tuple[_T, float]:
    began = time.perf_counter()
    result = work()
    return result, time.perf_counter() - began


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pure_merkle(count: int) -> list[tuple[str, str]]:
    """Hashing alone, no database: a streamed root and one-leaf-at-a-time frontier appends."""
    leaves = [leaf_hash(index.to_bytes(8, "big")) for index in range(count)]
    _, seconds = timed(lambda: root(iter(leaves)))
    rows = [(f"streamed Merkle root, {count:,} leaf hashes", f"{seconds:.2f} s")]
    frontier = MerkleFrontier()
    _, seconds = timed(lambda: [frontier.append(leaf) for leaf in leaves])
    rows.append(("frontier appends (one leaf at a time)", f"{count / seconds:,.0f} /s"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--checkpoint-every", type=int, default=100_000)
    parser.add_argument("--single", type=int, default=500, help="one-by-one appends to time")
    parser.add_argument("--keep", action="store_true", help="keep the database folder")
    args = parser.parse_args()
    rows: list[tuple[str, str]] = []

    folder = Path(tempfile.mkdtemp(prefix="mlwarden-ledger-bench-"))
    engine = open_database(f"sqlite:///{folder / 'catalog.db'}")
    try:
        ledger = Ledger(engine, ORIGIN)
        signer = LedgerSigner.generate(ORIGIN)
        appended = 0
        append_seconds = checkpoint_seconds = 0.0
        while appended < args.entries:
            stop = min(args.entries, appended + args.batch)
            _, seconds = timed(lambda a=appended, s=stop: ledger.append_many(entries(a, s)))
            append_seconds += seconds
            appended = stop
            if appended % args.checkpoint_every == 0 or appended == args.entries:
                _, seconds = timed(lambda: ledger.checkpoint(signer))
                checkpoint_seconds += seconds
        rows.append(
            (
                f"append_many, batches of {args.batch:,} (SQLite, WAL, synchronous=FULL)",
                f"{args.entries / append_seconds:,.0f} entries/s",
            )
        )
        checkpoints = -(-args.entries // args.checkpoint_every)
        rows.append(
            (
                "checkpoint (prove extension, sign, store)",
                f"{checkpoint_seconds / checkpoints * 1000:.0f} ms each",
            )
        )
        single = list(entries(args.entries, args.entries + args.single))
        _, seconds = timed(lambda: [ledger.append(entry) for entry in single])
        rows.append(
            ("append, one entry per transaction", f"{args.single / seconds:,.0f} entries/s")
        )
        last = ledger.checkpoint(signer)

        seq = last.tree_size // 3
        proof, seconds = timed(lambda: ledger.inclusion_proof(seq, last.tree_size))
        stored = next(ledger.entries(seq, seq + 1))
        assert verify_inclusion(stored.leaf_hash, seq, last.tree_size, proof, last.root_hash)
        rows.append(
            (
                f"inclusion proof in {last.tree_size:,} entries, first (reads every leaf hash)",
                f"{seconds:.2f} s",
            )
        )
        _, seconds = timed(lambda: ledger.inclusion_proof(seq + 12_345, last.tree_size))
        rows.append(("inclusion proof, next ones (block roots kept)", f"{seconds * 1000:.0f} ms"))
        _, seconds = timed(lambda: ledger.consistency_proof(last.tree_size // 2))
        rows.append(
            ("consistency proof, half to full (block roots kept)", f"{seconds * 1000:.0f} ms")
        )

        report, seconds = timed(lambda: ledger.verify(signer.verifier()))
        assert report.ok, report.summary()
        rows.append(
            (
                f"Ledger.verify, {report.entries:,} entries, {report.checkpoints} checkpoints",
                f"{seconds:.1f} s ({report.entries / seconds:,.0f} entries/s)",
            )
        )
        export = folder / "ledger.jsonl"
        _, seconds = timed(lambda: ledger.export(export))
        size_mb = export.stat().st_size / 1e6
        rows.append((f"export ({size_mb:,.0f} MB of JSON lines)", f"{seconds:.1f} s"))
        report, seconds = timed(lambda: verify_export(export, signer.verifier(), origin=ORIGIN))
        assert report.ok, report.summary()
        rows.append(("verify_export", f"{seconds:.1f} s"))
        rows.append(("peak RSS of the process so far", f"{peak_rss_mb():,.0f} MB"))
    finally:
        engine.dispose()
        if args.keep:
            print(f"database kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)

    rows.extend(pure_merkle(args.entries))

    width = max(len(name) for name, _ in rows)
    print(f"| {'measure':<{width}} | result |")
    print(f"|{'-' * (width + 2)}|--------|")
    for name, value in rows:
        print(f"| {name:<{width}} | {value} |")


if __name__ == "__main__":
    main()
