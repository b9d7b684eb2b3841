"""RFC 6962 / RFC 9162 Merkle tree hashing over leaf hashes.

Everything here is a pure function of leaf hashes (32-byte SHA-256 values made with
:func:`leaf_hash`). Proof generation reads leaves through a :data:`LeafHashSource`, a
callable returning the hashes of an index range, and only ever holds one range's running
state (O(log n) hashes), so a tree of millions of leaves in a database never has to be in
memory. Verification follows the algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2 and returns
``False`` (never raises) for any proof that does not check out, including malformed ones.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from itertools import islice

HASH_SIZE = 32
"""Bytes in every leaf, node and root hash (SHA-256)."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""Root of the tree with no leaves (RFC 6962 §2.1: the hash of the empty string)."""

MAX_TREE_SIZE = (1 << 63) - 1
"""Largest tree size accepted anywhere (the ledger stores sizes as signed 64-bit integers)."""

MAX_PROOF_HASHES = 128
"""Longest proof accepted by the verifiers: 2 x 64 levels bounds every valid RFC 9162 proof."""

LeafHashSource = Callable[[int, int], Iterable[bytes]]
"""``source(start, stop)`` yields the leaf hashes of indices ``start`` .. ``stop - 1`` in order."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
# Leaves are folded CHUNK at a time when the frontier is aligned: a list-comprehension per
# level costs far less than one Python-level carry loop per leaf.
_CHUNK_LEVEL = 10
_CHUNK = 1 << _CHUNK_LEVEL
_sha256 = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    """Return the RFC 6962 hash of one leaf's data: ``SHA256(0x00 || data)``."""
    return _sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 6962 hash of an interior node: ``SHA256(0x01 || left || right)``."""
    return _sha256(_NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


def _perfect_root(hashes: list[bytes]) -> bytes:
    """Root of a complete subtree; ``len(hashes)`` must be a power of two."""
    level = hashes
    while len(level) > 1:
        level = [
            _sha256(_NODE_PREFIX + left + right).digest()
            for left, right in zip(level[0::2], level[1::2], strict=True)
        ]
    return level[0]


def _check_hash(value: bytes) -> None:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise ValueError(f"a leaf hash must be {HASH_SIZE} bytes, got {value!r:.80}")


class MerkleFrontier:
    """The right edge of a Merkle tree: enough state to append leaves and compute the root.

    It holds the roots of the complete subtrees that make up the tree, largest (leftmost)
    first, one per set bit of the size, so it never holds more than 64 hashes. Appending is
    amortised O(1) hashing, :meth:`root` is O(log n). Persist it with :attr:`size` and
    :meth:`to_bytes`, restore it with :meth:`from_bytes`.
    """

    __slots__ = ("_edge", "_size")

    def __init__(self) -> None:
        self._size = 0
        self._edge: list[bytes] = []

    @classmethod
    def from_bytes(cls, size: int, edge: bytes) -> MerkleFrontier:
        """Rebuild a frontier saved as ``size`` and :meth:`to_bytes` (``ValueError`` if they
        disagree)."""
        if not 0 <= size <= MAX_TREE_SIZE:
            raise ValueError(f"tree size {size} is out of range")
        if len(edge) != HASH_SIZE * size.bit_count():
            raise ValueError(
                f"a tree of {size} leaves has {size.bit_count()} edge hashes, "
                f"but {len(edge)} bytes were given"
            )
        frontier = cls()
        frontier._size = size
        frontier._edge = [edge[i : i + HASH_SIZE] for i in range(0, len(edge), HASH_SIZE)]
        return frontier

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    @property
    def edge(self) -> tuple[bytes, ...]:
        """Roots of the complete subtrees, largest first."""
        return tuple(self._edge)

    def to_bytes(self) -> bytes:
        """The edge hashes concatenated, for storage next to :attr:`size`."""
        return b"".join(self._edge)

    def copy(self) -> MerkleFrontier:
        """An independent frontier with the same state."""
        other = MerkleFrontier()
        other._size = self._size
        other._edge = list(self._edge)
        return other

    def _push(self, subtree_root: bytes, level: int) -> None:
        # A subtree of 2**level leaves merges with each equal-sized neighbour on the edge,
        # exactly like a carry propagating through the set bits of the size.
        carry = self._size >> level
        value = subtree_root
        while carry & 1:
            value = _sha256(_NODE_PREFIX + self._edge.pop() + value).digest()
            carry >>= 1
        self._edge.append(value)
        self._size += 1 << level

    def append(self, leaf: bytes) -> None:
        """Append one leaf hash (``ValueError`` if it is not 32 bytes)."""
        _check_hash(leaf)
        if self._size >= MAX_TREE_SIZE:
            raise ValueError("the tree is full")
        self._push(leaf, 0)

    def append_subtree(self, subtree_root: bytes, level: int) -> None:
        """Append a complete subtree of ``2**level`` leaves given by its root.

        The frontier's size must be a multiple of ``2**level`` (``ValueError`` otherwise),
        which is what makes the result equal to appending the leaves one by one.
        """
        _check_hash(subtree_root)
        if not 0 <= level < 63 or self._size % (1 << level):
            raise ValueError(f"a subtree of 2**{level} leaves cannot follow {self._size} leaves")
        if self._size + (1 << level) > MAX_TREE_SIZE:
            raise ValueError("the tree is full")
        self._push(subtree_root, level)

    def extend(self, leaves: Iterable[bytes]) -> None:
        """Append leaf hashes in order, streaming: memory stays bounded whatever the count."""
        iterator = iter(leaves)
        while self._size % _CHUNK:
            leaf = next(iterator, None)
            if leaf is None:
                return
            self.append(leaf)
        while True:
            chunk = list(islice(iterator, _CHUNK))
            if len(chunk) < _CHUNK:
                for leaf in chunk:
                    self.append(leaf)
                return
            for leaf in chunk:
                _check_hash(leaf)
            if self._size + _CHUNK > MAX_TREE_SIZE:
                raise ValueError("the tree is full")
            self._push(_perfect_root(chunk), _CHUNK_LEVEL)

    def root(self) -> bytes:
        """The tree's root hash (:data:`EMPTY_ROOT` when empty)."""
        if not self._edge:
            return EMPTY_ROOT
        value = self._edge[-1]
        for left in reversed(self._edge[:-1]):
            value = _sha256(_NODE_PREFIX + left + value).digest()
        return value


