"""RFC 6962 / RFC 9162 hashing and proofs, checked against pymerkle and the RFC's definitions.

pymerkle (an independent RFC 6962 implementation) is the oracle for roots and inclusion
paths. Its consistency proofs use a layout of its own, so consistency proofs are checked
against the recursive ``SUBPROOF`` definition of RFC 9162 §2.1.4.1 written out below, with
every subtree root taken from pymerkle, and against pymerkle's roots when verified.
"""

from __future__ import annotations

import os
import random
import tracemalloc
from collections.abc import Callable, Iterator

import pytest
from pymerkle import InmemoryTree

from mlwarden.ledger import merkle
from mlwarden.ledger.merkle import (
    EMPTY_ROOT,
    ConsistencyProver,
    MerkleFrontier,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)

MAX_EXHAUSTIVE = 70


class Oracle:
    """A pymerkle tree over random leaves, with RFC reference proofs built from it."""

    def __init__(self, size: int, seed: int) -> None:
        rng = random.Random(seed)
        self.data = [rng.randbytes(rng.randrange(0, 40)) for _ in range(size)]
        self.tree = InmemoryTree()
        for item in self.data:
            self.tree.append_entry(item)
        self.leaves = [leaf_hash(item) for item in self.data]
        self._subtrees: dict[tuple[int, int], bytes] = {}

    def source(self, start: int, stop: int) -> list[bytes]:
        return self.leaves[start:stop]

    def root(self, size: int) -> bytes:
        return bytes(self.tree.get_root(size))

    def mth(self, start: int, stop: int) -> bytes:
        """MTH(D[start:stop]) computed by pymerkle on a tree of just those leaves."""
        key = (start, stop)
        if key not in self._subtrees:
            subtree = InmemoryTree()
            for item in self.data[start:stop]:
                subtree.append_entry(item)
            self._subtrees[key] = bytes(subtree.get_root())
        return self._subtrees[key]

    def rfc_consistency(self, old: int, new: int) -> list[bytes]:
        """RFC 9162 §2.1.4.1 PROOF(m, D[n]) = SUBPROOF(m, D[n], true), literally."""

        def subproof(m: int, start: int, stop: int, complete: bool) -> list[bytes]:
            n = stop - start
            if m == n:
                return [] if complete else [self.mth(start, stop)]
            k = 1 << ((n - 1).bit_length() - 1)
            if m <= k:
                return [*subproof(m, start, start + k, complete), self.mth(start + k, stop)]
            return [*subproof(m - k, start + k, stop, False), self.mth(start, start + k)]

        return [] if old in (0, new) else subproof(old, 0, new, True)


def _flip(value: bytes) -> bytes:
    return bytes([value[0] ^ 1]) + value[1:]


# ------------------------------------------------------------------------- known answers

# The RFC 6962 test tree of the Certificate Transparency project (merkle_tree_test).
CT_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]
CT_ROOT_8 = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
CT_CONSISTENCY = {
    (1, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (6, 8): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 5): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
}


def test_known_answers_from_the_certificate_transparency_test_tree() -> None:
    leaves = [leaf_hash(item) for item in CT_LEAVES]
    assert merkle.root(leaves).hex() == CT_ROOT_8
    assert (
        merkle.root([])
        == EMPTY_ROOT
        == bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    )
    for (old, new), expected in CT_CONSISTENCY.items():
        proof = consistency_proof(old, new, lambda a, b: leaves[a:b])
        assert [node.hex() for node in proof] == expected


# ------------------------------------------------------------------ agreement with pymerkle


@pytest.mark.parametrize("size", range(MAX_EXHAUSTIVE + 1))
def test_roots_and_proofs_agree_with_pymerkle_for_every_small_size(size: int) -> None:
    oracle = Oracle(size, seed=size)
    assert merkle.root(oracle.leaves) == oracle.root(size)
    for index in range(size):
        proof = inclusion_proof(index, size, oracle.source)
        # pymerkle's path starts with the leaf itself, then the RFC audit path.
        reference = oracle.tree.prove_inclusion(index + 1, size).path
        assert reference[0] == oracle.leaves[index]
        assert proof == reference[1:]
        assert verify_inclusion(oracle.leaves[index], index, size, proof, oracle.root(size))
    for old in range(size + 1):
        proof = consistency_proof(old, size, oracle.source)
        assert proof == oracle.rfc_consistency(old, size)
        assert verify_consistency(old, size, proof, oracle.root(old), oracle.root(size))


@pytest.mark.parametrize("size", [127, 128, 129, 1000, 1023, 1025, 4096])
def test_roots_and_proofs_agree_with_pymerkle_for_larger_sizes(size: int) -> None:
    oracle = Oracle(size, seed=size)
    rng = random.Random(size)
    assert merkle.root(oracle.leaves) == oracle.root(size)
    for index in [0, size - 1, *rng.sample(range(size), 5)]:
        proof = inclusion_proof(index, size, oracle.source)
        assert proof == oracle.tree.prove_inclusion(index + 1, size).path[1:]
        assert verify_inclusion(oracle.leaves[index], index, size, proof, oracle.root(size))
    for old in [1, size - 1, *rng.sample(range(1, size), 4)]:
        proof = consistency_proof(old, size, oracle.source)
        assert proof == oracle.rfc_consistency(old, size)
        assert verify_consistency(old, size, proof, oracle.root(old), oracle.root(size))


