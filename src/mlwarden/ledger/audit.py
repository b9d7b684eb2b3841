"""Offline verification of a whole ledger from its entries, its checkpoints and a public key.

:class:`LedgerAuditor` is fed entries in seq order and signed checkpoints as they come
(from the database or from an export file) and trusts nothing stored next to them: every
leaf hash is recomputed from its body, every root from those leaves, every checkpoint
signature is checked with the public key, and each signed checkpoint is checked to extend
the one before it with an RFC 9162 consistency proof. It keeps O(log n) state, so a log of
millions of entries is verified in one streaming pass.
"""

from __future__ import annotations

import contextlib
import heapq
from dataclasses import dataclass
from enum import StrEnum

from mlwarden.ledger.checkpoint import (
    Checkpoint,
    CheckpointError,
    LedgerVerifier,
    parse_checkpoint,
    verify_checkpoint,
)
from mlwarden.ledger.entry import MalformedEntry, body_position
from mlwarden.ledger.merkle import (
    ConsistencyProver,
    MerkleFrontier,
    leaf_hash,
    verify_consistency,
)

MAX_PENDING_CHECKPOINTS = 1_000
"""Checkpoints held while waiting for the entries they cover (export files list them late)."""


class ProblemKind(StrEnum):
    """What kind of evidence of tampering (or damage) a problem is."""

    MISSING_ENTRIES = "missing-entries"
    """A gap in the seqs, or entries removed from the end below a signed checkpoint."""
    BODY_MISMATCH = "body-mismatch"
    """A body no longer hashes to the leaf hash stored next to it."""
    MALFORMED_ENTRY = "malformed-entry"
    """A body the ledger could not have written."""
    MISPLACED_ENTRY = "misplaced-entry"
    """A body written for another position: entries were moved, reordered or duplicated."""
    BROKEN_CHAIN = "broken-chain"
    """An entry no longer matches the leaf hash its successor recorded for it."""
    BAD_CHECKPOINT = "bad-checkpoint"
    """A checkpoint that is malformed, for another log, or not validly signed by the key."""
    ROOT_MISMATCH = "root-mismatch"
    """A validly signed checkpoint whose root differs from the root of the entries."""
    INCONSISTENT_CHECKPOINTS = "inconsistent-checkpoints"
    """Two validly signed checkpoints where the later one does not extend the earlier one."""
    HEAD_MISMATCH = "head-mismatch"
    """The stored head (size and right edge) differs from what the entries give."""
    MALFORMED_EXPORT = "malformed-export"
    """An export file line that cannot be read."""


_ENTRY_KINDS = frozenset(
    {
        ProblemKind.MISSING_ENTRIES,
        ProblemKind.BODY_MISMATCH,
        ProblemKind.MALFORMED_ENTRY,
        ProblemKind.MISPLACED_ENTRY,
        ProblemKind.BROKEN_CHAIN,
    }
)


