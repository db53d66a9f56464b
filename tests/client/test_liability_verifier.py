"""The SDK's `verify_liability_proof` on proofs built with the hub's own tree code (no hub
running; tests/e2e/test_sdk_liabilities.py fetches them from a live hub)."""

from __future__ import annotations

import copy

import pytest
from spoke_client import LiabilityProofInvalid, verify_liability_proof

from hub.core.liabilities import AssetRoot, build_tree, commitment, make_leaf, proof_json
from hub.core.signing import Signer

HUB = Signer("0x" + "42" * 32)


def _published(amounts: list[int]) -> tuple[dict, list[dict]]:
    leaves = [make_leaf(account=f"custodial:{i}", salt=bytes([i]) * 32, asset="token", amount=a)
              for i, a in enumerate(amounts, start=1)]
    trees = {"token": build_tree("token", leaves), "wei": build_tree("wei", [])}
    roots = {a: AssetRoot(t.root, t.total, t.size) for a, t in trees.items()}
    digest = "0x" + commitment(sequence=3, issued_at=1_800_000_000, hub=HUB.address, roots=roots).hex()
    root = {"sequence": 3, "issuedAt": 1_800_000_000, "hub": HUB.address, "commitment": digest,
            "signature": HUB.sign_hash(digest),
            "assets": {a: {"root": "0x" + r.root.hex(), "total": str(r.total), "leaves": r.leaves}
                       for a, r in roots.items()}}
    index = {h: i for i, (h, _) in enumerate(trees["token"].levels[0])}
    return root, [proof_json(tree=trees["token"], index=index[leaf.hash], leaf=leaf, sequence=3)
                  for leaf in leaves]


def test_every_proof_verifies_and_a_forged_one_does_not() -> None:
    root, proofs = _published([5, 0, 12, 7, 1])
    assert [verify_liability_proof(p, root, HUB.address) for p in proofs] == [5, 0, 12, 7, 1]
    forged = copy.deepcopy(proofs[2])
    forged["path"][0]["sum"] = str(int(forged["path"][0]["sum"]) - 1)
    forged["amount"] = "13"
    forged.pop("leafHash")
    with pytest.raises(LiabilityProofInvalid) as err:
        verify_liability_proof(forged, root, HUB.address)
    assert err.value.code == "root_mismatch"
    resigned = {**root, "signature": Signer("0x" + "43" * 32).sign_hash(root["commitment"])}
    with pytest.raises(LiabilityProofInvalid) as err:
        verify_liability_proof(proofs[0], resigned, HUB.address)
    assert err.value.code == "bad_signature"
