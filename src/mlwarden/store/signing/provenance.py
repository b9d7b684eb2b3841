"""SLSA Provenance v1 for training runs, as signed in-toto Statements in DSSE envelopes.

A training run is a build whose outputs are models: the statement's subjects are the
models (name and SHA-256), ``buildDefinition`` records what was asked for (run name,
entry point, command, hyperparameters) and what was used (datasets, code commit, Python
environment), and ``runDetails`` who ran it and when.

    statement = build_training_provenance(models=[...], run=run, builder_id=..., ...)
    envelope = sign_statement(statement, private_key)      # DSSE, keyid = key fingerprint
    statement = verify_envelope(envelope, public_key)      # signature, type, structure
    check_subject(statement, "sha256:…")                   # this artifact is the subject

Specifications: https://slsa.dev/spec/v1.0/provenance and in-toto attestation v1.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeAlias

from mlwarden.errors import UsageError
from mlwarden.store.signing.dsse import Envelope, check_envelope_signature, sign_envelope
from mlwarden.store.signing.errors import SignatureError, SignatureFailure
from mlwarden.store.signing.git_revision import CodeRevision
from mlwarden.store.signing.keys import PrivateKey, PublicKey
from mlwarden.store.signing.python_environment import PythonEnvironment
from mlwarden.store.signing.statement import (
    IN_TOTO_PAYLOAD_TYPE,
    Statement,
    Subject,
    check_resource_descriptor,
    check_subject,
    is_uri,
    malformed,
    parse_statement,
)

__all__ = [
    "SLSA_PROVENANCE_V1",
    "TRAINING_BUILD_TYPE",
    "DatasetInput",
    "ModelArtifact",
    "TrainingRun",
    "build_training_provenance",
    "check_subject",
    "sign_statement",
    "validate_slsa_provenance",
    "verify_envelope",
]

SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1"
"""predicateType of SLSA Provenance v1."""
TRAINING_BUILD_TYPE = "https://mlwarden.dev/provenance/training/v1"
"""buildType of an mlwarden training run; defines the parameters recorded below."""
REDACTED = "[redacted]"
"""What replaces values whose names say they are secrets."""

JsonValue: TypeAlias = "bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None"

_SHA256 = re.compile(r"[0-9a-f]{64}")
_SECRET_WORDS = frozenset(
    {
        "password",
        "passwd",
        "passphrase",
        "pwd",
        "secret",
        "token",
        "apikey",
        "credential",
        "credentials",
    }
)
_SECRET_PAIRS = frozenset({("api", "key"), ("private", "key"), ("access", "key")})


@dataclass(frozen=True)
class ModelArtifact:
    """A model the run produced: a subject of the statement."""

    name: str
    """The model's file name or catalog name."""
    sha256: str
    """Lowercase hex SHA-256 of the file (for a folder, the model-signing root digest)."""


@dataclass(frozen=True)
class DatasetInput:
    """A dataset the run read."""

    uri: str
    """Where it lives, e.g. ``s3://bucket/train.parquet`` or ``mlwarden://artifact/…``."""
    sha256: str
    """Lowercase hex SHA-256 of its content."""
    name: str | None = None
    """A human name, e.g. ``train``."""


@dataclass(frozen=True)
class TrainingRun:
    """What was run, and when.

    ``command`` and ``hyperparameters`` are recorded verbatim except for values whose
    option or key name says they are secrets (password, token, secret, api key,
    credential), which become ``[redacted]``; still, never pass secrets here.
    """

    name: str
    """The run's name, e.g. ``resnet50-2026-11-27``."""
    entry_point: str
    """The script or module trained with, e.g. ``train.py``."""
    invocation_id: str
    """An id unique to this run (a job id, a UUID)."""
    started_on: datetime
    """Start time; must carry a time zone."""
    finished_on: datetime
    """End time; must carry a time zone and not precede ``started_on``."""
    command: tuple[str, ...] = ()
    """The command line, e.g. ``("python", "train.py", "--epochs", "10")``."""
    hyperparameters: Mapping[str, JsonValue] = field(default_factory=dict)
    """JSON values (no NaN or infinities)."""


