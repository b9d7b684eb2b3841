"""A process that writes to a vault until it is killed (see test_vault_crash.py).

Usage: python vault_crash_worker.py ROOT DATABASE_URL BLOBS SEED
"""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path

from database_targets import DatabaseTarget
from vault_fixtures import open_test_vault


def main() -> None:
    root, url, blobs, seed = Path(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
    rng = random.Random(seed)
    work = root / "work"
    work.mkdir(exist_ok=True)
    out = root / "out"
    out.mkdir(exist_ok=True)
    vault = open_test_vault(root / "keys", DatabaseTarget("sqlite", url, None), blobs)
    for i in range(10_000):
        step = rng.random()
        if step < 0.65:
            size = rng.choice([0, 1, 4095, 4096, 4097, rng.randrange(1, 3 << 20)])
            src = work / f"src-{os.getpid()}-{i}"
            src.write_bytes(rng.randbytes(size))
            record = vault.put(src, f"crash/{i % 7}", kind="dataset")
            src.unlink()
            print(f"put {record.reference}", flush=True)
        elif step < 0.85:
            names = vault.catalog.list_artifacts()
            if names:
                pick = rng.choice(names)
                vault.get(pick.reference, out / f"{pick.name.replace('/', '_')}-{pick.version}-{i}")
                print(f"get {pick.reference}", flush=True)
        elif step < 0.93:
            vault.rotate()
            vault.rewrap(batch=2)
            print("rotated", flush=True)
        else:
            names = vault.catalog.list_artifacts()
            if names:
                vault.remove(rng.choice(names).reference)
                print("removed", flush=True)


if __name__ == "__main__":
    main()
