"""Mask one file into a new file of the same format, all or nothing.

:func:`mask_file` is the service behind ``mlwarden mask``: it resolves the policy for the
input, fetches the key only if the rules need one, streams the input through the format's
reader and writer, and renames the finished output into place. The input is only ever
opened for reading; an output that would be the input (same path, symlink or hard link) is
refused; on any error or interruption no output file appears.
"""

from __future__ import annotations

import os
from pathlib import Path

from mlwarden.errors import UsageError
from mlwarden.masking.atomic_output import atomic_output
from mlwarden.masking.detection import Detector, ScannerDetector
from mlwarden.masking.formats import choose_format, get_format
from mlwarden.masking.keys import KeySource
from mlwarden.masking.limits import MaskLimits
from mlwarden.masking.plan import MaskPlan
from mlwarden.masking.policy import MaskPolicy
from mlwarden.masking.records import RecordMasker
from mlwarden.masking.summary import MaskSummary, Tally


def mask_file(
    source: str | os.PathLike[str],
    destination: str | os.PathLike[str],
    policy: MaskPolicy,
    *,
    key_source: KeySource | None = None,
    format: str | None = None,
    dataset: str | None = None,
    detector: Detector | None = None,
    overwrite: bool = False,
    limits: MaskLimits | None = None,
) -> MaskSummary:
    """Mask ``source`` into ``destination`` (same format) and summarise what changed.

    ``format`` defaults to the one the file name implies (csv, tsv, jsonl, parquet, text).
    ``dataset`` picks a policy section by name (default: by the sections' file globs).
    ``detector`` defaults to :class:`ScannerDetector` when the policy enables detection.
    ``key_source`` is called once, only when the policy needs a key (keyed operators or
    detection under the default action). An existing ``destination`` is replaced only with
    ``overwrite=True``.

    Raises :class:`UsageError` for bad arguments, unreadable or malformed input, a missing
    key, or a policy that does not fit the input.
    """
    src = Path(source)
    dst = Path(destination)
    chosen_limits = limits or MaskLimits()
    _check_paths(src, dst, overwrite)
    name = choose_format(src, format)
    rules = policy.rules_for(src, dataset)
    if rules.detection.enabled and detector is None:
        scanner = ScannerDetector()
        rules.check_entity_ids(scanner.known_entities)
        detector = scanner
    plan = MaskPlan(rules, key_source)  # fetches the key, so only once the policy checks out
    tally = Tally()
    masker = RecordMasker(
        plan,
        detector if rules.detection.enabled else None,
        tally,
        cache_entries=chosen_limits.cache_entries,
    )
    with atomic_output(dst) as sink:
        rows = get_format(name).mask(src, sink, masker, chosen_limits)
    return tally.summary(
        input=str(src), output=str(dst), format=name, dataset=rules.dataset, rows=rows
    )


def _check_paths(src: Path, dst: Path, overwrite: bool) -> None:
    if not src.is_file():
        problem = "is a folder" if src.is_dir() else "does not exist"
        raise UsageError(str(src), f"the input {problem}", "name one existing file")
    if dst.is_dir():
        raise UsageError(str(dst), "the output is a folder", "name the output file")
    if not dst.parent.is_dir():
        raise UsageError(str(dst), "the output's folder does not exist", "create it first")
    same = src.resolve() == dst.resolve()
    if not same and dst.exists():
        same = os.path.samefile(src, dst)
    if same:
        raise UsageError(
            str(dst),
            "the output is the input; masking never rewrites its input",
            "write to a new file",
        )
    if dst.exists() and not overwrite:
        raise UsageError(str(dst), "the output already exists", "choose a new name or pass --force")
