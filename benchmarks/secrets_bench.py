"""Secrets scanner benchmark: recall, false positives and throughput, beside detect-secrets.

What it builds (in a temporary folder, or ``--out DIR/corpus`` with ``--keep``):

* recall set: one file per (fake credential, embedding). Credentials come from
  ``tests/scanners/code/fake_secrets.py`` (random bodies, valid checksums, every detector
  and variant), ``--seeds`` different sets, each written into a Python module, a
  ``.env`` file, a YAML config, a notebook cell source and a notebook output only;
* clean notebooks: ``--notebooks`` realistic training notebooks with matplotlib-like
  base64 PNG outputs, pandas HTML tables, tracebacks, random test vectors, run ids,
  hashes and widget state (written as JSON directly; nbformat is not needed);
* clean library code: the Python sources of a few installed packages (real code that
  holds documentation examples but no live secrets), for false positives and MB/s.

A recall file counts as found when the tool reports anything in it (mlwarden: the
expected rule id); every finding in a clean file is a false positive. Throughput is the
clean bytes divided by wall time: in-process for mlwarden (scanning only), one process
for the whole folder for detect-secrets (start-up included, as users run it).

detect-secrets runs from its own virtualenv, ``benchmarks/.venvs/detect-secrets``
(``python3 -m venv benchmarks/.venvs/detect-secrets && benchmarks/.venvs/detect-secrets/bin/pip
install detect-secrets==1.5.0``); without it only mlwarden is reported.

    .venv/bin/python benchmarks/secrets_bench.py [--seeds 3] [--notebooks 40] [--out DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "scanners" / "code"))

from fake_secrets import (  # noqa: E402
    FakeSecret,
    code_cell,
    fake_secrets,
    notebook,
    realistic_notebook,
    stream,
)

from mlwarden.findings import Finding, Location  # noqa: E402
from mlwarden.limits import Limits  # noqa: E402
from mlwarden.scanners.base import (  # noqa: E402
    Blob,
    Budget,
    LimitExceeded,
    MalformedInput,
    ScanContext,
    ScanSettings,
)
from mlwarden.scanners.code import (  # noqa: E402
    SNIFF_BYTES,
    NotebookSecretsScanner,
    SourceSecretsScanner,
    looks_like_notebook,
    looks_like_source,
)

DETECT_SECRETS = ROOT / "benchmarks" / ".venvs" / "detect-secrets" / "bin" / "detect-secrets"
LIBRARIES = ("rich", "click", "jinja2", "yaml", "sqlalchemy", "alembic", "botocore/data/s3")


@dataclass(frozen=True)
class RecallFile:
    path: Path
    secret: FakeSecret
    embedding: str


def _write_recall_set(root: Path, seeds: int) -> list[RecallFile]:
    out: list[RecallFile] = []
    folder = root / "recall"
    folder.mkdir(parents=True)
    for seed in range(seeds):
        for i, secret in enumerate(fake_secrets(seed + 100)):
            stem = f"s{seed}_{i:03d}_{secret.kind}"
            texts = {
                "py": (f"{stem}.py", f'"""Job settings."""\nimport os\n\n{secret.py}\n'),
                "env": (f"{stem}.env", f"# job\nPYTHONUNBUFFERED=1\n{secret.env}\n"),
                "yaml": (f"{stem}.yaml", f"job:\n  name: train\n{secret.yaml}\n"),
            }
            for embedding, (name, text) in texts.items():
                (folder / name).write_text(text)
                out.append(RecallFile(folder / name, secret, embedding))
            source = notebook([code_cell(f"import os\n{secret.py}")])
            printed = notebook([code_cell("print(config)", [stream(f"{secret.py}\n")])])
            for embedding, data in (("ipynb-source", source), ("ipynb-output", printed)):
                path = folder / f"{stem}.{embedding}.ipynb"
                path.write_bytes(data)
                out.append(RecallFile(path, secret, embedding))
    return out


def _write_clean_set(root: Path, notebooks: int) -> list[Path]:
    folder = root / "clean"
    folder.mkdir(parents=True)
    rng = random.Random(2026)
    paths = []
    for i in range(notebooks):
        path = folder / f"experiment_{i:03d}.ipynb"
        path.write_bytes(realistic_notebook(rng, extra_cells=rng.randrange(2, 12)))
        paths.append(path)
    packages = Path(sys.prefix) / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    packages = packages / "site-packages"
    for lib in LIBRARIES:
        src = packages / lib
        if not src.exists():
            continue
        for file in sorted(src.rglob("*")):
            if file.is_file() and file.suffix in (".py", ".json", ".txt", ".cfg", ".toml"):
                dest = folder / "lib" / file.relative_to(packages)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(file, dest)
                paths.append(dest)
    return paths


def _context() -> ScanContext:
    budget = Budget(Limits(), time.monotonic() + 300)
    return ScanContext(budget=budget, settings=ScanSettings(), scan_member=lambda b: iter(()))


def mlwarden_scan(path: Path) -> list[Finding]:
    data = path.read_bytes()
    head = data[:SNIFF_BYTES]
    if looks_like_notebook(path.name, head):
        scanner: NotebookSecretsScanner | SourceSecretsScanner = NotebookSecretsScanner()
    elif looks_like_source(path.name, head):
        scanner = SourceSecretsScanner()
    else:
        return []
    found: list[Finding] = []
    # A limit or a malformed file is reported by the engine; here only findings count.
    with contextlib.suppress(LimitExceeded, MalformedInput):
        found.extend(scanner.scan(Blob(data, Location(str(path)), path.name), _context()))
    return found


def detect_secrets_scan(folder: Path) -> tuple[dict[str, list[dict[str, object]]], float] | None:
    if not DETECT_SECRETS.exists():
        return None
    start = time.perf_counter()
    proc = subprocess.run(
        [str(DETECT_SECRETS), "scan", "--all-files", "."],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        print(f"detect-secrets failed: {proc.stderr[:400]}", file=sys.stderr)
        return None
    results: dict[str, list[dict[str, object]]] = json.loads(proc.stdout)["results"]
    return {str((folder / k).resolve()): v for k, v in results.items()}, wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--notebooks", type=int, default=40)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out")
    parser.add_argument("--keep", action="store_true", help="keep the corpus in OUT/corpus")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="secrets-bench-"))
    try:
        recall = _write_recall_set(work, args.seeds)
        clean = _write_clean_set(work, args.notebooks)
        clean_bytes = sum(p.stat().st_size for p in clean)
        nb_bytes = sum(p.stat().st_size for p in clean if p.suffix == ".ipynb")

        per_rule: dict[str, Counter[str]] = defaultdict(Counter)
        per_embedding: dict[str, Counter[str]] = defaultdict(Counter)
        for item in recall:
            found = mlwarden_scan(item.path)
            hit = any(f.rule_id == item.secret.rule_id for f in found)
            per_rule[item.secret.rule_id]["found" if hit else "missed"] += 1
            per_embedding[item.embedding]["found" if hit else "missed"] += 1
        start = time.perf_counter()
        false_pos: dict[str, list[str]] = {}
        for path in clean:
            found = mlwarden_scan(path)
            if found:
                false_pos[str(path.relative_to(work))] = [
                    f"{f.rule_id}:{f.location.line}:{f.location.field or ''}" for f in found
                ]
        wall = time.perf_counter() - start
        ours = {
            "recall": sum(c["found"] for c in per_rule.values()) / len(recall),
            "recall_files": len(recall),
            "clean_files": len(clean),
            "clean_mb": clean_bytes / 1e6,
            "notebook_mb": nb_bytes / 1e6,
            "false_positive_findings": sum(len(v) for v in false_pos.values()),
            "false_positive_files": len(false_pos),
            "false_positive_notebook_files": sum(1 for k in false_pos if k.endswith(".ipynb")),
            "mb_per_s": clean_bytes / 1e6 / wall,
            "per_rule": {r: dict(c) for r, c in sorted(per_rule.items())},
            "per_embedding": {e: dict(c) for e, c in sorted(per_embedding.items())},
            "false_positives": false_pos,
        }

        theirs = None
        ds_recall = detect_secrets_scan(work / "recall")
        ds_clean = detect_secrets_scan(work / "clean")
        if ds_recall is not None and ds_clean is not None:
            by_file, recall_wall = ds_recall
            clean_results, clean_wall = ds_clean
            ds_rule: dict[str, Counter[str]] = defaultdict(Counter)
            for item in recall:
                hit = bool(by_file.get(str(item.path.resolve())))
                ds_rule[item.secret.rule_id]["found" if hit else "missed"] += 1
            theirs = {
                "recall": sum(c["found"] for c in ds_rule.values()) / len(recall),
                "false_positive_findings": sum(len(v) for v in clean_results.values()),
                "false_positive_files": len(clean_results),
                "false_positive_notebook_files": sum(
                    1 for k in clean_results if k.endswith(".ipynb")
                ),
                "mb_per_s": clean_bytes / 1e6 / clean_wall,
                "recall_wall_s": recall_wall,
                "per_rule": {r: dict(c) for r, c in sorted(ds_rule.items())},
            }

        args.out.mkdir(parents=True, exist_ok=True)
        report = {"mlwarden": ours, "detect-secrets 1.5.0": theirs}
        (args.out / "secrets_bench.json").write_text(json.dumps(report, indent=2) + "\n")
        if args.keep:
            shutil.copytree(work, args.out / "corpus", dirs_exist_ok=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(
        f"recall set: {len(recall)} files ({args.seeds} seeds x every detector variant x 5 "
        f"embeddings); clean set: {len(clean)} files, {clean_bytes / 1e6:.1f} MB "
        f"({args.notebooks} notebooks, {nb_bytes / 1e6:.1f} MB)"
    )
    print(
        f"{'tool':<22}{'recall':>8}{'FP findings':>13}{'FP files':>10}{'FP notebooks':>14}"
        f"{'MB/s':>8}"
    )
    for name, row in report.items():
        if row is None:
            print(f"{name:<22}  not installed")
            continue
        print(
            f"{name:<22}{row['recall']:>8.1%}{row['false_positive_findings']:>13}"
            f"{row['false_positive_files']:>10}{row['false_positive_notebook_files']:>14}"
            f"{row['mb_per_s']:>8.1f}"
        )
    print("recall per rule (mlwarden / detect-secrets):")
    for rule, counts in ours["per_rule"].items():
        total = sum(counts.values())
        other = "" if theirs is None else f"{theirs['per_rule'][rule].get('found', 0)}/{total}"
        print(f"  {rule}: {counts.get('found', 0)}/{total}   {other}")
    print(f"details: {args.out / 'secrets_bench.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