def build_training_provenance(
    *,
    models: Sequence[ModelArtifact],
    run: TrainingRun,
    builder_id: str,
    datasets: Sequence[DatasetInput] = (),
    code: CodeRevision | None = None,
    environment: PythonEnvironment | None = None,
    include_package_list: bool = True,
    internal_parameters: Mapping[str, JsonValue] | None = None,
    builder_version: Mapping[str, str] | None = None,
) -> Statement:
    """An in-toto Statement with an SLSA v1 predicate describing one training run.

    ``builder_id`` is a URI for the platform that ran the training (it is what verifiers
    trust). ``code`` and ``environment`` come from :func:`read_git_revision` and
    :func:`capture_environment`, or are built by hand. The environment is always recorded
    by the digest of its package list; ``include_package_list`` adds the list itself.
    Invalid inputs raise :class:`UsageError`.
    """
    if not models:
        raise UsageError("models", "no model given", "pass the artifacts the run produced")
    subjects = tuple(
        Subject(name=_text(m.name, "model name"), digest={"sha256": _sha256(m.sha256, m.name)})
        for m in models
    )
    _check_times(run)
    external: dict[str, Any] = {
        "runName": _text(run.name, "run name"),
        "entryPoint": _text(run.entry_point, "entry point"),
        "command": _redact_command(run.command),
        "hyperparameters": _json_object(_redact(run.hyperparameters), "hyperparameters"),
    }
    dependencies = [_dataset_descriptor(d) for d in datasets]
    if code is not None:
        dependencies.append(_code_descriptor(code))
    if environment is not None:
        dependencies.append(_environment_descriptor(environment, include_package_list))
    builder: dict[str, Any] = {"id": _uri(builder_id, "builder id")}
    if builder_version:
        builder["version"] = {str(k): str(v) for k, v in builder_version.items()}
    predicate = {
        "buildDefinition": {
            "buildType": TRAINING_BUILD_TYPE,
            "externalParameters": external,
            "internalParameters": _json_object(
                _redact(internal_parameters or {}), "internal parameters"
            ),
            "resolvedDependencies": dependencies,
        },
        "runDetails": {
            "builder": builder,
            "metadata": {
                "invocationId": _text(run.invocation_id, "invocation id"),
                "startedOn": _timestamp(run.started_on),
                "finishedOn": _timestamp(run.finished_on),
            },
        },
    }
    return Statement(subjects=subjects, predicate_type=SLSA_PROVENANCE_V1, predicate=predicate)


def sign_statement(statement: Statement, key: PrivateKey) -> Envelope:
    """Sign a statement as a DSSE envelope (payloadType ``application/vnd.in-toto+json``)."""
    return sign_envelope(IN_TOTO_PAYLOAD_TYPE, statement.to_json(), key)


def verify_envelope(
    envelope: Envelope | bytes,
    public_key: PublicKey,
    *,
    predicate_type: str | None = SLSA_PROVENANCE_V1,
    source: str = "provenance envelope",
) -> Statement:
    """Check an envelope's signature and content and return the statement it carries.

    ``envelope`` may be the parsed form or its JSON bytes. The signature must verify with
    ``public_key``, the payload type must be in-toto, the statement valid in-toto v1, its
    predicate type ``predicate_type`` (``None`` accepts any), and an SLSA v1 predicate
    must have the required fields. Raises :class:`SignatureError`; ``source`` names the
    envelope in its message.
    """
    if isinstance(envelope, bytes):
        envelope = Envelope.from_json(envelope, source)
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE:
        raise SignatureError(
            source,
            f"the payload type is {envelope.payload_type!r}, not {IN_TOTO_PAYLOAD_TYPE}",
            "give an in-toto attestation envelope",
            failure=SignatureFailure.WRONG_PREDICATE,
        )
    check_envelope_signature(envelope, public_key, source)
    statement = parse_statement(envelope.payload, source)
    if predicate_type is not None and statement.predicate_type != predicate_type:
        raise SignatureError(
            source,
            f"the predicate type is {statement.predicate_type}, not {predicate_type}",
            "give an attestation of the expected kind",
            failure=SignatureFailure.WRONG_PREDICATE,
        )
    if statement.predicate_type == SLSA_PROVENANCE_V1:
        validate_slsa_provenance(statement.predicate, source)
    return statement


