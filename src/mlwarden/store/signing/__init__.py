"""Signatures and provenance for models and training runs.

- ``model_signatures``: OpenSSF model-signing bundles (``model.sig``) made and checked
  with local ECDSA keys; other tools (``model_signing`` itself) verify them too.
- ``provenance``: SLSA Provenance v1 statements for training runs, signed as DSSE
  envelopes; ``git_revision`` and ``python_environment`` capture their inputs.
- ``keys``: key generation and loading; one fingerprint (SHA-256 of the PEM public key)
  names a key in bundles and envelopes alike.

Every verification failure is a :class:`SignatureError` whose ``failure`` says why.
Importing this package does not import ``model_signing`` (it loads on first use).
"""

from mlwarden.store.signing.dsse import (
    Envelope,
    EnvelopeSignature,
    load_envelope,
    pae,
    save_envelope,
)
from mlwarden.store.signing.errors import SignatureError, SignatureFailure
from mlwarden.store.signing.git_revision import CodeRevision, read_git_revision
from mlwarden.store.signing.keys import (
    generate_signing_key,
    key_fingerprint,
    load_private_key,
    load_public_key,
)
from mlwarden.store.signing.model_bundle import CoveredFile, SignedManifest
from mlwarden.store.signing.model_signatures import (
    SignatureInfo,
    VerifiedSignature,
    artifact_workspace,
    sign_artifact_bytes,
    sign_model,
    sign_model_bundle,
    verify_artifact_bytes,
    verify_model,
    verify_model_bundle,
)
from mlwarden.store.signing.provenance import (
    SLSA_PROVENANCE_V1,
    TRAINING_BUILD_TYPE,
    DatasetInput,
    ModelArtifact,
    TrainingRun,
    build_training_provenance,
    sign_statement,
    verify_envelope,
)
from mlwarden.store.signing.python_environment import PythonEnvironment, capture_environment
from mlwarden.store.signing.statement import Statement, Subject, check_subject, parse_statement

__all__ = [
    "SLSA_PROVENANCE_V1",
    "TRAINING_BUILD_TYPE",
    "CodeRevision",
    "CoveredFile",
    "DatasetInput",
    "Envelope",
    "EnvelopeSignature",
    "ModelArtifact",
    "PythonEnvironment",
    "SignatureError",
    "SignatureFailure",
    "SignatureInfo",
    "SignedManifest",
    "Statement",
    "Subject",
    "TrainingRun",
    "VerifiedSignature",
    "artifact_workspace",
    "build_training_provenance",
    "capture_environment",
    "check_subject",
    "generate_signing_key",
    "key_fingerprint",
    "load_envelope",
    "load_private_key",
    "load_public_key",
    "pae",
    "parse_statement",
    "read_git_revision",
    "save_envelope",
    "sign_artifact_bytes",
    "sign_model",
    "sign_model_bundle",
    "sign_statement",
    "verify_artifact_bytes",
    "verify_envelope",
    "verify_model",
    "verify_model_bundle",
]
