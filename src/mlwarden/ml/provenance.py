"""Dataset provenance: is this exact data registered in the vault, and from an approved place?

The check runs on a *manifest*, one row per dataset file with its SHA-256 digest and the
source the user claims for it::

    files = [dataset_file("train.csv", source="s3://corp-data/train.csv")]
    result = ProvenanceCheck(catalog=vault.catalog, policy=policy).run(manifest(files))

It reports content the catalog does not know (MLW-PRV-001), a source not on the policy's
approved list (MLW-PRV-002; a source is taken from the user and from the ``source`` label of
the catalog records holding the content) and content whose catalog entries were deleted
or crypto-shredded (MLW-PRV-003): training on erased data undoes the erasure.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from mlwarden.errors import UsageError
from mlwarden.findings import Finding, Location, Rule, Severity
from mlwarden.ml.approved_sources import SourcePolicy, parse_source
from mlwarden.ml.base import CheckResult, Dataset, ScoreTable

if TYPE_CHECKING:
    from mlwarden.store.catalog.records import ArtifactRecord, BlobRecord

SOURCE_LABEL = "source"
"""The catalog label naming where a stored dataset came from (``store put --label source=``)."""
MANIFEST_COLUMNS = ("sha256", "source")
MAX_FILES = 10_000
_READ_CHUNK = 1 << 20

UNKNOWN_DIGEST = Rule(
    "MLW-PRV-001",
    "Dataset content is not registered in the vault",
    Severity.HIGH,
    "Train only on registered data: store the reviewed file with `mlwarden store put FILE "
    "--kind dataset --label source=URL`, or find out why these bytes differ from the "
    "registered version (a changed file has a new digest).",
    tags=("AML.T0020", "OWASP-ML02"),
)
UNAPPROVED_SOURCE = Rule(
    "MLW-PRV-002",
    "Dataset source is not approved",
    Severity.HIGH,
    "Fetch the data from an approved source, or have the source reviewed and added to "
    "[check.provenance] approved_sources.",
    tags=("AML.T0020", "OWASP-ML02"),
)
ERASED_CONTENT = Rule(
    "MLW-PRV-003",
    "Dataset content was deleted or shredded in the vault",
    Severity.HIGH,
    "Do not train on it: the registered copy was withdrawn (deleted) or erased "
    "(crypto-shredded, e.g. for a data-subject request). Remove this copy and use the "
    "current registered version.",
    tags=("OWASP-ML02",),
)


class DigestCatalog(Protocol):
    """What the check needs of :class:`mlwarden.store.catalog.catalog.Catalog`."""

    def get_blob(self, digest: str) -> BlobRecord | None: ...

    def artifacts_for_digest(self, digest: str) -> list[ArtifactRecord]: ...


@dataclass(frozen=True)
class DatasetFile:
    """One dataset file: where it is, its content digest, and the source claimed for it."""

    path: str
    sha256: str
    """Hex SHA-256 of the file's bytes."""
    source: str | None = None
    """URL or host the user says the data came from, if any."""


def dataset_file(path: str | Path, *, source: str | None = None) -> DatasetFile:
    """Hash ``path`` (streamed, any size) into a :class:`DatasetFile`."""
    file = Path(path)
    if file.is_dir():
        raise UsageError(
            str(path), "is a folder", "pass the dataset files inside it (e.g. data/*.parquet)"
        )
    digest = hashlib.sha256()
    try:
        with file.open("rb") as handle:
            while chunk := handle.read(_READ_CHUNK):
                digest.update(chunk)
    except OSError as exc:
        raise UsageError(str(path), f"cannot be read ({exc.strerror})", "check the path") from None
    return DatasetFile(str(path), digest.hexdigest(), source)


def manifest(files: Sequence[DatasetFile]) -> Dataset:
    """The files as a Dataset the check runs on: one row per file, columns ``sha256`` and
    ``source`` (empty when none was claimed), row ids the paths."""
    if not files or len(files) > MAX_FILES:
        raise UsageError(
            "dataset files", f"{len(files)} given", f"check 1 to {MAX_FILES} files per run"
        )
    X = np.array([[f.sha256, f.source or ""] for f in files], dtype=object)
    ids = np.array([f.path for f in files], dtype=object)
    return Dataset(X=X, feature_names=MANIFEST_COLUMNS, sample_ids=ids, source="<manifest>")


