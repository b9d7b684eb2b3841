"""Training provenance: SLSA v1 statements, signed and checked as DSSE envelopes."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import platform
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from mlwarden.errors import UsageError
from mlwarden.store.signing import (
    CodeRevision,
    DatasetInput,
    Envelope,
    ModelArtifact,
    PythonEnvironment,
    SignatureError,
    SignatureFailure,
    TrainingRun,
    build_training_provenance,
    capture_environment,
    check_subject,
    key_fingerprint,
    load_envelope,
    save_envelope,
    sign_statement,
    verify_envelope,
)
from mlwarden.store.signing.dsse import sign_envelope
from mlwarden.store.signing.statement import IN_TOTO_PAYLOAD_TYPE

MODEL_DIGEST = hashlib.sha256(b"model weights").hexdigest()
TRAIN_DIGEST = hashlib.sha256(b"train split").hexdigest()
COMMIT = "a" * 40
STARTED = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)

# The fields in-toto Statement v1 and SLSA Provenance v1 require, written from the
# specifications (in-toto attestation spec/v1, slsa.dev/spec/v1.0/provenance).
_DIGEST_SET = {
    "type": "object",
    "minProperties": 1,
    "additionalProperties": {"type": "string", "minLength": 1},
}
_RESOURCE_DESCRIPTOR = {
    "type": "object",
    "anyOf": [{"required": ["uri"]}, {"required": ["digest"]}, {"required": ["content"]}],
    "properties": {
        "uri": {"type": "string"},
        "name": {"type": "string"},
        "digest": _DIGEST_SET,
        "annotations": {"type": "object"},
    },
}
_TIMESTAMP = {
    "type": "string",
    "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$",
}
SLSA_STATEMENT_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["_type", "subject", "predicateType", "predicate"],
    "properties": {
        "_type": {"const": "https://in-toto.io/Statement/v1"},
        "subject": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["digest"],
                "properties": {"digest": _DIGEST_SET},
            },
        },
        "predicateType": {"const": "https://slsa.dev/provenance/v1"},
        "predicate": {
            "type": "object",
            "required": ["buildDefinition", "runDetails"],
            "properties": {
                "buildDefinition": {
                    "type": "object",
                    "required": ["buildType", "externalParameters"],
                    "properties": {
                        "buildType": {"type": "string", "pattern": "^[a-z][a-z0-9+.-]*:"},
                        "externalParameters": {"type": "object"},
                        "internalParameters": {"type": "object"},
                        "resolvedDependencies": {"type": "array", "items": _RESOURCE_DESCRIPTOR},
                    },
                },
                "runDetails": {
                    "type": "object",
                    "required": ["builder"],
                    "properties": {
                        "builder": {
                            "type": "object",
                            "required": ["id"],
                            "properties": {
                                "id": {"type": "string", "pattern": "^[a-z][a-z0-9+.-]*:"}
                            },
                        },
                        "metadata": {
                            "type": "object",
                            "properties": {
                                "invocationId": {"type": "string"},
                                "startedOn": _TIMESTAMP,
                                "finishedOn": _TIMESTAMP,
                            },
                        },
                    },
                },
            },
        },
    },
}


def make_run(**changes: Any) -> TrainingRun:
    fields: dict[str, Any] = {
        "name": "fraud-2026-11-27",
        "entry_point": "train.py",
        "invocation_id": "job-4711",
        "started_on": STARTED,
        "finished_on": STARTED + timedelta(hours=2),
        "command": ("python", "train.py", "--epochs", "10"),
        "hyperparameters": {"epochs": 10, "lr": 0.001, "layers": [64, 32]},
    }
    fields.update(changes)
    return TrainingRun(**fields)


ENVIRONMENT = PythonEnvironment(
    "3.11.9", "CPython", "Linux-x86_64", ("numpy==2.1.0", "torch==2.13.0")
)


def make_statement(**changes: Any) -> Any:
    arguments: dict[str, Any] = {
        "models": [ModelArtifact("fraud.safetensors", MODEL_DIGEST)],
        "run": make_run(),
        "builder_id": "https://ci.example.com/runners/gpu-7",
        "datasets": [DatasetInput("s3://data/train.parquet", TRAIN_DIGEST, name="train")],
        "code": CodeRevision("git+https://github.com/acme/fraud", COMMIT, "refs/heads/main"),
        "environment": ENVIRONMENT,
        "internal_parameters": {"seed": 1234},
    }
    arguments.update(changes)
    return build_training_provenance(**arguments)


def resign(document: dict[str, Any], key: ed25519.Ed25519PrivateKey) -> Envelope:
    """Sign an arbitrary statement document, bypassing the builder's validation."""
    return sign_envelope(IN_TOTO_PAYLOAD_TYPE, json.dumps(document).encode(), key)


