"""The vault service: put, get, verify, sign, rotate and shred artifacts, each one audited.

It composes the parts of layer 2: :class:`EnvelopeCipher` (encryption), a
:class:`KeyProvider` (key wrapping), a :class:`BlobBackend` (ciphertext), the
:class:`Catalog` (names, versions, wrapped keys, lineage) and the :class:`Ledger`.

Crash safety comes from ordering. A put writes the ciphertext under a fresh random object
name and commits it; then catalogs the blob; then, in one database transaction, adds the
artifact row and its ledger entry. A crash between the steps leaves only an object or a
blob row that nothing points to (removed by :meth:`Vault.collect_garbage`), never an
artifact without its data or a change without its ledger entry. Reads decrypt into a
temporary file beside the destination and rename it into place only after every GCM tag
and the content digest checked out.

Object names are random rather than the plaintext digest, so someone with only bucket
access cannot confirm a guess of the content by hashing it.
"""

from __future__ import annotations

import copy
import getpass
import hashlib
import os
import secrets
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, BinaryIO

from sqlalchemy import Engine

from mlwarden.errors import UsageError
from mlwarden.ledger.checkpoint import Checkpoint, LedgerSigner, LedgerVerifier
from mlwarden.ledger.entry import LedgerEntry
from mlwarden.ledger.log import Ledger
from mlwarden.store.blobs.interface import BlobBackend
from mlwarden.store.blobs.keys import BlobNotFoundError
from mlwarden.store.catalog.catalog import Catalog
from mlwarden.store.catalog.db import write_transaction
from mlwarden.store.catalog.records import ArtifactRecord, BlobRecord, LineageEdge
from mlwarden.store.crypto.envelope import (
    EnvelopeCipher,
    IntegrityError,
    new_blob_id,
    new_data_key,
)
from mlwarden.store.crypto.keys import KeyProvider, KeyVersion, WrappedKey, blob_aad
from mlwarden.store.folder_archive import FolderReader, unpack_folder

Progress = Callable[[int, int], None]
"""Called with (done, total) as work advances; total is 0 when unknown."""

FOLDER_KIND = "folder"
KINDS = ("model", "dataset", "file", FOLDER_KIND, "attestation", "code", "config")


@dataclass(frozen=True)
class VerifyOutcome:
    """The result of re-reading one artifact."""

    artifact: ArtifactRecord
    ok: bool
    problem: str | None = None
    signature: str | None = None
    """``verified``, ``unsigned``, or why the signature failed (when one was checked)."""


@dataclass(frozen=True)
class RewrapOutcome:
    """What a rewrap run did."""

    target_version: str
    rewrapped: int
    remaining: int


class _HashingSink:
    """A write-only stream that only counts and hashes (verification without a copy)."""

    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self.digest.update(data)
        self.size += len(data)
        return len(data)


class _CountingReader:
    """Wraps a source to report progress as it is read."""

    def __init__(self, inner: IO[bytes], total: int, progress: Progress | None) -> None:
        self._inner = inner
        self._total = total
        self._progress = progress
        self._done = 0

    def readinto(self, buffer: memoryview | bytearray) -> int:
        n = self._inner.readinto(buffer)  # type: ignore[attr-defined]
        n = n or 0
        self._done += n
        if self._progress is not None and n:
            self._progress(self._done, self._total)
        return int(n)

    def read(self, size: int = -1) -> bytes:
        data = self._inner.read(size)
        self._done += len(data)
        if self._progress is not None and data:
            self._progress(self._done, self._total)
        return data


def default_actor() -> str:
    """Who is acting, for the ledger: ``MLWARDEN_ACTOR`` or the operating-system user."""
    actor = os.environ.get("MLWARDEN_ACTOR")
    if actor:
        return actor
    try:
        return f"user:{getpass.getuser()}"
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


def _now() -> datetime:
    return datetime.now(UTC)