@dataclass(frozen=True)
class LedgerProblem:
    """One piece of evidence that the ledger is not what was signed."""

    kind: ProblemKind
    message: str
    """A sentence saying what was found and what it means."""
    seq: int | None = None
    """The first entry concerned, when the problem points at entries."""
    tree_size: int | None = None
    """The checkpoint concerned, when the problem points at a checkpoint."""


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of verifying a whole ledger; :attr:`ok` is the verdict."""

    origin: str
    entries: int
    """Entries read."""
    root_hash: bytes
    """Root recomputed from the entries' bodies."""
    checkpoints: int
    """Checkpoints read (valid or not)."""
    verified_size: int
    """Entries covered by the largest validly signed checkpoint that matches them."""
    latest_checkpoint: Checkpoint | None
    """That checkpoint."""
    problems: tuple[LedgerProblem, ...]
    """The first problems found, in the order found."""
    problems_omitted: int = 0
    """Problems found beyond those kept in :attr:`problems`."""
    first_bad_seq: int | None = None
    """The first entry shown to be tampered with (missing, altered, moved or unchained)."""
    first_bad_range: tuple[int, int] | None = None
    """``(after, upto)``: the first validly signed checkpoint that does not match covers
    ``upto`` entries, the last one before it that matches covers ``after``; the change
    lies in seqs ``after`` .. ``upto - 1``."""
    uncovered: tuple[int, int] | None = None
    """``(start, stop)``: seqs not yet covered by a matching signed checkpoint (a warning)."""

    @property
    def ok(self) -> bool:
        """True when no tampering was found (uncovered entries are only a warning)."""
        return not self.problems and not self.problems_omitted

    @property
    def warnings(self) -> tuple[str, ...]:
        if self.uncovered is None:
            return ()
        start, stop = self.uncovered
        if not self.ok:
            return (f"entries {start}..{stop - 1} are not covered by a matching signed checkpoint",)
        return (
            f"entries {start}..{stop - 1} are not yet covered by a signed checkpoint; "
            "sign one to protect them",
        )

    def first_problem(self) -> LedgerProblem | None:
        """The problem that names :attr:`first_bad_seq`, else the first problem found."""
        for problem in self.problems:
            if problem.kind in _ENTRY_KINDS and problem.seq == self.first_bad_seq:
                return problem
        return self.problems[0] if self.problems else None

    def summary(self) -> str:
        """A few sentences for a person: the verdict, the first tampered entry, the range."""
        total = len(self.problems) + self.problems_omitted
        if self.ok:
            text = (
                f"Ledger {self.origin!r} verifies: {self.entries} entries, "
                f"{self.checkpoints} checkpoint(s); signed checkpoints cover "
                f"{self.verified_size} entries."
            )
        else:
            text = f"Ledger {self.origin!r} FAILS verification: {total} problem(s) found."
            first = self.first_problem()
            if self.first_bad_seq is not None and first is not None:
                text += f" The first tampered entry is seq {self.first_bad_seq}: {first.message}"
            if self.first_bad_range is not None:
                after, upto = self.first_bad_range
                earlier = (
                    f"the last one that matches covers {after}"
                    if after
                    else "no earlier one matches"
                )
                text += (
                    f" The signed checkpoint for {upto} entries does not match them and "
                    f"{earlier}: the change lies in seqs {after}..{upto - 1}."
                )
                if self.first_bad_seq is None:
                    text += (
                        " No single entry stands out: that range was rewritten together with "
                        "its leaf hashes and chain, or the checkpoint was signed over another "
                        "history."
                    )
            elif self.first_bad_seq is None and first is not None:
                text += f" {first.message[:1].upper()}{first.message[1:]}"
        for warning in self.warnings:
            text += f" Warning: {warning}."
        return text


@dataclass
class _Signed:
    """A validly signed checkpoint already compared with the recomputed tree."""

    size: int
    root: bytes
    prover: ConsistencyProver
    """Fed every later leaf, so it can prove the next checkpoint extends this one."""