@dataclass(frozen=True)
class ProvenanceCheck:
    """Registered content and approved sources, per dataset file of a :func:`manifest`.

    Parameters:
        policy: the approved sources; an empty policy skips the source test.
        catalog: the vault's catalog; None skips the registration tests (``--no-catalog``).

    At least one of the two must be given. Scores (per file): ``score`` (1.0 when the file
    has a finding), ``unknown``, ``unapproved`` and ``erased`` (1.0 or 0.0 each).
    """

    policy: SourcePolicy = field(default_factory=SourcePolicy)
    catalog: DigestCatalog | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        return "provenance"

    @property
    def rules(self) -> tuple[Rule, ...]:
        return (UNKNOWN_DIGEST, UNAPPROVED_SOURCE, ERASED_CONTENT)

    def run(self, data: Dataset, model: Any | None = None) -> CheckResult:
        """Look every file's digest up in the catalog and judge every claimed source."""
        if self.catalog is None and not self.policy.active:
            raise UsageError(
                "provenance check",
                "there is nothing to check: no catalog and no approved sources",
                "open a workspace (`mlwarden init`) or set [check.provenance] approved_sources",
            )
        if data.feature_names != MANIFEST_COLUMNS or data.X.ndim != 2:
            raise UsageError(
                data.source,
                "the provenance check runs on a manifest of dataset files, not on samples",
                "build it with mlwarden.ml.provenance.manifest([dataset_file(path), ...])",
            )
        findings: list[Finding] = []
        flags = np.zeros((data.n_samples, 3))
        for row, (digest, claimed) in enumerate(data.X):
            path = str(data.ids[row])
            where = Location(path=path)
            records: list[ArtifactRecord] = []
            registered = True
            if self.catalog is not None:
                records, found = _registration(self.catalog, str(digest), where)
                findings.extend(found)
                registered = not found
                flags[row, 0] = any(f.rule_id == UNKNOWN_DIGEST.id for f in found)
                flags[row, 2] = any(f.rule_id == ERASED_CONTENT.id for f in found)
            if self.policy.active:
                # Unregistered content already fails; a missing source would only repeat it.
                found = self._sources(str(digest), str(claimed), records, where, registered)
                findings.extend(found)
                flags[row, 1] = bool(found)
        unknown, unapproved, erased = (flags[:, i] for i in range(3))
        table = ScoreTable(
            keys=data.ids,
            columns={
                "score": flags.max(axis=1),
                "unknown": unknown,
                "unapproved": unapproved,
                "erased": erased,
            },
        )
        metrics = {
            "files": float(data.n_samples),
            "unknown_files": float(unknown.sum()),
            "unapproved_files": float(unapproved.sum()),
            "erased_files": float(erased.sum()),
        }
        return CheckResult(self.name, tuple(findings), table, metrics, not flags.any())

    def _sources(
        self,
        digest: str,
        claimed: str,
        records: list[ArtifactRecord],
        where: Location,
        need_claim: bool,
    ) -> list[Finding]:
        """A finding for each claimed source the policy does not approve, and one when no
        source is claimed at all (if ``need_claim``)."""
        claims: list[tuple[str, str]] = []
        if claimed:
            claims.append((claimed, "given"))
        for record in records:
            label = record.labels.get(SOURCE_LABEL)
            if label and label not in [c for c, _ in claims]:
                claims.append((label, f"recorded on {record.reference}"))
        if not claims:
            if not need_claim:
                return []
            return [
                UNAPPROVED_SOURCE.finding(
                    where,
                    f"sha256:{digest} has no known source (none given and no "
                    f"`{SOURCE_LABEL}` label in the catalog), so it cannot be approved",
                )
            ]
        allowed = ", ".join(p.text for p in self.policy.approved[:5])
        return [
            UNAPPROVED_SOURCE.finding(
                where,
                f"sha256:{digest} source {parse_source(text).shown} ({how}) is not under an "
                f"approved source ({allowed}{', ...' if len(self.policy.approved) > 5 else ''})",
            )
            for text, how in claims
            if self.policy.approving(text) is None
        ]


def _registration(
    catalog: DigestCatalog, digest: str, where: Location
) -> tuple[list[ArtifactRecord], list[Finding]]:
    """The live records holding ``digest``, and findings when there are none."""
    blob = catalog.get_blob(digest)
    records = catalog.artifacts_for_digest(digest)
    live = [r for r in records if not r.deleted]
    if blob is not None and blob.shredded:
        when = f"{blob.shredded_at:%Y-%m-%d %H:%M} UTC" if blob.shredded_at else "earlier"
        return [], [
            ERASED_CONTENT.finding(
                where,
                f"sha256:{digest} was crypto-shredded in the vault at {when} "
                f"({_refs(records)}); this file is a copy of erased data",
                severity=Severity.CRITICAL,
            )
        ]
    if not records:
        return [], [
            UNKNOWN_DIGEST.finding(
                where, f"sha256:{digest} matches no artifact in the vault's catalog"
            )
        ]
    if not live:
        return [], [
            ERASED_CONTENT.finding(
                where,
                f"sha256:{digest} is registered only as deleted artifact(s) "
                f"{_refs(records)}: the data was withdrawn",
            )
        ]
    return live, []


def _refs(records: list[ArtifactRecord], limit: int = 5) -> str:
    shown = ", ".join(r.reference for r in records[:limit])
    return shown + (f" (+{len(records) - limit} more)" if len(records) > limit else "")