def validate_slsa_provenance(predicate: Mapping[str, Any], source: str) -> None:
    """Check the fields SLSA Provenance v1 requires, and the types of the optional ones.

    Required: ``buildDefinition.buildType`` (URI), ``buildDefinition.externalParameters``
    (object), ``runDetails.builder.id`` (URI). Optional fields, when present, must have
    the specified types; timestamps must be RFC 3339 with a time zone. Unknown fields are
    ignored, as the specification requires. Raises ``MALFORMED`` :class:`SignatureError`.
    """
    build = _field_object(predicate, "buildDefinition", source, "predicate")
    if not is_uri(build.get("buildType")):
        raise malformed(source, "buildDefinition.buildType is missing or not a URI")
    if not isinstance(build.get("externalParameters"), dict):
        raise malformed(source, "buildDefinition.externalParameters is missing or not an object")
    if "internalParameters" in build and not isinstance(build["internalParameters"], dict):
        raise malformed(source, "buildDefinition.internalParameters is not an object")
    _descriptor_list(build, "resolvedDependencies", source, "buildDefinition")
    details = _field_object(predicate, "runDetails", source, "predicate")
    builder = _field_object(details, "builder", source, "runDetails")
    if not is_uri(builder.get("id")):
        raise malformed(source, "runDetails.builder.id is missing or not a URI")
    version = builder.get("version", {})
    if not isinstance(version, dict) or not all(isinstance(v, str) for v in version.values()):
        raise malformed(source, "runDetails.builder.version is not an object of strings")
    _descriptor_list(builder, "builderDependencies", source, "runDetails.builder")
    _descriptor_list(details, "byproducts", source, "runDetails")
    metadata = details.get("metadata", {})
    if not isinstance(metadata, dict):
        raise malformed(source, "runDetails.metadata is not an object")
    if "invocationId" in metadata and not isinstance(metadata["invocationId"], str):
        raise malformed(source, "runDetails.metadata.invocationId is not a string")
    times = {
        key: _parse_timestamp(metadata[key], source, f"runDetails.metadata.{key}")
        for key in ("startedOn", "finishedOn")
        if key in metadata
    }
    if len(times) == 2 and times["finishedOn"] < times["startedOn"]:
        raise malformed(source, "runDetails.metadata.finishedOn precedes startedOn")


def _dataset_descriptor(dataset: DatasetInput) -> dict[str, Any]:
    descriptor: dict[str, Any] = {
        "uri": _text(dataset.uri, "dataset uri"),
        "digest": {"sha256": _sha256(dataset.sha256, dataset.uri)},
        "annotations": {"role": "dataset"},
    }
    if dataset.name:
        descriptor["name"] = dataset.name
    return descriptor


def _code_descriptor(code: CodeRevision) -> dict[str, Any]:
    commit = code.commit.lower()
    if not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", commit):
        raise UsageError(
            f"commit {code.commit[:80]!r}", "is not a git commit id", "give 40 or 64 hex"
        )
    uri = _text(code.repo_uri, "repository uri")
    return {
        "uri": f"{uri}@{code.ref}" if code.ref else uri,
        "digest": {"gitCommit": commit},
        "annotations": {"role": "code"},
    }