class LedgerAuditor:
    """Streaming verifier: call :meth:`add_entry` in seq order, :meth:`add_checkpoint` for
    each checkpoint (any time before or after the entries it covers), then :meth:`finish`.
    """

    def __init__(self, verifier: LedgerVerifier, origin: str, *, max_problems: int = 100) -> None:
        self._verifier = verifier
        self._origin = origin
        self._max_problems = max_problems
        self._problems: list[LedgerProblem] = []
        self._omitted = 0
        self._first_bad_seq: int | None = None
        self._first_bad_range: tuple[int, int] | None = None
        self._frontier = MerkleFrontier()
        self._entries = 0
        self._expected_seq = 0
        self._prev_leaf: bytes | None = None
        self._prev_suspect = False
        self._pending: list[tuple[int, int, Checkpoint]] = []
        self._arrivals = 0
        self._checkpoints = 0
        self._previous: _Signed | None = None
        self._matched_size = 0
        self._matched: Checkpoint | None = None

    # -- evidence ---------------------------------------------------------------------

    def report_problem(self, problem: LedgerProblem) -> None:
        """Record a problem found outside the auditor (an unreadable export line)."""
        if (
            problem.kind in _ENTRY_KINDS
            and problem.seq is not None
            and (self._first_bad_seq is None or problem.seq < self._first_bad_seq)
        ):
            self._first_bad_seq = problem.seq
        if len(self._problems) < self._max_problems:
            self._problems.append(problem)
        else:
            self._omitted += 1

    # -- checkpoints ------------------------------------------------------------------

    def add_checkpoint(
        self,
        note: str,
        *,
        recorded_size: int | None = None,
        recorded_root: bytes | None = None,
    ) -> None:
        """Add one signed checkpoint; ``recorded_*`` are the database row's own columns."""
        self._checkpoints += 1
        try:
            checkpoint = verify_checkpoint(note, self._verifier, origin=self._origin)
        except CheckpointError as exc:
            size = recorded_size
            with contextlib.suppress(CheckpointError):
                size = parse_checkpoint(note).tree_size
            self.report_problem(
                LedgerProblem(
                    ProblemKind.BAD_CHECKPOINT,
                    f"the checkpoint for {size} entries is not trusted: {exc.problem}.",
                    tree_size=size,
                )
            )
            return
        size = checkpoint.tree_size
        if (recorded_size is not None and recorded_size != size) or (
            recorded_root is not None and recorded_root != checkpoint.root_hash
        ):
            self.report_problem(
                LedgerProblem(
                    ProblemKind.BAD_CHECKPOINT,
                    f"the stored columns of the checkpoint for {size} entries differ from its "
                    "signed note (the note is what counts).",
                    tree_size=size,
                )
            )
        if size < self._frontier.size:
            self.report_problem(
                LedgerProblem(
                    ProblemKind.BAD_CHECKPOINT,
                    f"the checkpoint for {size} entries comes after entry {self._frontier.size - 1}"
                    " and could not be checked; list checkpoints in order of size.",
                    tree_size=size,
                )
            )
            return
        if len(self._pending) >= MAX_PENDING_CHECKPOINTS:
            self.report_problem(
                LedgerProblem(
                    ProblemKind.BAD_CHECKPOINT,
                    f"more than {MAX_PENDING_CHECKPOINTS} checkpoints wait for entries that "
                    f"never came; the checkpoint for {size} entries was not checked.",
                    tree_size=size,
                )
            )
            return
        self._arrivals += 1
        heapq.heappush(self._pending, (size, self._arrivals, checkpoint))
        self._settle()

    def _settle(self) -> None:
        while self._pending and self._pending[0][0] == self._frontier.size:
            _, _, checkpoint = heapq.heappop(self._pending)
            self._compare(checkpoint)

    def _compare(self, checkpoint: Checkpoint) -> None:
        size = checkpoint.tree_size
        matches = self._frontier.root() == checkpoint.root_hash
        if not matches:
            self.report_problem(
                LedgerProblem(
                    ProblemKind.ROOT_MISMATCH,
                    f"the signed checkpoint for {size} entries does not match the root of "
                    f"entries 0..{size - 1}: an entry in that range was changed, removed or "
                    "moved after it was signed.",
                    tree_size=size,
                )
            )
            if self._first_bad_range is None:
                self._first_bad_range = (self._matched_size, size)
        previous = self._previous
        # With a matching checkpoint the proof nodes come from the very tree it signed, so
        # a failed proof means the earlier signed checkpoint is not a prefix of it: the log
        # was rewritten between the two signatures. (Without a match the root mismatch above
        # already tells the story.)
        if previous is not None and matches and not self._consistent(previous, checkpoint):
            self.report_problem(
                LedgerProblem(
                    ProblemKind.INCONSISTENT_CHECKPOINTS,
                    f"the signed checkpoint for {size} entries does not extend the one for "
                    f"{previous.size}: entries 0..{previous.size - 1} were changed between "
                    "the two signatures.",
                    tree_size=size,
                )
            )
        if matches and size >= self._matched_size:
            self._matched_size = size
            self._matched = checkpoint
        self._previous = _Signed(size, checkpoint.root_hash, ConsistencyProver(self._frontier))

    @staticmethod
    def _consistent(previous: _Signed, checkpoint: Checkpoint) -> bool:
        prover = previous.prover
        return verify_consistency(
            previous.size, prover.size, prover.proof(), previous.root, checkpoint.root_hash
        )

    # -- entries ----------------------------------------------------------------------

    def add_entry(self, seq: int, body: bytes, recorded_leaf_hash: bytes) -> None:
        """Add the next stored entry: its seq, body and the leaf hash stored with it."""
        self._entries += 1
        suspect = False
        expected = self._expected_seq
        if seq > expected:
            self.report_problem(
                LedgerProblem(
                    ProblemKind.MISSING_ENTRIES,
                    f"entries {expected}..{seq - 1} are missing: they were removed.",
                    seq=expected,
                )
            )
            suspect = True
        elif seq < expected:
            self.report_problem(
                LedgerProblem(
                    ProblemKind.MISPLACED_ENTRY,
                    f"entry {seq} appears again after entry {expected - 1}.",
                    seq=seq,
                )
            )
            suspect = True
        leaf = leaf_hash(body)
        if leaf != recorded_leaf_hash:
            self.report_problem(
                LedgerProblem(
                    ProblemKind.BODY_MISMATCH,
                    f"entry {seq}'s body no longer matches its recorded leaf hash: "
                    "the body was changed.",
                    seq=seq,
                )
            )
            suspect = True
        try:
            body_seq, prev = body_position(body)
        except MalformedEntry as exc:
            self.report_problem(
                LedgerProblem(
                    ProblemKind.MALFORMED_ENTRY,
                    f"entry {seq}'s body is not one the ledger writes ({exc}).",
                    seq=seq,
                )
            )
            suspect = True
        else:
            if body_seq != seq:
                self.report_problem(
                    LedgerProblem(
                        ProblemKind.MISPLACED_ENTRY,
                        f"the entry stored at seq {seq} was written as seq {body_seq}: "
                        "entries were moved or reordered.",
                        seq=min(seq, body_seq),
                    )
                )
                suspect = True
            elif seq == 0 and prev is not None:
                self.report_problem(
                    LedgerProblem(
                        ProblemKind.BROKEN_CHAIN,
                        "entry 0 names a predecessor: entries before it were removed.",
                        seq=0,
                    )
                )
                suspect = True
            elif not suspect and not self._prev_suspect and prev != self._prev_leaf:
                # The chain breaks between seq - 1 and seq: entry seq - 1 was rewritten with
                # a matching leaf hash, which only its successor's record can reveal.
                self.report_problem(
                    LedgerProblem(
                        ProblemKind.BROKEN_CHAIN,
                        f"entry {seq - 1} no longer matches the leaf hash that entry {seq} "
                        f"recorded for it: entry {seq - 1} was altered and its leaf hash "
                        "rewritten to match.",
                        seq=seq - 1,
                    )
                )
        self._frontier.append(leaf)
        if self._previous is not None:
            self._previous.prover.append(leaf)
        self._prev_leaf = leaf
        self._prev_suspect = suspect
        self._expected_seq = max(expected, seq + 1)
        self._settle()

    # -- verdict ----------------------------------------------------------------------

    def finish(self, head: MerkleFrontier | None = None) -> VerifyReport:
        """The report; ``head`` is the stored head to compare with the recomputed tree."""
        if self._pending:
            largest = max(size for size, _, _ in self._pending)
            self.report_problem(
                LedgerProblem(
                    ProblemKind.MISSING_ENTRIES,
                    f"the log ends after {self._frontier.size} entries, but a checkpoint was "
                    f"signed for {largest}: entries {self._expected_seq}..{largest - 1} "
                    "were removed from the end.",
                    seq=self._expected_seq,
                    tree_size=largest,
                )
            )
            self._pending.clear()
        if head is not None and (
            head.size != self._frontier.size or head.root() != self._frontier.root()
        ):
            self.report_problem(
                LedgerProblem(
                    ProblemKind.HEAD_MISMATCH,
                    f"the stored head ({head.size} entries) differs from the tree the entries "
                    f"give ({self._frontier.size} entries): the head or the entries were "
                    "edited outside the ledger.",
                    tree_size=head.size,
                )
            )
        size = self._frontier.size
        return VerifyReport(
            origin=self._origin,
            entries=self._entries,
            root_hash=self._frontier.root(),
            checkpoints=self._checkpoints,
            verified_size=self._matched_size,
            latest_checkpoint=self._matched,
            problems=tuple(self._problems),
            problems_omitted=self._omitted,
            first_bad_seq=self._first_bad_seq,
            first_bad_range=self._first_bad_range,
            uncovered=(self._matched_size, size) if size > self._matched_size else None,
        )
