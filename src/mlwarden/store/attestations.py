"""Training provenance for stored models: which datasets, code and environment went in.

An attestation is an in-toto Statement with an SLSA v1 provenance predicate, signed as a
DSSE envelope with the workspace's model-signing key and stored in the vault as its own
artifact (kind ``attestation``). The lineage edges dataset → run → model → attestation are
recorded alongside, so an erasure request for a dataset finds the models trained on it.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlwarden.errors import UsageError
from mlwarden.store.catalog.records import ArtifactRecord
from mlwarden.store.vault import Vault

BUILDER_ID = "https://mlwarden.dev/builders/vault-recorded-training@v1"
"""Who vouches for the statement: a run recorded by an mlwarden vault's operator."""


@dataclass(frozen=True)
class TrainingRecord:
    """What the operator says about a training run (all optional but the model)."""

    run_name: str
    entry_point: str = "unknown"
    command: tuple[str, ...] = ()
    hyperparameters: Mapping[str, Any] | None = None
    started_on: datetime | None = None
    finished_on: datetime | None = None
    code_path: Path | None = None
    """A folder inside the git checkout that was trained from (its commit is recorded)."""
    capture_environment: bool = True
    """Record this Python environment's packages (run the command where training ran)."""


@dataclass(frozen=True)
class VerifiedAttestation:
    """An attestation whose signature and subject checked out."""

    attestation: ArtifactRecord
    model: ArtifactRecord
    datasets: tuple[str, ...]
    """``name@sha256:digest`` of each dataset the run declared."""
    commit: str | None


def attest_training(
    vault: Vault,
    model_reference: str,
    dataset_references: Sequence[str],
    record: TrainingRecord,
) -> ArtifactRecord:
    """Sign and store SLSA provenance for a stored model; returns the attestation artifact."""
    from mlwarden.store.signing import (
        DatasetInput,
        ModelArtifact,
        TrainingRun,
        build_training_provenance,
        capture_environment,
        load_private_key,
        read_git_revision,
        sign_statement,
    )

    if vault.model_key is None:
        raise UsageError("attestation", "this vault has no signing key", "run `mlwarden init`")
    model = vault.resolve(model_reference)
    datasets = [vault.resolve(ref) for ref in dataset_references]
    now = datetime.now(UTC)
    run = TrainingRun(
        name=record.run_name,
        entry_point=record.entry_point,
        invocation_id=str(uuid.uuid4()),
        started_on=record.started_on or model.created_at,
        finished_on=record.finished_on or max(now, record.started_on or model.created_at),
        command=record.command,
        hyperparameters=dict(record.hyperparameters or {}),
    )
    statement = build_training_provenance(
        models=[ModelArtifact(name=model.reference, sha256=model.digest)],
        run=run,
        builder_id=BUILDER_ID,
        datasets=[
            DatasetInput(uri=f"mlwarden:artifact/{d.reference}", sha256=d.digest, name=d.name)
            for d in datasets
        ],
        code=read_git_revision(record.code_path) if record.code_path else None,
        environment=capture_environment() if record.capture_environment else None,
        include_package_list=False,
    )
    key = load_private_key(vault.model_key, vault.model_key_passphrase)
    envelope = sign_statement(statement, key)
    stored = vault.put_stream(
        io.BytesIO(envelope.to_json()),
        f"{model.name}.provenance",
        kind="attestation",
        labels={"subject": model.reference, "run": record.run_name},
        media_type="application/vnd.dsse.envelope.v1+json",
    )
    run_ref = f"run:{record.run_name}"
    for dataset in datasets:
        vault.link(dataset.reference, run_ref, "input")
    vault.link(run_ref, model.reference, "produced")
    vault.link(model.reference, stored.reference, "attested_by")
    return stored


def verify_attestation(vault: Vault, reference: str) -> VerifiedAttestation:
    """Check a stored attestation's signature and that its subject is the stored model."""
    from mlwarden.store.signing import check_subject, load_public_key, verify_envelope

    record = vault.resolve(reference)
    if record.kind != "attestation":
        raise UsageError(
            reference, f"is a {record.kind}, not an attestation", "pass NAME.provenance"
        )
    if vault.model_public_key is None:
        raise UsageError("attestation", "this vault has no public key", "run `mlwarden init`")
    with vault.plaintext(record) as path:
        data = path.read_bytes()
    statement = verify_envelope(data, load_public_key(vault.model_public_key))
    subject_ref = record.labels.get("subject", "")
    model = vault.resolve(subject_ref)
    check_subject(statement, model.digest, name=model.reference)
    predicate = statement.predicate
    deps = predicate.get("buildDefinition", {}).get("resolvedDependencies", [])
    datasets = tuple(
        f"{d.get('name', d.get('uri'))}@sha256:{d.get('digest', {}).get('sha256', '?')}"
        for d in deps
        if str(d.get("uri", "")).startswith("mlwarden:artifact/")
    )
    commit = next(
        (d["digest"].get("gitCommit") for d in deps if "gitCommit" in d.get("digest", {})), None
    )
    vault.audit("store.verify-attestation", "pass", f"{record.ref} {record.reference}", {})
    return VerifiedAttestation(record, model, datasets, commit)