@pytest.fixture(scope="module")
def key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


# Building and the round trip ------------------------------------------------------------


@pytest.mark.parametrize(
    "signing_key",
    [ed25519.Ed25519PrivateKey.generate(), ec.generate_private_key(ec.SECP256R1())],
    ids=["ed25519", "ecdsa-p256"],
)
def test_sign_and_verify_round_trip(signing_key: Any) -> None:
    statement = make_statement()
    envelope = sign_statement(statement, signing_key)
    assert envelope.payload_type == "application/vnd.in-toto+json"
    assert envelope.signatures[0].keyid == key_fingerprint(signing_key.public_key())

    verified = verify_envelope(envelope.to_json(), signing_key.public_key())
    assert verified == statement
    assert verified.to_json() == envelope.payload


def test_statement_has_every_required_in_toto_and_slsa_field() -> None:
    document = json.loads(make_statement().to_json())
    jsonschema.validate(document, SLSA_STATEMENT_SCHEMA)
    build = document["predicate"]["buildDefinition"]
    assert document["subject"] == [
        {"name": "fraud.safetensors", "digest": {"sha256": MODEL_DIGEST}}
    ]
    assert build["externalParameters"]["hyperparameters"] == {
        "epochs": 10,
        "lr": 0.001,
        "layers": [64, 32],
    }
    assert build["internalParameters"] == {"seed": 1234}
    dependencies = build["resolvedDependencies"]
    assert {"uri": "s3://data/train.parquet", "digest": {"sha256": TRAIN_DIGEST}}.items() <= (
        dependencies[0].items()
    )
    assert dependencies[1]["uri"] == "git+https://github.com/acme/fraud@refs/heads/main"
    assert dependencies[1]["digest"] == {"gitCommit": COMMIT}
    assert dependencies[2]["digest"] == {"sha256": ENVIRONMENT.packages_digest}
    assert dependencies[2]["annotations"]["packages"] == ["numpy==2.1.0", "torch==2.13.0"]
    metadata_ = document["predicate"]["runDetails"]["metadata"]
    assert metadata_ == {
        "invocationId": "job-4711",
        "startedOn": "2026-11-27T09:00:00Z",
        "finishedOn": "2026-11-27T11:00:00Z",
    }


def test_times_are_recorded_in_utc() -> None:
    cet = timezone(timedelta(hours=1))
    run = make_run(
        started_on=datetime(2026, 11, 27, 10, 0, tzinfo=cet),
        finished_on=datetime(2026, 11, 27, 12, 0, tzinfo=cet),
    )
    metadata_ = make_statement(run=run).predicate["runDetails"]["metadata"]
    assert metadata_["startedOn"] == "2026-11-27T09:00:00Z"


def test_package_list_can_be_left_out_but_its_digest_stays() -> None:
    document = json.loads(make_statement(include_package_list=False).to_json())
    environment = document["predicate"]["buildDefinition"]["resolvedDependencies"][2]
    assert "packages" not in environment["annotations"]
    assert environment["digest"] == {"sha256": ENVIRONMENT.packages_digest}


