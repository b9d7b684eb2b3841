"""Regulated-data detection: mlwarden against Presidio on the same generated corpus.

    bash benchmarks/presidio_setup.sh          # once: Presidio in its own venv
    .venv/bin/python benchmarks/pii_bench.py   # [--seed 7] [--per-entity 200] [--csv-mb 50]

Prints, per entity, precision / recall / F1 for mlwarden and for Presidio (its pattern
recognizers with a blank spaCy pipeline, run offline in ``benchmarks/.venvs/presidio``
through ``presidio_runner.py``, JSON in and out), the throughput of both on the corpus
text, and the throughput of mlwarden's CSV scanner on a generated CSV of mixed columns.
Entities Presidio has no recognizer for are shown as ``-``. No figure is asserted: this is
a report (the tests in ``tests/scanners/data`` hold the detection floor).
"""

from __future__ import annotations

import argparse
import csv
import json
import mmap
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "scanners" / "data"))

import pii_corpus  # noqa: E402
from faker import Faker  # noqa: E402

from mlwarden.findings import Location  # noqa: E402
from mlwarden.scanners.base import Blob, Budget, ScanContext, ScanSettings  # noqa: E402
from mlwarden.scanners.data.candidates import compile_program  # noqa: E402
from mlwarden.scanners.data.entities import detect_text  # noqa: E402
from mlwarden.scanners.data.scanners import CsvScanner  # noqa: E402

PRESIDIO_PYTHON = HERE / ".venvs" / "presidio" / "bin" / "python"
PRESIDIO_TYPES: dict[str, str] = {
    "CREDIT_CARD": "credit_card",
    "US_SSN": "us_ssn",
    "IBAN_CODE": "iban",
    "EMAIL_ADDRESS": "email",
    "PHONE_NUMBER": "phone",
    "IP_ADDRESS": "ip_address",
    "DATE_TIME": "date_of_birth",
    "UK_POSTCODE": "postal_address",
    "DE_PLZ": "postal_address",
    "DE_TAX_ID": "national_id_de",
    "DE_TAX_NUMBER": "national_id_de",
    "ES_NIF": "national_id_es",
    "ES_NIE": "national_id_es",
    "IT_FISCAL_CODE": "national_id_it",
    "PL_PESEL": "national_id_pl",
    "SE_PERSONNUMMER": "national_id_se",
    "UK_NINO": "national_id_gb",
    "PERSON": "person",
}
"""Presidio entity types and the mlwarden entity each corresponds to."""

Spans = list[tuple[str, int, int]]


def _items(corpus: pii_corpus.Corpus) -> list[tuple[str, str]]:
    items = [(c.value, c.column) for c in corpus.cells]
    items += [(s.text, "") for s in corpus.sentences]
    return list(dict.fromkeys(items))  # the same (text, context) is detected once


def run_mlwarden(items: list[tuple[str, str]]) -> tuple[dict[tuple[str, str], Spans], float]:
    compile_program()
    out: dict[tuple[str, str], Spans] = {}
    start = time.perf_counter()
    for text, context in items:
        out[(text, context)] = [
            (m.entity, m.start, m.end) for m in detect_text(text, context=context)
        ]
    return out, time.perf_counter() - start


def run_presidio(
    items: list[tuple[str, str]], threshold: float
) -> tuple[dict[tuple[str, str], Spans], float] | None:
    if not PRESIDIO_PYTHON.exists():
        return None
    request = json.dumps({"items": items, "threshold": threshold})
    proc = subprocess.run(
        [str(PRESIDIO_PYTHON), str(HERE / "presidio_runner.py")],
        input=request,
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
    )
    if proc.returncode != 0:
        print(f"presidio failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
        return None
    reply = json.loads(proc.stdout)
    out: dict[tuple[str, str], Spans] = {}
    for (text, context), found in zip(items, reply["results"], strict=True):
        out[(text, context)] = [
            (PRESIDIO_TYPES[kind], start, end)
            for kind, start, end, _score in found
            if kind in PRESIDIO_TYPES
        ]
    return out, float(reply["seconds"])


def _lookup(predictions: dict[tuple[str, str], Spans]) -> Callable[[str, str], Spans]:
    def detector(text: str, context: str) -> Spans:
        return predictions.get((text, context), predictions.get((text, ""), []))

    return detector


def _mixed_csv(path: Path, megabytes: float, seed: int) -> None:
    """Mixed columns: ids, names, e-mails, SSNs, cards, free text, dates, amounts, cities."""
    rng = random.Random(seed)
    fake = Faker("en_US")
    fake.seed_instance(seed)
    pool = [
        [
            fake.name(),
            fake.email(),
            pii_corpus.ssn_value(rng),
            pii_corpus.card_number(rng),
            fake.sentence(),
            fake.date_of_birth().isoformat(),
            f"{rng.random() * 1000:.2f}",
            fake.city(),
        ]
        for _ in range(5000)
    ]
    limit = int(megabytes * 1_000_000)
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "name", "email", "ssn", "card", "notes", "dob", "amount", "city"])
        i = 0
        while fh.tell() < limit:
            writer.writerow([str(i), *pool[i % len(pool)]])
            i += 1