def test_random_sizes_agree_with_pymerkle() -> None:
    rng = random.Random(20261127)
    for _ in range(4):
        size = rng.randrange(2, 3000)
        oracle = Oracle(size, seed=size)
        assert merkle.root(oracle.leaves) == oracle.root(size)
        index = rng.randrange(size)
        proof = inclusion_proof(index, size, oracle.source)
        assert proof == oracle.tree.prove_inclusion(index + 1, size).path[1:]
        old = rng.randrange(1, size)
        proof = consistency_proof(old, size, oracle.source)
        assert verify_consistency(old, size, proof, oracle.root(old), oracle.root(size))


# ------------------------------------------------------------------ proofs must not bend

TAMPER_SIZES = [(0, 1), (0, 2), (1, 2), (3, 7), (4, 8), (5, 13), (12, 13), (0, 64), (63, 70)]


@pytest.mark.parametrize(("index", "size"), TAMPER_SIZES)
def test_inclusion_proof_fails_when_anything_is_altered(index: int, size: int) -> None:
    # The oracle holds more leaves than the tree under test, for the honest roots of the
    # neighbouring sizes: a tree size only means something together with its signed root,
    # and two sizes whose paths have the same shape compute the same value from one proof.
    oracle = Oracle(2 * size + 2, seed=index * 100 + size)
    root = oracle.root(size)
    leaf = oracle.leaves[index]
    proof = inclusion_proof(index, size, oracle.source)
    assert verify_inclusion(leaf, index, size, proof, root)
    for position in range(len(proof)):
        altered = list(proof)
        altered[position] = _flip(altered[position])
        assert not verify_inclusion(leaf, index, size, altered, root)
    for other_index in {index - 1, index + 1, size, -1}:
        assert not verify_inclusion(leaf, other_index, size, proof, root)
    for other_size in {size - 1, size + 1, 2 * size, 0}:
        if other_size != size:
            other_root = oracle.root(other_size) if other_size > 0 else EMPTY_ROOT
            assert not verify_inclusion(leaf, index, other_size, proof, other_root)
    assert not verify_inclusion(_flip(leaf), index, size, proof, root)
    assert not verify_inclusion(leaf, index, size, proof, _flip(root))
    assert not verify_inclusion(leaf, index, size, [*proof, leaf], root)
    if proof:
        assert not verify_inclusion(leaf, index, size, proof[:-1], root)
        assert not verify_inclusion(leaf, index, size, [proof[0][:31], *proof[1:]], root)


@pytest.mark.parametrize(("old", "new"), [(1, 2), (2, 5), (3, 7), (4, 8), (6, 13), (7, 8), (9, 70)])
def test_consistency_proof_fails_when_anything_is_altered(old: int, new: int) -> None:
    oracle = Oracle(new + 1, seed=old * 100 + new)
    old_root, new_root = oracle.root(old), oracle.root(new)
    proof = consistency_proof(old, new, oracle.source)
    assert verify_consistency(old, new, proof, old_root, new_root)
    for position in range(len(proof)):
        altered = list(proof)
        altered[position] = _flip(altered[position])
        assert not verify_consistency(old, new, altered, old_root, new_root)
    # Sizes are checked together with their honest roots (see the inclusion test above).
    for other_old in {old - 1, old + 1}:
        if 0 < other_old < new and other_old != old:
            assert not verify_consistency(other_old, new, proof, oracle.root(other_old), new_root)
    for other_new in {new - 1, new + 1}:
        if other_new > old and other_new != new:
            assert not verify_consistency(old, other_new, proof, old_root, oracle.root(other_new))
    assert not verify_consistency(old, new, proof, _flip(old_root), new_root)
    assert not verify_consistency(old, new, proof, old_root, _flip(new_root))
    assert not verify_consistency(old, new, [*proof, proof[0]], old_root, new_root)
    assert not verify_consistency(old, new, proof[:-1], old_root, new_root)
    assert not verify_consistency(old, new, [], old_root, new_root)


def test_degenerate_consistency_cases() -> None:
    oracle = Oracle(5, seed=5)
    root = oracle.root(5)
    assert consistency_proof(5, 5, oracle.source) == []
    assert verify_consistency(5, 5, [], root, root)
    assert not verify_consistency(5, 5, [], root, _flip(root))
    assert not verify_consistency(5, 5, [root], root, root)
    assert consistency_proof(0, 5, oracle.source) == []
    assert verify_consistency(0, 5, [], EMPTY_ROOT, root)
    assert not verify_consistency(0, 5, [], root, root)
    assert not verify_consistency(6, 5, [], root, root)


