"""Sign and verify models in the OpenSSF model-signing format, with local keys only.

The bundle is what ``model_signing`` writes in key mode (``model.sig``): a Sigstore bundle
whose DSSE envelope carries an in-toto Statement listing every file's digest. Anyone with
the public key can check it with the ``model_signing`` tool itself; Sigstore keyless and
every other online mode are never used.

Verification is layered so that each failure is named: the bundle is parsed strictly
(``model_bundle``), the key fingerprint and the DSSE signature are checked here, then
``model_signing`` itself hashes the model and compares; if it refuses, the model is hashed
again to list exactly which files were modified, added or removed.

For the vault (which holds encrypted blobs): decrypt into :func:`artifact_workspace`, whose
path is named after the artifact, and call :func:`sign_model_bundle` on it; or hand bytes
in memory to :func:`sign_artifact_bytes`. A single-file model is recorded under its file
name, so the bundle names the artifact and stays valid wherever the file is later copied.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import ModuleType
from typing import Any, cast

from cryptography.hazmat.primitives.asymmetric import ec

from mlwarden.errors import UsageError
from mlwarden.store.atomic_file import write_atomically
from mlwarden.store.signing.bounded_reading import read_bounded, read_signed_document
from mlwarden.store.signing.dsse import check_envelope_signature
from mlwarden.store.signing.errors import SignatureError, SignatureFailure
from mlwarden.store.signing.keys import (
    PublicKey,
    key_fingerprint,
    load_private_key,
    load_public_key,
    public_pem,
)
from mlwarden.store.signing.model_bundle import (
    MAX_BUNDLE_BYTES,
    SignedManifest,
    parse_model_bundle,
)

MAX_ARTIFACT_NAME_BYTES = 255
"""Longest artifact name (a file name on common filesystems)."""
_LISTED_PATHS = 10
_FIX_KEY_TYPE = "model-signing accepts ECDSA keys (P-256, P-384, P-521): use generate_signing_key"


@dataclass(frozen=True)
class SignatureInfo:
    """The result of signing a model."""

    bundle: bytes
    """The bundle as written (JSON), ready to store in the catalog."""
    signature_path: Path | None
    """Where the bundle was written, or ``None`` when only its bytes were returned."""
    key_fingerprint: str
    """SHA-256 of the signer's PEM public key (the bundle's key hint)."""
    manifest: SignedManifest
    """The files and digests the signature covers."""


@dataclass(frozen=True)
class VerifiedSignature:
    """A model that matched its signature."""

    model_path: Path
    """The model verified (for in-memory artifacts, the artifact name)."""
    key_fingerprint: str
    """SHA-256 of the public key that verified the signature."""
    manifest: SignedManifest
    """The files and digests covered; ``manifest.root_digest`` names the whole model."""


def sign_model(
    model_path: Path | str,
    private_key_path: Path | str,
    signature_path: Path | str,
    *,
    passphrase: str | bytes | None = None,
    ignore_paths: Iterable[str | Path] = (),
    ignore_git_paths: bool = True,
) -> SignatureInfo:
    """Sign a model file or folder and write the bundle atomically to ``signature_path``.

    Every file under a folder is covered except ``ignore_paths`` (relative to the folder),
    the git metadata (``.git``, ``.gitattributes``, ``.github``, ``.gitignore``) unless
    ``ignore_git_paths`` is false, and the signature file itself when it lies inside the
    folder. The ignored paths are recorded in the bundle. Symbolic links are refused.
    Bad arguments (missing model, unreadable key, wrong passphrase, non-ECDSA key) raise
    :class:`UsageError`.
    """
    signature = Path(signature_path)
    model = Path(model_path)
    if signature.resolve() == model.resolve():
        raise UsageError(str(signature), "is the model itself", "write the signature elsewhere")
    info = _sign(
        model,
        Path(private_key_path),
        passphrase=passphrase,
        ignore_paths=[*ignore_paths, *_inside(model, signature)],
        ignore_git_paths=ignore_git_paths,
    )
    write_atomically(signature, info.bundle)
    return SignatureInfo(info.bundle, signature, info.key_fingerprint, info.manifest)


def sign_model_bundle(
    model_path: Path | str,
    private_key_path: Path | str,
    *,
    passphrase: str | bytes | None = None,
    ignore_paths: Iterable[str | Path] = (),
    ignore_git_paths: bool = True,
) -> SignatureInfo:
    """Sign like :func:`sign_model` but return the bundle bytes without writing a file."""
    return _sign(
        Path(model_path),
        Path(private_key_path),
        passphrase=passphrase,
        ignore_paths=list(ignore_paths),
        ignore_git_paths=ignore_git_paths,
    )


def verify_model(
    model_path: Path | str,
    signature_path: Path | str,
    public_key_path: Path | str,
    *,
    expected_name: str | None = None,
) -> VerifiedSignature:
    """Check a model file or folder against its bundle and the signer's public key.

    Returns what was verified. Raises :class:`SignatureError` naming the failure: a
    malformed or unsupported bundle, a bundle from another key (``WRONG_KEY``), an altered
    bundle (``BAD_SIGNATURE``), modified, extra or missing files (with their paths), or a
    subject name other than ``expected_name`` when one is given. A missing model or an
    unusable key file is a :class:`UsageError`.
    """
    signature = Path(signature_path)
    bundle = read_signed_document(signature, MAX_BUNDLE_BYTES, "signature bundle")
    return verify_model_bundle(
        model_path, bundle, public_key_path, bundle_name=str(signature), expected_name=expected_name
    )


def verify_model_bundle(
    model_path: Path | str,
    bundle: bytes,
    public_key_path: Path | str,
    *,
    bundle_name: str = "signature bundle",
    expected_name: str | None = None,
) -> VerifiedSignature:
    """Verify like :func:`verify_model` with bundle bytes (e.g. from the catalog).

    ``bundle_name`` names the bundle in error messages.
    """
    model = Path(model_path)
    _check_model_path(model)
    parsed = parse_model_bundle(bundle, bundle_name)
    key = load_public_key(public_key_path)
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise UsageError(str(public_key_path), "is not an ECDSA public key", _FIX_KEY_TYPE)
    fingerprint = key_fingerprint(key)
    if parsed.key_hint != fingerprint:
        raise SignatureError(
            bundle_name,
            f"it was signed by the key {parsed.key_hint[:16]}…, "
            f"not by the given public key {fingerprint[:16]}…",
            "verify with the signer's public key, or re-sign the model with this key pair",
            failure=SignatureFailure.WRONG_KEY,
        )
    check_envelope_signature(parsed.envelope, key, bundle_name)
    if not parsed.manifest.files:
        # An empty manifest would accept any model whose files are all ignored.
        raise SignatureError(
            bundle_name,
            "the signature covers no files",
            "sign the model again without ignoring all of it",
            failure=SignatureFailure.UNSUPPORTED,
        )
    if expected_name is not None and parsed.manifest.model_name != expected_name:
        raise SignatureError(
            bundle_name,
            f"it signs the model {parsed.manifest.model_name!r}, not {expected_name!r}",
            "use the bundle stored with this artifact",
            failure=SignatureFailure.SUBJECT_MISMATCH,
        )
    _library_verify(model, bundle, key, parsed.manifest)
    return VerifiedSignature(
        model_path=model, key_fingerprint=fingerprint, manifest=parsed.manifest
    )


@contextmanager
def artifact_workspace(artifact_name: str) -> Iterator[Path]:
    """Yield ``<private temp folder>/<artifact_name>``; the folder is removed afterwards.

    The folder is created mode 0700, so decrypted content written there is readable only by
    this user. The artifact name must be a plain file name (:class:`UsageError` otherwise).
    """
    check_artifact_name(artifact_name)
    with tempfile.TemporaryDirectory(prefix="mlwarden-artifact-") as scratch:
        yield Path(scratch) / artifact_name


def sign_artifact_bytes(
    content: bytes,
    artifact_name: str,
    private_key_path: Path | str,
    *,
    passphrase: str | bytes | None = None,
) -> SignatureInfo:
    """Sign content held in memory as a single-file model named ``artifact_name``."""
    with artifact_workspace(artifact_name) as path:
        _write_private(path, content)
        return sign_model_bundle(path, private_key_path, passphrase=passphrase)


def verify_artifact_bytes(
    content: bytes, artifact_name: str, bundle: bytes, public_key_path: Path | str
) -> VerifiedSignature:
    """Verify in-memory content against a bundle made by :func:`sign_artifact_bytes`.

    Besides the content and key, the bundle must name ``artifact_name`` (a bundle made for
    another artifact fails with ``SUBJECT_MISMATCH`` even when the bytes are equal).
    """
    with artifact_workspace(artifact_name) as path:
        _write_private(path, content)
        verified = verify_model_bundle(
            path,
            bundle,
            public_key_path,
            bundle_name=f"signature bundle of {artifact_name}",
            expected_name=artifact_name,
        )
    return VerifiedSignature(Path(artifact_name), verified.key_fingerprint, verified.manifest)


def check_artifact_name(name: str) -> None:
    """Refuse names that are not one plain path component (no separators, ``..``, NUL)."""
    problem = None
    if not name or name in (".", ".."):
        problem = "is not a file name"
    elif "/" in name or "\\" in name:
        problem = "contains a path separator"
    elif any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        problem = "contains a control character"
    elif len(name.encode("utf-8", "surrogatepass")) > MAX_ARTIFACT_NAME_BYTES:
        problem = f"is longer than {MAX_ARTIFACT_NAME_BYTES} bytes"
    if problem:
        raise UsageError(f"artifact name {name[:80]!r}", problem, "use a plain file name")


def _sign(
    model: Path,
    key_path: Path,
    *,
    passphrase: str | bytes | None,
    ignore_paths: list[str | Path],
    ignore_git_paths: bool,
) -> SignatureInfo:
    _check_model_path(model)
    key = load_private_key(key_path, passphrase)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise UsageError(str(key_path), "is not an ECDSA private key", _FIX_KEY_TYPE)
    ignored = [_relative_ignore(model, p) for p in ignore_paths]
    library = _model_signing()
    hashing_config = library.hashing.Config().set_ignored_paths(
        paths=ignored, ignore_git_paths=ignore_git_paths
    )
    secret = passphrase.encode("utf-8") if isinstance(passphrase, str) else passphrase
    config = (
        library.signing.Config()
        # model-signing 1.1 annotates the password as str but hands it to cryptography,
        # which needs bytes: pass bytes.
        .use_elliptic_key_signer(private_key=key_path, password=cast(Any, secret or None))
        .set_hashing_config(hashing_config)
    )
    with tempfile.TemporaryDirectory(prefix="mlwarden-sign-") as scratch:
        output = Path(scratch) / "model.sig"
        try:
            config.sign(model, output)
        except (ValueError, OSError) as exc:
            raise UsageError(
                str(model),
                f"cannot be signed: {exc}",
                "remove symbolic links and special files, or list them in ignore_paths",
            ) from None
        bundle = read_bounded(output, MAX_BUNDLE_BYTES, "signature bundle")
    parsed = parse_model_bundle(bundle, f"bundle signed for {model}")
    if not parsed.manifest.files:
        raise UsageError(str(model), "holds no files to sign", "check the path and ignore_paths")
    return SignatureInfo(bundle, None, parsed.key_hint, parsed.manifest)


def _library_verify(model: Path, bundle: bytes, key: PublicKey, manifest: SignedManifest) -> None:
    library = _model_signing()
    with tempfile.TemporaryDirectory(prefix="mlwarden-verify-") as scratch:
        # Hand the library exactly the bytes and key checked above, not the paths again:
        # files could change in between.
        signature = Path(scratch) / "model.sig"
        signature.write_bytes(bundle)
        key_file = Path(scratch) / "key.pub"
        key_file.write_bytes(public_pem(key))
        config = library.verifying.Config().use_elliptic_key_verifier(public_key=key_file)
        try:
            config.verify(model, signature)
        except Exception as exc:  # the library raises ValueError, KeyError, InvalidSignature…
            raise _explain_failure(model, manifest, exc) from None


def _explain_failure(model: Path, manifest: SignedManifest, cause: Exception) -> SignatureError:
    """Hash the model again to say which files differ from the signed manifest."""
    library = _model_signing()
    config = library.hashing.Config()
    if manifest.serialization == "shards":
        config.use_shard_serialization(
            hashing_algorithm=manifest.hash_algorithm,
            shard_size=manifest.shard_size,
            allow_symlinks=manifest.allow_symlinks,
        )
    else:
        config.use_file_serialization(
            hashing_algorithm=manifest.hash_algorithm, allow_symlinks=manifest.allow_symlinks
        )
    # As model-signing's verifier does: the recorded ignores plus the git metadata.
    config.set_ignored_paths(paths=manifest.ignored_paths).set_allow_symlinks(
        manifest.allow_symlinks
    )
    try:
        actual_manifest = config.hash(model)
    except (ValueError, OSError) as exc:
        return SignatureError(
            str(model),
            f"cannot be hashed: {exc}",
            "remove symbolic links and special files, or fix permissions",
            failure=SignatureFailure.UNREADABLE_MODEL,
        )

    # A single-file model is recorded as "."; report it by its file name instead.
    def shown(name: str) -> str:
        return model.name if name == "." else name

    actual = {
        shown(str(d.identifier)): d.digest.digest_hex
        for d in actual_manifest.resource_descriptors()
    }
    expected = {shown(f.name): f.digest for f in manifest.files}
    modified = tuple(sorted(n for n in expected.keys() & actual.keys() if expected[n] != actual[n]))
    extra = tuple(sorted(actual.keys() - expected.keys()))
    missing = tuple(sorted(expected.keys() - actual.keys()))
    if not (modified or extra or missing):
        return SignatureError(
            str(model),
            f"model-signing refused the signature: {cause}",
            "re-sign the model with mlwarden or model-signing 1.x",
            failure=SignatureFailure.MALFORMED,
        )
    parts = [
        f"{label} {_list_paths(paths)}"
        for label, paths in (("modified:", modified), ("not signed:", extra), ("missing:", missing))
        if paths
    ]
    failure = (
        SignatureFailure.MODIFIED
        if modified
        else SignatureFailure.EXTRA_FILES
        if extra
        else SignatureFailure.MISSING_FILES
    )
    return SignatureError(
        str(model),
        "the model does not match its signature; " + "; ".join(parts),
        "restore the files from a trusted copy, or re-sign if the change is intended",
        failure=failure,
        modified=modified,
        extra=extra,
        missing=missing,
    )


def _list_paths(paths: tuple[str, ...]) -> str:
    shown = ", ".join(paths[:_LISTED_PATHS])
    more = len(paths) - _LISTED_PATHS
    return f"{shown} and {more} more" if more > 0 else shown


def _check_model_path(model: Path) -> None:
    if model.is_symlink():
        raise UsageError(str(model), "is a symbolic link", "give the real file or folder")
    if not model.exists():
        raise UsageError(str(model), "does not exist", "check the model path")
    if not (model.is_file() or model.is_dir()):
        raise UsageError(
            str(model), "is neither a file nor a folder", "give a model file or folder"
        )


def _inside(model: Path, path: Path) -> list[Path]:
    """``[path relative to model]`` when ``path`` lies inside the model folder, else ``[]``."""
    if not model.is_dir():
        return []
    try:
        return [path.resolve().relative_to(model.resolve())]
    except ValueError:
        return []


def _relative_ignore(model: Path, path: str | Path) -> Path:
    candidate = Path(path)
    if candidate.is_absolute():
        try:
            candidate = candidate.resolve().relative_to(model.resolve())
        except ValueError:
            raise UsageError(
                str(path), "is outside the model folder", "give paths inside the model"
            ) from None
    parts = PurePosixPath(candidate.as_posix()).parts
    if not parts or ".." in parts:
        raise UsageError(str(path), "is not a path inside the model", "give a relative path")
    return candidate


def _write_private(path: Path, content: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)


def _model_signing() -> ModuleType:
    """Import model_signing on first use: it costs most of a second and is optional."""
    try:
        import model_signing.hashing
        import model_signing.signing
        import model_signing.verifying
    except ImportError as exc:
        raise UsageError(
            "model signing",
            f"the model-signing package is not available ({exc})",
            "install mlwarden[signing]",
        ) from None
    return model_signing
