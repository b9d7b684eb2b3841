"""Baselines: secrets a team has reviewed and accepted, recognised without storing them.

A baseline is a JSON file::

    {
      "format": "mlwarden.secrets-baseline/v1",
      "entries": [
        {"rule_id": "MLW-SEC-011", "path": "notebooks/train.ipynb",
         "secret_sha256": "9f86d0...", "reason": "revoked 2026-01-10, kept for history"}
      ]
    }

An entry matches a finding with the same rule id, the same path (as it was named to the
scan, ``!member`` appended inside archives) and a secret with the same SHA-256; its line
may move. The file holds digests, never secrets, but a digest of a weak password can be
guessed offline: keep baselines out of public repositories when they list passwords.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from mlwarden.errors import UsageError
from mlwarden.findings import Finding, Location

FORMAT = "mlwarden.secrets-baseline/v1"
MAX_BASELINE_BYTES = 16 << 20
_DEFAULT_REASON = "accepted when the baseline was written; not reviewed yet"


@dataclass(frozen=True)
class Fingerprint:
    """What identifies an accepted secret: rule, path and the SHA-256 of the secret."""

    rule_id: str
    path: str
    secret_sha256: str


@dataclass(frozen=True)
class Baseline:
    """Accepted secrets, with the reason each was accepted."""

    reasons: dict[Fingerprint, str]

    def __contains__(self, fingerprint: object) -> bool:
        return fingerprint in self.reasons


def _normal(path: str) -> str:
    path = path.replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    return path


def _path_of(location: Location) -> str:
    path = _normal(location.path)
    return path if location.member is None else f"{path}!{location.member}"


def fingerprint(finding: Finding) -> Fingerprint | None:
    """The fingerprint of a secret finding; None for findings that hold no secret."""
    digest = getattr(finding, "secret_sha256", "")
    if not digest:
        return None
    return Fingerprint(finding.rule_id, _path_of(finding.location), digest)


def write_baseline(
    findings: Iterable[Finding], path: str | os.PathLike[str], *, reason: str = _DEFAULT_REASON
) -> int:
    """Write (atomically) a baseline accepting every secret finding in ``findings``.

    Findings without a secret digest (other scanners' findings, or findings read back
    from a JSON report, which carries no digests) are skipped. Returns the number of
    entries written. Raises :class:`UsageError` when the file cannot be written.
    """
    unique: dict[Fingerprint, str] = {}
    for finding in findings:
        fp = fingerprint(finding)
        if fp is not None:
            unique.setdefault(fp, reason)
    entries = [
        {"rule_id": fp.rule_id, "path": fp.path, "secret_sha256": fp.secret_sha256, "reason": why}
        for fp, why in sorted(unique.items(), key=lambda kv: (kv[0].path, kv[0].rule_id))
    ]
    text = json.dumps({"format": FORMAT, "entries": entries}, indent=2) + "\n"
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise UsageError(
            str(path),
            f"cannot write the baseline ({exc.strerror or exc})",
            "choose a writable path in an existing folder",
        ) from exc
    return len(entries)


def _bad(path: str, problem: str) -> UsageError:
    return UsageError(
        path,
        f"not a valid secrets baseline: {problem}",
        "recreate it with write_baseline() or fix the entry by hand "
        f'(format "{FORMAT}", entries of rule_id, path, secret_sha256, reason)',
    )


def _entry(path: str, index: int, raw: object) -> tuple[Fingerprint, str]:
    if not isinstance(raw, dict):
        raise _bad(path, f"entry {index} is not an object")
    values = {key: raw.get(key) for key in ("rule_id", "path", "secret_sha256", "reason")}
    for key, value in values.items():
        if not isinstance(value, str) or not value:
            raise _bad(path, f"entry {index} has no {key} string")
    digest = str(values["secret_sha256"]).lower()
    if len(digest) != 64 or any(ch not in "0123456789abcdef" for ch in digest):
        raise _bad(path, f"entry {index}: secret_sha256 is not 64 hex digits")
    fp = Fingerprint(str(values["rule_id"]), _normal(str(values["path"])), digest)
    return fp, str(values["reason"])


def load_baseline(path: str | os.PathLike[str]) -> Baseline:
    """Read a baseline written by :func:`write_baseline` (or by hand).

    Raises :class:`UsageError` (naming the file, the problem and the fix) when the file
    is missing, larger than 16 MiB, not JSON, or has a malformed entry.
    """
    name = str(path)
    try:
        with open(path, "rb") as source:
            raw = source.read(MAX_BASELINE_BYTES + 1)
    except OSError as exc:
        raise UsageError(
            name, f"cannot read the baseline ({exc.strerror or exc})", "check the path"
        ) from exc
    if len(raw) > MAX_BASELINE_BYTES:
        raise _bad(name, f"larger than {MAX_BASELINE_BYTES} bytes")
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise _bad(name, f"not JSON ({exc})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise _bad(name, f'no "format": "{FORMAT}" object')
    entries = document.get("entries")
    if not isinstance(entries, list):
        raise _bad(name, '"entries" is not a list')
    return Baseline(dict(_entry(name, i, e) for i, e in enumerate(entries)))


def drop_baselined(findings: Iterable[Finding], baseline: Baseline) -> list[Finding]:
    """``findings`` without the secrets ``baseline`` accepts (other findings are kept)."""
    kept: list[Finding] = []
    for finding in findings:
        fp = fingerprint(finding)
        if fp is None or fp not in baseline:
            kept.append(finding)
    return kept