class Vault:
    """An encrypted, content-addressed artifact store with an audited history.

    Build one with :func:`mlwarden.store.workspace_vault.open_vault` (from a workspace) or
    directly from its parts. ``model_key``/``model_public_key`` are PEM paths for OpenSSF
    model signatures; ``model_key_passphrase`` unlocks the private one.
    """

    def __init__(
        self,
        *,
        engine: Engine,
        backend: BlobBackend,
        keys: KeyProvider,
        ledger: Ledger,
        ledger_signer: LedgerSigner | None,
        ledger_verifier: LedgerVerifier,
        actor: str | None = None,
        chunk_size: int = 1 << 20,
        model_key: Path | None = None,
        model_key_passphrase: bytes | None = None,
        model_public_key: Path | None = None,
        require_signatures: bool = False,
    ) -> None:
        self.engine = engine
        self.catalog = Catalog(engine)
        self.backend = backend
        self.keys = keys
        self.ledger = ledger
        self._signer = ledger_signer
        self.verifier = ledger_verifier
        self.actor = actor or default_actor()
        self.cipher = EnvelopeCipher(chunk_size)
        self.model_key = model_key
        self.model_key_passphrase = model_key_passphrase
        self.model_public_key = model_public_key
        self.require_signatures = require_signatures
        """Policy: refuse to hand out an artifact whose signature does not verify."""

    def acting_as(self, actor: str) -> Vault:
        """The same vault, recording ``actor`` as the one making changes (a server acts for
        many principals over one set of connections)."""
        twin = copy.copy(self)
        twin.actor = actor
        return twin

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()

    def __enter__(self) -> Vault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the audit trail --------------------------------------------------------------

    def _entry(
        self,
        action: str,
        decision: str,
        artifact: str | None,
        details: dict[str, Any] | None = None,
    ) -> LedgerEntry:
        return LedgerEntry(
            actor=self.actor,
            action=action,
            decision=decision,
            artifact=artifact,
            details=details or {},
        )

    def audit(
        self,
        action: str,
        decision: str,
        artifact: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> int:
        """Append one ledger entry and sign a new checkpoint; returns the entry's seq."""
        seq = self.ledger.append(self._entry(action, decision, artifact, details))
        self.checkpoint()
        return seq

    def checkpoint(self) -> Checkpoint | None:
        """Sign the ledger's current head (nothing to do without a signing key)."""
        if self._signer is None:
            return None
        return self.ledger.checkpoint(self._signer)

    def _audited_change(
        self,
        change: Callable[[Any], ArtifactRecord],
        action: str,
        details: Callable[[ArtifactRecord], dict[str, Any]],
    ) -> ArtifactRecord:
        """Run a catalog change and its ledger entry in ONE transaction, then checkpoint."""
        with write_transaction(self.engine) as conn:
            record = change(conn)
            self.ledger.append_in(
                conn, [self._entry(action, "allow", _ref(record), details(record))]
            )
        self.checkpoint()
        return record

    # -- put ------------------------------------------------------------------------------

    def put(
        self,
        source: Path,
        name: str,
        *,
        kind: str | None = None,
        labels: dict[str, str] | None = None,
        media_type: str | None = None,
        progress: Progress | None = None,
    ) -> ArtifactRecord:
        """Encrypt and store a file or folder as the next version of ``name``."""
        if not source.exists():
            raise UsageError(str(source), "does not exist", "check the path")
        if source.is_dir():
            if kind not in (None, FOLDER_KIND, "model", "dataset"):
                raise UsageError(str(source), f"is a folder, not a {kind}", "drop --kind")
            labels = {**(labels or {}), "layout": FOLDER_KIND}
            with FolderReader(source) as stream:
                return self.put_stream(
                    stream,  # type: ignore[arg-type]
                    name,
                    kind=kind or FOLDER_KIND,
                    labels=labels,
                    media_type="application/x-tar",
                    total=0,
                    progress=progress,
                    origin=str(source),
                )
        if not source.is_file():
            raise UsageError(str(source), "is not a regular file or folder", "pass a file")
        with source.open("rb") as fh:
            return self.put_stream(
                fh,
                name,
                kind=kind or "file",
                labels=labels,
                media_type=media_type,
                total=source.stat().st_size,
                progress=progress,
                origin=str(source),
            )

    def put_stream(
        self,
        stream: BinaryIO,
        name: str,
        *,
        kind: str = "file",
        labels: dict[str, str] | None = None,
        media_type: str | None = None,
        total: int = 0,
        progress: Progress | None = None,
        origin: str | None = None,
    ) -> ArtifactRecord:
        """Encrypt and store the bytes of ``stream`` as the next version of ``name``."""
        from mlwarden.store.catalog import names

        names.check_name(name)
        names.check_kind(kind)
        names.check_labels(labels)
        dek, blob_id = new_data_key(), new_blob_id()
        object_key = secrets.token_hex(32)
        source = _CountingReader(stream, total, progress)
        with self.backend.open_writer(object_key) as writer:
            info = self.cipher.encrypt_stream(source, writer, dek, blob_id)
            writer.commit()
        try:
            wrapped = self.keys.wrap(dek, blob_aad(info.sha256, blob_id))
            blob = self.catalog.add_blob(
                info.sha256,
                size=info.size,
                stored_size=info.stored_size,
                backend_key=object_key,
                blob_id=blob_id,
                chunk_size=info.chunk_size,
                wrapped_dek=wrapped.ciphertext,
                kek_provider=wrapped.provider,
                kek_id=wrapped.key_id,
                kek_version=wrapped.version,
            )
        except BaseException:
            self.backend.delete(object_key)
            raise
        deduplicated = blob.backend_key != object_key
        if deduplicated:
            # The same content was stored before: keep one ciphertext.
            self.backend.delete(object_key)

        def change(conn: Any) -> ArtifactRecord:
            return self.catalog.add_artifact(
                name,
                kind,
                info.sha256,
                info.size,
                self.actor,
                labels=labels,
                media_type=media_type,
                connection=conn,
            )

        return self._audited_change(
            change,
            "store.put",
            lambda rec: {
                "name": rec.name,
                "version": rec.version,
                "kind": rec.kind,
                "digest": rec.digest,
                "size": rec.size,
                "deduplicated": deduplicated,
                **({"source": origin} if origin else {}),
            },
        )

    # -- get / verify -------------------------------------------------------------------------

    def resolve(self, reference: str) -> ArtifactRecord:
        """The artifact named ``name`` (latest version) or ``name:version``."""
        return self.catalog.resolve(reference)

    def _blob_for(self, record: ArtifactRecord) -> BlobRecord:
        blob = self.catalog.get_blob(record.digest)
        if blob is None:
            raise UsageError(
                record.reference,
                f"the catalog has no blob {record.digest}",
                "the catalog is damaged; restore it from a backup",
            )
        if blob.shredded or blob.wrapped_dek is None:
            raise UsageError(
                record.reference,
                "its data key was destroyed (crypto-shredded); the content is unrecoverable",
                "this is the intended result of an erasure",
            )
        return blob

    def _dek(self, blob: BlobRecord) -> bytes:
        assert blob.wrapped_dek is not None
        wrapped = WrappedKey(blob.kek_provider, blob.kek_id, blob.kek_version, blob.wrapped_dek)
        return self.keys.unwrap(wrapped, blob_aad(blob.digest, blob.blob_id))

    def _decrypt(self, record: ArtifactRecord, dst: Any) -> None:
        """Decrypt the artifact's blob into ``dst``, checking every tag and the digest."""
        blob = self._blob_for(record)
        dek = self._dek(blob)
        try:
            reader = self.backend.open_reader(blob.backend_key)
        except BlobNotFoundError as exc:
            raise IntegrityError(record.reference, f"its stored blob is missing ({exc})") from None
        with reader:
            self.cipher.decrypt_stream(
                reader,
                dst,
                dek,
                expected_blob_id=blob.blob_id,
                expected_digest=blob.digest,
                subject=f"{record.reference} ({self.backend.location})",
            )

    def get(
        self, reference: str, output: Path, *, require_signature: bool | None = None
    ) -> ArtifactRecord:
        """Decrypt ``reference`` to ``output`` (a file, or a new folder for folder artifacts).

        ``output`` appears only when the whole artifact was decrypted and verified; a
        tampered blob raises :class:`IntegrityError` and leaves nothing behind. Decrypted
        files are created readable by their owner only (0600). With
        ``require_signature`` (default: the vault's policy) an unsigned artifact or one
        whose signature fails is refused, and the refusal is audited.
        """
        record = self.resolve(reference)
        required = self.require_signatures if require_signature is None else require_signature
        if required:
            result = self._check_signature(record)
            if result != "verified":
                self.audit("store.get", "deny", _ref(record), {"signature": result[:500]})
                raise UsageError(
                    record.reference,
                    f"refused by the signature policy ({result})",
                    "sign it with `mlwarden sign` if it is trusted, or fetch a signed version",
                )
        folder = record.labels.get("layout") == FOLDER_KIND
        if output.exists() and (folder or output.is_dir()):
            raise UsageError(str(output), "already exists", "choose a new output path")
        parent = output.parent
        parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".part", dir=parent)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as fh:
                try:
                    self._decrypt(record, fh)
                except IntegrityError as exc:
                    self.audit("store.get", "deny", _ref(record), {"problem": str(exc)[:500]})
                    raise
                fh.flush()
                os.fsync(fh.fileno())
            if folder:
                with tmp.open("rb") as fh:
                    unpack_folder(fh, output)
                tmp.unlink()
            else:
                os.replace(tmp, output)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        self.audit("store.get", "allow", _ref(record), {"digest": record.digest})
        return record

    @contextmanager
    def plaintext(self, record: ArtifactRecord) -> Iterator[Path]:
        """Decrypt an artifact into a private temporary path (removed afterwards)."""
        base = record.name.rsplit("/", 1)[-1]
        with tempfile.TemporaryDirectory(prefix="mlwarden-artifact-") as scratch:
            target = Path(scratch) / base
            tmp = Path(scratch) / ".decrypting"
            with tmp.open("wb") as fh:
                self._decrypt(record, fh)
            if record.labels.get("layout") == FOLDER_KIND:
                with tmp.open("rb") as fh:
                    unpack_folder(fh, target)
                tmp.unlink()
            else:
                tmp.rename(target)
            yield target

    def verify(self, reference: str | None = None) -> list[VerifyOutcome]:
        """Re-read and authenticate one artifact (or every live one) without writing it out;
        check its signature too when it is signed."""
        records = [self.resolve(reference)] if reference else self.catalog.list_artifacts()
        outcomes: list[VerifyOutcome] = []
        for record in records:
            try:
                self._decrypt(record, _HashingSink())
            except (IntegrityError, UsageError) as exc:
                outcomes.append(VerifyOutcome(record, False, str(exc)))
                continue
            signature = None
            if record.signature is not None:
                signature = self._check_signature(record)
            outcomes.append(VerifyOutcome(record, signature in (None, "verified"), None, signature))
        failed = [o.artifact.reference for o in outcomes if not o.ok]
        self.audit(
            "store.verify",
            "fail" if failed else "pass",
            _ref(records[0]) if reference and records else None,
            {"checked": len(outcomes), "failed": failed[:100]},
        )
        return outcomes

    # -- delete / shred -------------------------------------------------------------------

    def remove(self, reference: str) -> ArtifactRecord:
        """Delete one artifact version from the catalog (its blob stays while other versions
        or artifacts use the same content; see :meth:`shred` for erasure)."""
        record = self.resolve(reference)
        return self._audited_change(
            lambda conn: self.catalog.mark_deleted(record.id, connection=conn),
            "store.delete",
            lambda rec: {"name": rec.name, "version": rec.version, "digest": rec.digest},
        )

    def shred(self, reference: str) -> BlobRecord:
        """Crypto-shred an artifact's content: destroy its data key and delete the blob.

        Every artifact sharing the same content becomes unreadable; they are listed in the
        ledger entry. This cannot be undone.
        """
        record = self.resolve(reference)
        affected = [a.reference for a in self.catalog.artifacts_for_digest(record.digest)]
        with write_transaction(self.engine) as conn:
            blob = self.catalog.shred_blob(record.digest, connection=conn)
            self.ledger.append_in(
                conn,
                [
                    self._entry(
                        "store.shred",
                        "allow",
                        _ref(record),
                        {"digest": record.digest, "affected": affected[:1000]},
                    )
                ],
            )
        self.checkpoint()
        self.backend.delete(blob.backend_key)
        return blob

    # -- lineage --------------------------------------------------------------------------

    def link(self, source: str, target: str, relation: str) -> LineageEdge:
        """Record that data flowed from ``source`` to ``target`` (artifact references such
        as ``name:3`` are turned into ``artifact:<id>``; other refs like ``run:x`` stay)."""
        src, dst = self._lineage_ref(source), self._lineage_ref(target)
        edge = self.catalog.add_edge(src, dst, relation)
        self.audit("lineage.add", "allow", dst, {"source": src, "relation": relation})
        return edge

    def _lineage_ref(self, text: str) -> str:
        prefix, sep, _ = text.partition(":")
        if sep and prefix in ("run", "deployment", "artifact", "job", "endpoint"):
            return text
        return self.resolve(text).ref

    # -- signatures -----------------------------------------------------------------------

    def sign(self, reference: str) -> ArtifactRecord:
        """Sign an artifact in the OpenSSF model-signing format and keep the bundle."""
        from mlwarden.store.signing import sign_model_bundle

        if self.model_key is None:
            raise UsageError(
                "model signing", "this vault has no signing key", "run `mlwarden init`"
            )
        record = self.resolve(reference)
        with self.plaintext(record) as path:
            info = sign_model_bundle(path, self.model_key, passphrase=self.model_key_passphrase)
        bundle = info.bundle
        return self._audited_change(
            lambda conn: self.catalog.set_signature(record.id, bundle, connection=conn),
            "store.sign",
            lambda rec: {"digest": rec.digest, "key": info.key_fingerprint},
        )

    def _check_signature(self, record: ArtifactRecord) -> str:
        from mlwarden.store.signing import SignatureError, verify_model_bundle

        if record.signature is None:
            return "unsigned"
        if self.model_public_key is None:
            return "no public key to check the signature"
        base = record.name.rsplit("/", 1)[-1]
        try:
            with self.plaintext(record) as path:
                verify_model_bundle(
                    path,
                    record.signature,
                    self.model_public_key,
                    bundle_name=f"{base}.sig",
                    expected_name=base,
                )
        except SignatureError as exc:
            return f"signature failed: {exc}"
        return "verified"

    def verify_signature(self, reference: str) -> str:
        """``verified`` or why not (``unsigned``, a failure sentence); audited."""
        record = self.resolve(reference)
        result = self._check_signature(record)
        self.audit(
            "store.verify-signature",
            "pass" if result == "verified" else "fail",
            _ref(record),
            {"result": result[:500]},
        )
        return result

    # -- keys -----------------------------------------------------------------------------

    def rotate(self) -> KeyVersion:
        """Make a new KEK version current; existing data keys stay wrapped by the old one
        until :meth:`rewrap`."""
        version = self.keys.rotate()
        self.audit(
            "keys.rotate", "allow", None, {"version": version.version, "key": self.keys.key_id}
        )
        return version

    def rewrap(self, *, batch: int = 500, progress: Progress | None = None) -> RewrapOutcome:
        """Re-wrap every data key under the current KEK version, without touching blobs.

        Work is committed batch by batch, so an interrupted run resumes where it stopped
        (rows already on the current version are skipped).
        """
        current = next(v for v in self.keys.versions() if v.state == "active")
        job = self.catalog.current_rewrap_job() or self.catalog.start_rewrap_job(current.version)
        if job.target_version != current.version:
            self.catalog.finish_rewrap_job(job.id)
            job = self.catalog.start_rewrap_job(current.version)
        done = 0
        cursor = job.cursor
        while True:
            rows = self.catalog.blobs_with_kek_version_not(current.version, batch, after=cursor)
            if not rows:
                break
            for blob in rows:
                if blob.wrapped_dek is None:
                    continue
                dek = self._dek(blob)
                wrapped = self.keys.wrap(dek, blob_aad(blob.digest, blob.blob_id))
                if self.catalog.update_wrapped_dek(
                    blob.digest,
                    wrapped.ciphertext,
                    wrapped.version,
                    kek_provider=wrapped.provider,
                    kek_id=wrapped.key_id,
                ):
                    done += 1
            cursor = rows[-1].digest
            job = self.catalog.record_rewrap_progress(job.id, cursor=cursor, advanced=len(rows))
            if progress is not None:
                progress(job.done, job.total)
        self.catalog.finish_rewrap_job(job.id)
        remaining = len(self.catalog.blobs_with_kek_version_not(current.version, 1))
        self.audit(
            "keys.rewrap",
            "allow",
            None,
            {"version": current.version, "rewrapped": done, "remaining": remaining},
        )
        return RewrapOutcome(current.version, done, remaining)

    def retire(self, version: str) -> None:
        """Destroy an old KEK version; refused while any data key is still wrapped by it."""
        still = self.catalog.count_blobs_with_kek_version(version)
        if still:
            raise UsageError(
                f"key version {version}",
                f"still wraps {still} data key(s)",
                "run `mlwarden keys rewrap` first",
            )
        self.keys.retire(version)
        self.audit("keys.retire", "allow", None, {"version": version})

    # -- housekeeping ---------------------------------------------------------------------

    def collect_garbage(self, older_than: timedelta = timedelta(hours=1)) -> int:
        """Remove stored objects no blob row points to (left by a crash mid-put) and
        unfinished uploads; returns how many were removed."""
        known = self.catalog.backend_keys()
        removed = self.backend.sweep_orphans(older_than)
        cutoff = _now() - older_than
        for key in list(self.backend.iter_keys()):
            if key not in known and self._object_older_than(key, cutoff):
                self.backend.delete(key)
                removed += 1
        if removed:
            self.audit("store.gc", "allow", None, {"removed": removed})
        return removed

    def _object_older_than(self, key: str, cutoff: datetime) -> bool:
        # A put commits its object moments before it catalogues the blob: young objects
        # may belong to a put in flight and are left alone.
        try:
            return self.backend.modified_at(key) < cutoff
        except BlobNotFoundError:
            return False


def _ref(record: ArtifactRecord) -> str:
    return f"{record.ref} {record.reference}"


__all__ = [
    "FOLDER_KIND",
    "IntegrityError",
    "RewrapOutcome",
    "Vault",
    "VerifyOutcome",
    "default_actor",
]