def test_secrets_in_commands_and_parameters_are_redacted() -> None:
    run = make_run(
        command=(
            "python",
            "train.py",
            "--hf-token=hf_SECRET1",
            "--password",
            "SECRET2",
            "--max-tokens",
            "512",
        ),
        hyperparameters={
            "apiKey": "SECRET3",
            "max_tokens": 512,
            "tokenizer": "bpe",
            "nested": {"client_secret": "SECRET4"},
        },
    )
    text = make_statement(run=run, internal_parameters={"db_password": "SECRET5"}).to_json()
    assert b"SECRET" not in text
    external = json.loads(text)["predicate"]["buildDefinition"]["externalParameters"]
    assert external["command"][-2:] == ["--max-tokens", "512"]
    assert external["hyperparameters"]["max_tokens"] == 512
    assert external["hyperparameters"]["tokenizer"] == "bpe"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"models": []}, "no model"),
        ({"models": [ModelArtifact("m", "abc")]}, "SHA-256"),
        ({"run": make_run(started_on=datetime(2026, 1, 1))}, "time zone"),
        ({"run": make_run(finished_on=STARTED - timedelta(seconds=1))}, "precedes"),
        ({"run": make_run(hyperparameters={"lr": float("nan")})}, "plain JSON"),
        ({"run": make_run(hyperparameters={"lr": object()})}, "plain JSON"),
        ({"builder_id": "gpu-7"}, "URI"),
        ({"code": CodeRevision("git+https://x", "not-a-commit")}, "commit"),
    ],
)
def test_invalid_inputs_are_usage_errors(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        make_statement(**changes)


# Tampering and validation on read --------------------------------------------------------


def test_a_changed_payload_is_rejected(key: ed25519.Ed25519PrivateKey) -> None:
    envelope = json.loads(sign_statement(make_statement(), key).to_json())
    statement = json.loads(base64.b64decode(envelope["payload"]))
    statement["subject"][0]["digest"]["sha256"] = "0" * 64
    envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    with pytest.raises(SignatureError) as caught:
        verify_envelope(json.dumps(envelope).encode(), key.public_key())
    assert caught.value.failure is SignatureFailure.BAD_SIGNATURE


def test_a_changed_signature_is_rejected(key: ed25519.Ed25519PrivateKey) -> None:
    envelope = json.loads(sign_statement(make_statement(), key).to_json())
    sig = bytearray(base64.b64decode(envelope["signatures"][0]["sig"]))
    sig[0] ^= 0x80
    envelope["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
    with pytest.raises(SignatureError) as caught:
        verify_envelope(json.dumps(envelope).encode(), key.public_key())
    assert caught.value.failure is SignatureFailure.BAD_SIGNATURE


def test_another_key_is_rejected(key: ed25519.Ed25519PrivateKey) -> None:
    envelope = sign_statement(make_statement(), key)
    with pytest.raises(SignatureError) as caught:
        verify_envelope(envelope, ed25519.Ed25519PrivateKey.generate().public_key())
    assert caught.value.failure is SignatureFailure.WRONG_KEY


def test_other_payload_and_predicate_types_are_rejected(key: ed25519.Ed25519PrivateKey) -> None:
    payload = make_statement().to_json()
    with pytest.raises(SignatureError) as caught:
        verify_envelope(sign_envelope("application/json", payload, key), key.public_key())
    assert caught.value.failure is SignatureFailure.WRONG_PREDICATE

    document = json.loads(payload)
    document["predicateType"] = "https://spdx.dev/Document"
    with pytest.raises(SignatureError) as caught:
        verify_envelope(resign(document, key), key.public_key())
    assert caught.value.failure is SignatureFailure.WRONG_PREDICATE
    assert verify_envelope(resign(document, key), key.public_key(), predicate_type=None)


def _delete(*path: str | int) -> Callable[[dict[str, Any]], None]:
    def edit(document: dict[str, Any]) -> None:
        target: Any = document
        for step in path[:-1]:
            target = target[step]
        del target[path[-1]]

    return edit


def _set(value: Any, *path: str | int) -> Callable[[dict[str, Any]], None]:
    def edit(document: dict[str, Any]) -> None:
        target: Any = document
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return edit


INVALID_STATEMENTS = {
    "no _type": (_delete("_type"), "_type"),
    "old statement type": (_set("https://in-toto.io/Statement/v0.1", "_type"), "_type"),
    "no subject": (_set([], "subject"), "subject"),
    "subject without digest": (_delete("subject", 0, "digest"), "digest"),
    "upper-case digest": (_set({"sha256": "A" * 64}, "subject", 0, "digest"), "hex"),
    "short digest": (_set({"sha256": "ab"}, "subject", 0, "digest"), "hex"),
    "no buildDefinition": (_delete("predicate", "buildDefinition"), "buildDefinition"),
    "no buildType": (_delete("predicate", "buildDefinition", "buildType"), "buildType"),
    "no externalParameters": (
        _delete("predicate", "buildDefinition", "externalParameters"),
        "externalParameters",
    ),
    "dependency without uri or digest": (
        _set([{"name": "x"}], "predicate", "buildDefinition", "resolvedDependencies"),
        "uri, digest, content",
    ),
    "no builder id": (_delete("predicate", "runDetails", "builder", "id"), "builder.id"),
    "bad timestamp": (
        _set("yesterday", "predicate", "runDetails", "metadata", "startedOn"),
        "RFC 3339",
    ),
    "finished before started": (
        _set("2026-11-27T08:00:00Z", "predicate", "runDetails", "metadata", "finishedOn"),
        "precedes",
    ),
}


@pytest.mark.parametrize("case", sorted(INVALID_STATEMENTS))
def test_invalid_statements_are_rejected_even_when_signed(
    case: str, key: ed25519.Ed25519PrivateKey
) -> None:
    edit, message = INVALID_STATEMENTS[case]
    document = copy.deepcopy(json.loads(make_statement().to_json()))
    edit(document)
    with pytest.raises(SignatureError, match=message) as caught:
        verify_envelope(resign(document, key), key.public_key())
    assert caught.value.failure is SignatureFailure.MALFORMED


def test_ambiguous_or_oversized_payloads_are_rejected(key: ed25519.Ed25519PrivateKey) -> None:
    duplicated = b'{"_type": "x", ' + make_statement().to_json()[1:]
    envelope = sign_envelope(IN_TOTO_PAYLOAD_TYPE, duplicated, key)
    with pytest.raises(SignatureError, match="twice"):
        verify_envelope(envelope, key.public_key())
    with pytest.raises(SignatureError, match="larger than"):
        verify_envelope(b" " * (16 * 1024 * 1024 + 1), key.public_key())


# Subjects and files -----------------------------------------------------------------------


def test_check_subject_finds_the_artifact() -> None:
    statement = make_statement(
        models=[ModelArtifact("a.pt", MODEL_DIGEST), ModelArtifact("b.pt", TRAIN_DIGEST)]
    )
    assert check_subject(statement, f"sha256:{TRAIN_DIGEST}").name == "b.pt"
    assert check_subject(statement, MODEL_DIGEST.upper(), name="a.pt").name == "a.pt"
    with pytest.raises(SignatureError) as caught:
        check_subject(statement, hashlib.sha256(b"other").hexdigest())
    assert caught.value.failure is SignatureFailure.SUBJECT_MISMATCH
    with pytest.raises(SignatureError):
        check_subject(statement, MODEL_DIGEST, name="b.pt")


def test_envelope_files_round_trip(tmp_path: Path, key: ed25519.Ed25519PrivateKey) -> None:
    envelope = sign_statement(make_statement(), key)
    save_envelope(envelope, tmp_path / "run.intoto.json")
    assert load_envelope(tmp_path / "run.intoto.json") == envelope


def test_captured_environment_describes_this_interpreter() -> None:
    environment = capture_environment()
    assert environment.python_version == platform.python_version()
    assert f"pytest=={metadata.version('pytest')}" in environment.packages
    assert list(environment.packages) == sorted(set(environment.packages))
    listing = "".join(f"{p}\n" for p in environment.packages).encode()
    assert environment.packages_digest == hashlib.sha256(listing).hexdigest()