class ConsistencyProver:
    """Builds consistency proofs from an old tree, known only by its frontier, to its extensions.

    Feed the leaves appended after the old tree (:meth:`append`, :meth:`extend`); :meth:`proof`
    then returns the RFC 9162 proof from the old size to the current size, the same list as
    :func:`consistency_proof` over all leaves. Memory stays O(log n): the proof nodes left of
    the old size are the old frontier's subtrees, and those right of it are the aligned
    blocks ``[p, p + lowbit(p))`` from ``p = old size`` on, the last one cut off at the new
    size, which are collected as the leaves stream past.
    """

    __slots__ = ("_blocks", "_current", "_cursor", "_old", "_size")

    def __init__(self, old: MerkleFrontier) -> None:
        self._old = old.copy()
        self._size = old.size
        self._cursor = old.size
        self._current = MerkleFrontier()
        self._blocks: dict[tuple[int, int], bytes] = {}
        start = 0
        for bit, value in zip(
            (b for b in reversed(range(old.size.bit_length())) if old.size >> b & 1),
            old.edge,
            strict=True,
        ):
            self._blocks[(start, start + (1 << bit))] = value
            start += 1 << bit

    @property
    def old_size(self) -> int:
        return self._old.size

    @property
    def old_root(self) -> bytes:
        return self._old.root()

    @property
    def size(self) -> int:
        """The size of the extended tree (old size plus the leaves fed)."""
        return self._size

    def append(self, leaf: bytes) -> None:
        """Feed the next leaf hash after the old tree."""
        self._size += 1
        if not self._cursor:
            return  # every tree extends the empty tree; no proof nodes to collect
        self._current.append(leaf)
        width = self._cursor & -self._cursor
        if self._current.size == width:
            self._blocks[(self._cursor, self._cursor + width)] = self._current.root()
            self._cursor += width
            self._current = MerkleFrontier()

    def extend(self, leaves: Iterable[bytes]) -> None:
        for leaf in leaves:
            self.append(leaf)

    def proof(self) -> list[bytes]:
        """The consistency proof from :attr:`old_size` to :attr:`size`."""
        nodes: list[bytes] = []
        for start, stop in consistency_ranges(self._old.size, self._size):
            value = self._blocks.get((start, stop))
            if value is None and start == self._cursor and stop - start == self._current.size:
                value = self._current.root()
            if value is None:  # pragma: no cover - the block layout above is exhaustive
                raise AssertionError(f"no proof node for leaves {start}..{stop - 1}")
            nodes.append(value)
        return nodes


def root(leaf_hashes: Iterable[bytes]) -> bytes:
    """Root of the tree whose leaves have these hashes, in order (streamed)."""
    frontier = MerkleFrontier()
    frontier.extend(leaf_hashes)
    return frontier.root()