def csv_throughput(megabytes: float, seed: int) -> tuple[float, float, float, int]:
    """(size in MB, wall MB/s, CPU MB/s, findings) of CsvScanner on a mixed CSV."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mixed.csv"
        _mixed_csv(path, megabytes, seed)
        settings = ScanSettings()
        with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as view:
            ctx = ScanContext(
                Budget(settings.limits, time.monotonic() + 3600), settings, lambda b: iter(())
            )
            wall, cpu = time.perf_counter(), time.process_time()
            findings = list(CsvScanner().scan(Blob(view, Location(str(path)), "mixed.csv"), ctx))
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            size = len(view) / 1e6
    return size, size / wall, size / cpu, len(findings)


def _cell(score: pii_corpus.Score | None) -> str:
    if score is None:
        return f"{'-':>5} {'-':>5} {'-':>5}"
    return f"{score.precision:5.2f} {score.recall:5.2f} {score.f1:5.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--per-entity", type=int, default=200)
    parser.add_argument("--csv-mb", type=float, default=50.0)
    parser.add_argument("--text-mb", type=float, default=2.0)
    parser.add_argument(
        "--presidio-threshold",
        type=float,
        default=0.0,
        help="Presidio score_threshold (its own default is 0)",
    )
    args = parser.parse_args()

    corpus = pii_corpus.build_corpus(seed=args.seed, per_entity=args.per_entity)
    items = _items(corpus)
    size_mb = sum(len(t.encode()) for t, _ in items) / 1e6
    mine, mine_s = run_mlwarden(items)
    ours = pii_corpus.evaluate(_lookup(mine), corpus)
    presidio = run_presidio(items, args.presidio_threshold)
    theirs = pii_corpus.evaluate(_lookup(presidio[0]), corpus) if presidio else None
    supported = set(PRESIDIO_TYPES.values())

    print(f"corpus: seed {args.seed}, {len(corpus.cells)} cells, {len(corpus.sentences)} sentences")
    print(f"{'entity':24} {'mlwarden P/R/F1':>17}   {'presidio P/R/F1':>17}")
    for entity in pii_corpus.ENTITIES_UNDER_TEST:
        other = theirs.scores.get(entity) if theirs and entity in supported else None
        print(f"{entity:24} {_cell(ours.scores[entity])}   {_cell(other)}")
    print(f"lookalikes reported: mlwarden {len(ours.lookalike_flags)}", end="")
    print(f", presidio {len(theirs.lookalike_flags)}" if theirs else "")
    print(f"throughput on the corpus items ({size_mb:.2f} MB, {len(items)} short texts, one core):")
    print(f"  mlwarden detect_text: {size_mb / mine_s:8.2f} MB/s")
    if presidio:
        print(f"  presidio analyze:     {size_mb / presidio[1]:8.2f} MB/s")
    else:
        print("  presidio: not installed (run benchmarks/presidio_setup.sh)")
    document = "\n".join(x.text for x in corpus.sentences)
    repeat = max(1, int(args.text_mb * 1_000_000 // max(1, len(document.encode()))))
    chunks = [(document, "")] * repeat  # ~40-300 KB pieces, as a log or export is read
    text_mb = sum(len(t.encode()) for t, _ in chunks) / 1e6
    _, mine_text_s = run_mlwarden(chunks)
    print(f"throughput on free text ({text_mb:.2f} MB in {len(chunks)} documents, one core):")
    print(f"  mlwarden detect_text: {text_mb / mine_text_s:8.2f} MB/s")
    presidio_text = run_presidio(chunks, args.presidio_threshold)
    if presidio_text:
        print(f"  presidio analyze:     {text_mb / presidio_text[1]:8.2f} MB/s")
    size, wall, cpu, n = csv_throughput(args.csv_mb, args.seed)
    print(
        f"mlwarden CsvScanner on a {size:.1f} MB mixed-column CSV: {wall:.1f} MB/s wall, "
        f"{cpu:.1f} MB/s CPU, {n} findings"
    )


if __name__ == "__main__":
    main()