def _environment_descriptor(environment: PythonEnvironment, with_packages: bool) -> dict[str, Any]:
    annotations: dict[str, Any] = {
        "role": "environment",
        "pythonVersion": environment.python_version,
        "implementation": environment.implementation,
        "platform": environment.platform,
    }
    if with_packages:
        annotations["packages"] = list(environment.packages)
    return {
        "name": "python-environment",
        "digest": {"sha256": environment.packages_digest},
        "annotations": annotations,
    }


def _check_times(run: TrainingRun) -> None:
    for label, moment in (("started_on", run.started_on), ("finished_on", run.finished_on)):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise UsageError(f"run {label}", "has no time zone", "pass an aware datetime (UTC)")
    if run.finished_on < run.started_on:
        raise UsageError("run finished_on", "precedes started_on", "check the run's times")


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse_timestamp(value: object, source: str, where: str) -> datetime:
    if not isinstance(value, str) or "T" not in value.upper():
        raise malformed(source, f"{where} is not an RFC 3339 timestamp")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise malformed(source, f"{where} is not an RFC 3339 timestamp") from None
    if moment.tzinfo is None:
        raise malformed(source, f"{where} has no time zone")
    return moment


def _redact_command(command: Sequence[str]) -> list[str]:
    result: list[str] = []
    hide_next = False
    for arg in command:
        if not isinstance(arg, str):
            raise UsageError("run command", "holds a value that is not a string", "pass strings")
        if hide_next:
            result.append(REDACTED)
            hide_next = False
            continue
        option, equals, _ = arg.partition("=")
        secret = option.startswith("-") and _is_secret_name(option)
        if secret and equals:
            result.append(f"{option}={REDACTED}")
        else:
            result.append(arg)
            hide_next = secret
    return result


def _redact(values: Mapping[str, JsonValue]) -> dict[str, JsonValue]:
    result: dict[str, JsonValue] = {}
    for key, value in values.items():
        if isinstance(key, str) and _is_secret_name(key):
            result[key] = REDACTED
        elif isinstance(value, Mapping):
            result[key] = _redact(value)
        else:
            result[key] = value
    return result


def _is_secret_name(name: str) -> bool:
    """Whether an option or key name says its value is a secret (``hf_token``, ``apiKey``).

    Whole words only, so ``max_tokens`` and ``tokenizer`` stay visible.
    """
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()
    words = [w for w in re.split(r"[^a-z0-9]+", spaced) if w]
    return any(w in _SECRET_WORDS for w in words) or any(
        pair in _SECRET_PAIRS for pair in itertools.pairwise(words)
    )


def _json_object(values: dict[str, JsonValue], what: str) -> dict[str, Any]:
    # A round trip proves the values are plain JSON and detaches them from the caller.
    try:
        text = json.dumps(values, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise UsageError(
            what, f"are not plain JSON values ({exc})", "pass str, numbers, lists, dicts"
        ) from None
    result: dict[str, Any] = json.loads(text)
    return result


def _sha256(value: str, owner: str) -> str:
    digest = value.lower().removeprefix("sha256:")
    if not _SHA256.fullmatch(digest):
        raise UsageError(
            f"digest of {owner[:80]!r}", "is not a SHA-256 hex digest", "give 64 hex digits"
        )
    return digest


def _text(value: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise UsageError(what, "is empty", f"give a {what}")
    return value


def _uri(value: str, what: str) -> str:
    if not is_uri(value):
        raise UsageError(
            f"{what} {str(value)[:80]!r}", "is not a URI", "use e.g. https://example.com/builder"
        )
    return value


def _field_object(parent: Mapping[str, Any], key: str, source: str, where: str) -> dict[str, Any]:
    value = parent.get(key)
    if not isinstance(value, dict):
        raise malformed(source, f"{where}.{key} is missing or not an object")
    return value


def _descriptor_list(parent: Mapping[str, Any], key: str, source: str, where: str) -> None:
    if key not in parent:
        return
    values = parent[key]
    if not isinstance(values, list):
        raise malformed(source, f"{where}.{key} is not a list")
    for index, value in enumerate(values):
        check_resource_descriptor(value, source, f"{where}.{key}[{index}]")
