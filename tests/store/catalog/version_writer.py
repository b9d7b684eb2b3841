"""Run as a separate process by the concurrency test: add versions of one artifact name.

Arguments: database URL, schema (or "-"), artifact name, digest, count, go-file. It waits
for the go-file to appear so that both processes start adding at the same moment, then
prints the versions it was given, one per line.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event

from mlwarden.store.catalog.catalog import Catalog
from mlwarden.store.catalog.db import open_database


def _slow_after_max(*args: Any) -> None:
    statement = args[2]
    if "max(" in statement.lower():
        time.sleep(0.003)


def main() -> None:
    url, schema, name, digest, count, go = sys.argv[1:7]
    engine = open_database(url, schema=None if schema == "-" else schema)
    # Widen the race: pause right after reading the current highest version, as a slow or
    # busy database would. Without a lock, the other process now reads the same number.
    event.listen(engine, "after_cursor_execute", _slow_after_max)
    catalog = Catalog(engine)
    deadline = time.monotonic() + 60
    while not Path(go).exists():
        if time.monotonic() > deadline:
            raise SystemExit("the test never said go")
        time.sleep(0.01)
    for _ in range(int(count)):
        # A pause between adds lets the other process in; without it one process tends to
        # win every lock in a row and the two never actually interleave.
        time.sleep(0.001)
        record = catalog.add_artifact(name, "model", digest, 1, "writer")
        print(record.version, flush=True)
    engine.dispose()


if __name__ == "__main__":
    main()