def subtree_root(source: LeafHashSource, start: int, stop: int) -> bytes:
    """Root of the tree over leaves ``start`` .. ``stop - 1`` read from ``source``.

    Raises ``ValueError`` when the source returns a different number of hashes than asked
    for (a gap in the underlying storage).
    """
    frontier = MerkleFrontier()
    frontier.extend(source(start, stop))
    if frontier.size != stop - start:
        raise ValueError(
            f"the leaf source returned {frontier.size} hashes for leaves {start}..{stop - 1}"
        )
    return frontier.root()


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """Leaf ranges whose subtree roots form the inclusion proof of ``index``, bottom-up.

    This is RFC 9162 §2.1.3.1 ``PATH(index, D[0:size])`` with each ``MTH`` left as its range.
    """
    if not 0 <= index < size <= MAX_TREE_SIZE:
        raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
    top_down: list[tuple[int, int]] = []
    start, stop = 0, size
    while stop - start > 1:
        middle = start + _split(stop - start)
        if index < middle:
            top_down.append((middle, stop))
            stop = middle
        else:
            top_down.append((start, middle))
            start = middle
    top_down.reverse()
    return top_down


def consistency_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """Leaf ranges whose subtree roots form the consistency proof from ``old_size`` to ``new_size``.

    This is RFC 9162 §2.1.4.1 ``PROOF(old_size, D[0:new_size])``; empty when the sizes are
    equal or ``old_size`` is 0 (every tree extends the empty tree).
    """
    if not 0 <= old_size <= new_size <= MAX_TREE_SIZE:
        raise ValueError(f"no consistency proof from size {old_size} to size {new_size}")
    if old_size in (0, new_size):
        return []
    # SUBPROOF(m, D[start:stop], complete) appends one range per level on the way down;
    # the recursion bottoms out at m == stop - start, which contributes the subtree itself
    # unless that subtree is the old tree (known to the verifier as old_root).
    top_down: list[tuple[int, int]] = []
    start, stop, m, complete = 0, new_size, old_size, True
    while m != stop - start:
        middle = start + _split(stop - start)
        if m <= middle - start:
            top_down.append((middle, stop))
            stop = middle
        else:
            top_down.append((start, middle))
            m -= middle - start
            start = middle
            complete = False
    top_down.reverse()
    return top_down if complete else [(start, stop), *top_down]


def inclusion_proof(index: int, size: int, source: LeafHashSource) -> list[bytes]:
    """The RFC 9162 inclusion proof (audit path) of leaf ``index`` in the first ``size`` leaves."""
    return [subtree_root(source, a, b) for a, b in inclusion_ranges(index, size)]


def consistency_proof(old_size: int, new_size: int, source: LeafHashSource) -> list[bytes]:
    """The RFC 9162 proof that the first ``old_size`` leaves are a prefix of ``new_size``."""
    return [subtree_root(source, a, b) for a, b in consistency_ranges(old_size, new_size)]


def _well_formed(hashes: Sequence[bytes]) -> bool:
    return len(hashes) <= MAX_PROOF_HASHES and all(
        isinstance(h, bytes) and len(h) == HASH_SIZE for h in hashes
    )


def _is_size(value: object) -> bool:
    return type(value) is int and 0 <= value <= MAX_TREE_SIZE


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root_hash: bytes
) -> bool:
    """True when ``proof`` shows that ``leaf`` is leaf ``index`` of the tree ``(size, root_hash)``.

    RFC 9162 §2.1.3.2; anything malformed (sizes out of range, hashes of the wrong length,
    a proof too long or too short) is simply ``False``.
    """
    if not (_is_size(index) and _is_size(size) and index < size):
        return False
    if not (_well_formed([leaf, root_hash]) and _well_formed(proof)):
        return False
    fn, sn = index, size - 1
    value = leaf
    for sibling in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            value = node_hash(sibling, value)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            value = node_hash(value, sibling)
        fn >>= 1
        sn >>= 1
    return sn == 0 and value == root_hash


def verify_consistency(
    old_size: int, new_size: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes
) -> bool:
    """True when ``proof`` shows ``(old_size, old_root)`` is a prefix of ``(new_size, new_root)``.

    RFC 9162 §2.1.4.2 for ``0 < old_size < new_size``. Equal sizes need an empty proof and
    equal roots; from size 0 the proof must be empty and ``old_root`` the empty-tree root.
    Anything malformed is ``False``.
    """
    if not (_is_size(old_size) and _is_size(new_size) and old_size <= new_size):
        return False
    if not (_well_formed([old_root, new_root]) and _well_formed(proof)):
        return False
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    if old_size == new_size:
        return not proof and old_root == new_root
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        # The old tree is a complete left subtree: the proof leaves out its root.
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    old_value = new_value = path[0]
    for node in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            old_value = node_hash(node, old_value)
            new_value = node_hash(node, new_value)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            new_value = node_hash(new_value, node)
        fn >>= 1
        sn >>= 1
    return sn == 0 and old_value == old_root and new_value == new_root
