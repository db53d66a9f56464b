"""Merkle proofs over thread states (the client's `MerkleTree.proof` / `verify`): the hub's proof
for every leaf of small trees equals the published client's byte for byte, verifies against the
root, and every tampered proof, truncated proof or wrong root is refused by both."""

from __future__ import annotations

import shutil

import pytest
from core_factories import CONTRACT, OTHER, USER, run_vectors

from hub.core import ThreadState, merkle_root_of_hashes, thread_root
from hub.core.hashing import merkle_proof, thread_proof, thread_state_hash, verify_merkle_proof

LEAVES = ["0x" + format(i * 0x1111, "064x") for i in (7, 3, 9, 1, 12, 5, 2)]
# every tree shape up to 7 leaves (odd counts are padded), plus one with a duplicate leaf
TREES = [LEAVES[:n] for n in range(1, 8)] + [[*LEAVES[:3], LEAVES[1]]]


def tampered(proof: str) -> list[str]:
    """Each 32-byte chunk with one hex digit changed, the last chunk dropped, a chunk added,
    and a length that is not whole chunks."""
    body = proof[2:]
    out = []
    for start in range(0, len(body), 64):
        digit = "0" if body[start + 7] != "0" else "1"
        out.append("0x" + body[: start + 7] + digit + body[start + 8 :])
    if len(body) > 64:
        out.append("0x" + body[:-64])
    out.append("0x" + body + "ab" * 32)
    out.append("0x" + body[:-2])
    return out


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_every_leaf_proof_matches_the_client_and_tampered_proofs_fail_in_both() -> None:
    requests, ours = [], []
    for leaves in TREES:
        root = merkle_root_of_hashes(leaves)
        for leaf in dict.fromkeys(leaves):
            proof = merkle_proof(leaf, leaves)
            bad = tampered(proof)
            requests.append({"leaves": leaves, "leaf": leaf, "check": [proof, *bad]})
            ours.append((proof, [verify_merkle_proof(p, root) for p in [proof, *bad]]))
    got = run_vectors({"proofs": requests})["merkleProofs"]
    assert len(got) == len(ours) == 31  # 1 + 2 + … + 7 leaves, and 3 distinct ones
    for (proof, verified), theirs in zip(ours, got, strict=True):
        assert proof == theirs["proof"]
        assert verified == theirs["verified"] == [True] + [False] * (len(verified) - 1)


def test_a_proof_is_the_leaf_then_one_sibling_per_level() -> None:
    leaves = LEAVES[:4]
    ordered = sorted(leaves)
    proof = merkle_proof(ordered[0], leaves)
    assert proof[:66] == ordered[0] and proof[66:130] == ordered[1][2:]
    assert len(proof) == 2 + 64 * 3
    upper = "0x" + proof[2:].upper()
    assert verify_merkle_proof(upper, merkle_root_of_hashes(leaves).upper())
    assert verify_merkle_proof(proof[2:], merkle_root_of_hashes(leaves))  # 0x is optional


def test_a_leaf_outside_the_tree_has_no_proof_and_empty_proofs_never_verify() -> None:
    with pytest.raises(ValueError, match="not found"):
        merkle_proof(LEAVES[6], LEAVES[:3])
    assert merkle_proof(LEAVES[1].upper().replace("0X", "0x"), LEAVES[:3]) == merkle_proof(LEAVES[1], LEAVES[:3])
    root = merkle_root_of_hashes(LEAVES[:1])
    assert not verify_merkle_proof("0x", root)
    assert not verify_merkle_proof("", root)
    assert verify_merkle_proof(merkle_proof(LEAVES[0], LEAVES[:1]), root)


def test_thread_proof_proves_an_open_thread_against_the_thread_root() -> None:
    threads = [ThreadState(contract_address=CONTRACT, sender=USER.address, receiver=OTHER.address,
                           thread_id=i, balance_wei_sender=0, balance_token_sender=10 * i)
               for i in (1, 2, 3)]
    root = thread_root(threads)
    for thread in threads:
        proof = thread_proof(thread, threads)
        assert proof[:66] == thread_state_hash(thread)
        assert verify_merkle_proof(proof, root)
    stranger = ThreadState(contract_address=CONTRACT, sender=USER.address, receiver=OTHER.address,
                           thread_id=9, balance_wei_sender=0, balance_token_sender=1)
    with pytest.raises(ValueError):
        thread_proof(stranger, threads)
