"""The error raised when a signature, bundle or attestation does not check out."""

from __future__ import annotations

from enum import Enum

from mlwarden.errors import MlwardenError


class SignatureFailure(Enum):
    """Why a verification failed; callers branch on this, never on message text."""

    MALFORMED = "malformed"
    """The bundle or envelope cannot be read: not JSON, wrong structure, too large."""
    UNSUPPORTED = "unsupported"
    """Well formed, but a kind mlwarden does not verify (keyless, certificate, old format)."""
    WRONG_KEY = "wrong-key"
    """The bundle names a different public key than the one given."""
    BAD_SIGNATURE = "bad-signature"
    """The cryptographic signature does not verify: the signed content was altered."""
    MODIFIED = "modified"
    """A covered file's content differs from what was signed."""
    EXTRA_FILES = "extra-files"
    """The model holds files the signature does not cover."""
    MISSING_FILES = "missing-files"
    """Files the signature covers are absent."""
    UNREADABLE_MODEL = "unreadable-model"
    """The model cannot be hashed (a symlink, a special file, a permission problem)."""
    SUBJECT_MISMATCH = "subject-mismatch"
    """The statement or bundle is about another artifact."""
    WRONG_PREDICATE = "wrong-predicate"
    """An attestation of another kind (payload type or predicate type) was presented."""


class SignatureError(MlwardenError):
    """A signature, bundle or attestation failed to verify, or could not be read.

    ``subject`` names the file (or bundle) concerned, ``problem`` says what failed and
    ``fix`` what to do. ``failure`` classifies the cause. For model verification,
    ``modified``, ``extra`` and ``missing`` list the paths concerned, relative to the model
    folder (a single-file model appears under its file name), empty when not applicable,
    so a caller can report every difference, not just the first.
    """

    def __init__(
        self,
        subject: str,
        problem: str,
        fix: str,
        *,
        failure: SignatureFailure,
        modified: tuple[str, ...] = (),
        extra: tuple[str, ...] = (),
        missing: tuple[str, ...] = (),
    ) -> None:
        self.subject = subject
        self.problem = problem
        self.fix = fix
        self.failure = failure
        self.modified = modified
        self.extra = extra
        self.missing = missing
        super().__init__(f"{subject}: {problem}. {fix}")