def test_verifiers_refuse_malformed_input_without_raising() -> None:
    leaf = leaf_hash(b"x")
    assert not verify_inclusion(leaf, 0, 1, [], leaf[:16])
    assert not verify_inclusion(leaf, True, 2, [leaf], leaf)  # type: ignore[arg-type]
    assert not verify_inclusion(leaf, 0, 1 << 70, [], leaf)
    assert not verify_inclusion(leaf, 0, 2, [leaf] * 200, leaf)
    assert not verify_inclusion(leaf, 0, 2, ["not bytes"], leaf)  # type: ignore[list-item]
    assert not verify_consistency(1, 2, [leaf] * 200, leaf, leaf)
    assert not verify_consistency(-1, 2, [leaf], leaf, leaf)


def test_proof_generation_rejects_impossible_requests() -> None:
    oracle = Oracle(4, seed=4)
    for index, size in [(4, 4), (-1, 4), (0, 0)]:
        with pytest.raises(ValueError):
            inclusion_proof(index, size, oracle.source)
    with pytest.raises(ValueError):
        consistency_proof(3, 2, oracle.source)
    with pytest.raises(ValueError, match=r"returned 0 hashes for leaves 4\.\.4"):
        inclusion_proof(0, 5, oracle.source)  # the source holds only 4 leaves


# ---------------------------------------------------------------------- frontier, prover


def test_frontier_gives_the_root_after_every_append_and_survives_storage() -> None:
    oracle = Oracle(300, seed=300)
    frontier = MerkleFrontier()
    assert frontier.root() == EMPTY_ROOT
    for size, leaf in enumerate(oracle.leaves, start=1):
        frontier.append(leaf)
        assert frontier.root() == oracle.root(size)
        assert len(frontier.edge) == size.bit_count()
        restored = MerkleFrontier.from_bytes(frontier.size, frontier.to_bytes())
        assert restored.root() == frontier.root()
    with pytest.raises(ValueError, match="edge hashes"):
        MerkleFrontier.from_bytes(7, b"\0" * 64)
    with pytest.raises(ValueError, match="32 bytes"):
        frontier.append(b"short")


def test_frontier_extend_matches_one_by_one_appends_across_chunk_boundaries() -> None:
    oracle = Oracle(2 * 1024 + 77, seed=1)
    for prefix in (0, 5, 1024, 1500):
        frontier = MerkleFrontier()
        frontier.extend(oracle.leaves[:prefix])
        frontier.extend(iter(oracle.leaves[prefix:]))
        assert frontier.size == len(oracle.leaves)
        assert frontier.root() == oracle.root(len(oracle.leaves))
    with pytest.raises(ValueError, match="32 bytes"):
        MerkleFrontier().extend([b"\0" * 32] * 1023 + [b"\0" * 31])


def test_appending_a_subtree_root_equals_appending_its_leaves() -> None:
    oracle = Oracle(64 + 16 + 3, seed=3)
    frontier = MerkleFrontier()
    frontier.append_subtree(merkle.root(oracle.leaves[:64]), 6)
    frontier.append_subtree(merkle.root(oracle.leaves[64:80]), 4)
    frontier.extend(oracle.leaves[80:])
    assert frontier.root() == oracle.root(len(oracle.leaves))
    with pytest.raises(ValueError, match="cannot follow 83 leaves"):
        frontier.append_subtree(oracle.leaves[0], 1)


def test_streamed_root_holds_only_a_bounded_amount_of_memory() -> None:
    def leaves() -> Iterator[bytes]:
        for index in range(200_000):
            yield leaf_hash(index.to_bytes(8, "big"))

    tracemalloc.start()
    try:
        merkle.root(leaves())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # 200,000 hashes would take over 12 MB if held; one chunk of 1,024 takes about 100 KB.
    assert peak < 1_000_000


def test_consistency_prover_builds_the_same_proofs_from_the_old_frontier_alone() -> None:
    size = 80
    oracle = Oracle(size, seed=80)
    for old in range(size + 1):
        old_frontier = MerkleFrontier()
        old_frontier.extend(oracle.leaves[:old])
        prover = ConsistencyProver(old_frontier)
        assert prover.proof() == []
        for new in range(old + 1, size + 1):
            prover.append(oracle.leaves[new - 1])
            assert prover.proof() == consistency_proof(old, new, oracle.source), (old, new)


def test_proofs_read_only_the_ranges_they_need_from_the_source() -> None:
    oracle = Oracle(1000, seed=9)
    reads: list[tuple[int, int]] = []

    def counting(start: int, stop: int) -> list[bytes]:
        reads.append((start, stop))
        return oracle.source(start, stop)

    source: Callable[[int, int], list[bytes]] = counting
    inclusion_proof(500, 1000, source)
    # The ranges are disjoint subtrees: together they cover each other leaf once.
    assert sum(stop - start for start, stop in reads) == 999
    assert all(not start <= 500 < stop for start, stop in reads)


def test_leaf_and_node_hashes_use_the_rfc_6962_prefixes() -> None:
    import hashlib

    data = os.urandom(20)
    assert leaf_hash(data) == hashlib.sha256(b"\x00" + data).digest()
    left, right = os.urandom(32), os.urandom(32)
    assert merkle.node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()
