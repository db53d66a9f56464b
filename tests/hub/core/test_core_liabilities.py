"""The Merkle sum tree of liabilities: every leaf's proof verifies, sums add up, and any tampering
(leaf, amount, sibling hash or sum, negative or overflowing values, sum-splitting) is refused."""

from __future__ import annotations

import copy
import hashlib

import pytest
from eth_hash.auto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.core.liabilities import (
    ASSETS,
    EMPTY_ROOT,
    UINT256_MAX,
    AssetRoot,
    Leaf,
    ProofInvalid,
    Step,
    account_hash,
    build_tree,
    commitment,
    inclusion_path,
    leaf_hash,
    make_leaf,
    node_hash,
    path_root,
    proof_json,
    root_commitment,
    tree_from_nodes,
    verify_liability_proof,
    verify_proof,
    verify_root,
)
from hub.core.signing import Signer

KEY = "0x" + "11" * 32
SIGNER = Signer(KEY)


def _salt(i: int) -> bytes:
    return hashlib.sha256(f"salt{i}".encode()).digest()


def publish(balances: dict[str, list[int]], sequence: int = 7):
    """Trees for {asset: [amounts]} and a signed root in the published JSON form."""
    trees, leaves = {}, {}
    for asset in ASSETS:
        ls = [make_leaf(account=f"custodial:{asset}:{i}", salt=_salt(i), asset=asset, amount=a)
              for i, a in enumerate(balances.get(asset, []))]
        trees[asset] = build_tree(asset, ls)
        leaves[asset] = ls
    roots = {a: AssetRoot(t.root, t.total, t.size) for a, t in trees.items()}
    digest = commitment(sequence=sequence, issued_at=1_700_000_000, hub=SIGNER.address, roots=roots)
    root = {"sequence": sequence, "issuedAt": 1_700_000_000, "hub": SIGNER.address,
            "assets": {a: {"root": "0x" + r.root.hex(), "total": str(r.total), "leaves": r.leaves}
                       for a, r in roots.items()},
            "commitment": "0x" + digest.hex(), "signature": SIGNER.sign_hash("0x" + digest.hex())}
    proofs = []
    for asset, tree in trees.items():
        position = {h: i for i, (h, _s) in enumerate(tree.levels[0])}
        for leaf in leaves[asset]:
            proofs.append(proof_json(tree=tree, index=position[leaf.hash], leaf=leaf, sequence=sequence))
    return root, proofs


amounts = st.lists(st.integers(0, 10**30), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(wei=amounts, token=amounts)
def test_every_leaf_verifies_and_totals_match(wei: list[int], token: list[int]) -> None:
    root, proofs = publish({"wei": wei, "token": token})
    assert root["assets"]["wei"]["total"] == str(sum(wei))
    assert root["assets"]["token"]["total"] == str(sum(token))
    proven = {"wei": 0, "token": 0}
    for proof in proofs:
        proven[proof["asset"]] += verify_liability_proof(proof, root, SIGNER.address)
    assert proven == {"wei": sum(wei), "token": sum(token)}


@settings(max_examples=40, deadline=None)
@given(wei=st.lists(st.integers(0, 10**20), min_size=2, max_size=30), data=st.data())
def test_any_tampering_fails(wei: list[int], data: st.DataObject) -> None:
    root, proofs = publish({"wei": wei})
    proof = copy.deepcopy(data.draw(st.sampled_from([p for p in proofs if p["asset"] == "wei"])))
    what = data.draw(st.sampled_from(["amount", "account", "salt", "sibling_hash", "sibling_sum",
                                      "side", "drop_step", "root_total", "signature"]))
    if what in ("sibling_hash", "sibling_sum", "side", "drop_step") and not proof["path"]:
        return
    r = copy.deepcopy(root)
    if what == "amount":
        proof["amount"] = str(int(proof["amount"]) + 1)
        proof.pop("leafHash")
    elif what == "account":
        proof["account"] += "x"
    elif what == "salt":
        proof["salt"] = "0x" + "00" * 32
    elif what == "sibling_hash":
        proof["path"][0]["hash"] = "0x" + "ab" * 32
    elif what == "sibling_sum":
        proof["path"][-1]["sum"] = str(int(proof["path"][-1]["sum"]) + 1)
    elif what == "side":
        step = proof["path"][0]
        step["side"] = "left" if step["side"] == "right" else "right"
        if proof["leafHash"] == step["hash"]:
            return  # swapping two equal nodes changes nothing
    elif what == "drop_step":
        proof["path"].pop()
    elif what == "root_total":
        r["assets"]["wei"]["total"] = str(int(r["assets"]["wei"]["total"]) + 1)
    elif what == "signature":
        other = Signer("0x" + "22" * 32)
        r["signature"] = other.sign_hash(r["commitment"])
    with pytest.raises(ProofInvalid):
        verify_liability_proof(proof, r, SIGNER.address)


def test_sum_splitting_between_siblings_is_detected() -> None:
    """A prover that moves value from one sibling's sum to the other keeps the parent total, but
    the node hash commits to both sums, so the root changes."""
    leaves = [make_leaf(account=f"a{i}", salt=_salt(i), asset="wei", amount=a)
              for i, a in enumerate([5, 9])]
    tree = build_tree("wei", leaves)
    (h0, s0), (h1, s1) = tree.levels[0]
    assert path_root(h0, s0, [Step(h1, s1, left=False)]) == (tree.root, 14)
    # the same total with a split of 0 and 14 does not reach the root
    got, total = path_root(h0, 0, [Step(h1, 14, left=False)])
    assert total == 14 and got != tree.root


def test_negative_and_overflowing_values_are_refused() -> None:
    with pytest.raises(ProofInvalid) as err:
        make_leaf(account="a", salt=_salt(0), asset="wei", amount=-1)
    assert err.value.code == "negative_amount"
    h = node_hash(b"\x00" * 32, 1, b"\x01" * 32, 2)
    with pytest.raises(ProofInvalid) as err:
        path_root(h, UINT256_MAX, [Step(b"\x02" * 32, 1, left=False)])
    assert err.value.code == "sum_overflow"
    root, proofs = publish({"wei": [3, 4]})
    proof = copy.deepcopy(proofs[0])
    proof["path"][0]["sum"] = "-4"
    with pytest.raises(ProofInvalid) as err:
        verify_proof(proof, root)
    assert err.value.code == "amount_out_of_range"
    # the proof page shows "<code>: <message>": the message names the field that is wrong
    assert str(err.value) == "path[0].sum is not a non-negative decimal integer"
    with pytest.raises(ProofInvalid):
        build_tree("wei", [make_leaf(account="a", salt=_salt(0), asset="wei", amount=UINT256_MAX),
                           make_leaf(account="b", salt=_salt(1), asset="wei", amount=1)])


def test_leaves_reveal_no_identity_and_follow_hash_order() -> None:
    _root, proofs = publish({"wei": [1, 2, 3, 4, 5]})
    for proof in proofs:
        for step in proof["path"]:
            assert set(step) == {"hash", "sum", "side"}  # siblings: hashes and sums, no account
    leaves = [make_leaf(account=f"custodial:{i}", salt=_salt(i), asset="wei", amount=i)
              for i in range(9)]
    hashes = [h for h, _s in build_tree("wei", leaves).levels[0]]
    assert hashes == sorted(hashes)  # ordered by hash, not by account or creation


def test_empty_asset_tree_commits_to_zero() -> None:
    root, proofs = publish({"wei": [1]})
    assert root["assets"]["token"] == {"root": root["assets"]["token"]["root"], "total": "0",
                                       "leaves": 0}
    assert verify_liability_proof(proofs[0], root, SIGNER.address) == 1


def test_malformed_input_is_refused_with_a_code() -> None:
    root, proofs = publish({"wei": [1, 2]})
    for bad in ({}, {"sequence": 7}, {**proofs[0], "path": "x"}, {**proofs[0], "asset": "btc"},
                {**proofs[0], "amount": 1.5}, {**proofs[0], "sequence": 8}):
        with pytest.raises(ProofInvalid):
            verify_liability_proof(bad, root, SIGNER.address)


def test_a_malformed_root_is_refused_with_its_code_naming_the_field() -> None:
    """The proof page shows "<code>: <message>"; the message names what is wrong."""
    root, _proofs = publish({"wei": [3, 4]})
    assert verify_root(root, SIGNER.address) == root_commitment(root)
    cases = [
        ({k: v for k, v in root.items() if k != "hub"}, "malformed", "root.hub is missing"),
        ({**root, "sequence": "7x"}, "malformed", "sequence is not a non-negative decimal integer"),
        ({**root, "issuedAt": "-1"}, "amount_out_of_range",
         "issuedAt is not a non-negative decimal integer"),
    ]
    for broken, code, message in cases:
        with pytest.raises(ProofInvalid) as err:
            root_commitment(broken)
        assert (err.value.code, str(err.value)) == (code, message)


@pytest.mark.parametrize("expected_hub", ["0x1234", SIGNER.address + "00", "hub", 12345])
def test_a_root_is_checked_only_against_a_well_formed_hub_address(expected_hub: object) -> None:
    root, _proofs = publish({"wei": [3]})
    with pytest.raises(ProofInvalid) as err:
        verify_root(root, expected_hub)  # type: ignore[arg-type]
    assert (err.value.code, str(err.value)) == (
        "bad_root", "the expected hub address is not 20 bytes of hex")


def _resigned(root: dict, signer: Signer = SIGNER) -> dict:
    digest = "0x" + root_commitment(root).hex()
    return {**root, "commitment": digest, "signature": signer.sign_hash(digest)}


def test_each_way_a_root_can_fail_has_its_own_code_and_message() -> None:
    root, _proofs = publish({"wei": [3, 4]})
    other = Signer("0x" + "22" * 32)
    cases = [
        ({**root, "hub": other.address}, "wrong_hub", "the root names another hub"),
        ({k: v for k, v in root.items() if k != "hub"}, "wrong_hub", "the root names another hub"),
        ({**root, "sequence": 8}, "commitment_mismatch",
         "the root's commitment does not match its fields"),
        ({**root, "commitment": "0x1234"}, "malformed", "commitment is not 32 bytes of 0x-hex"),
        ({**root, "signature": "0x00"}, "bad_signature",
         "bad_signature: signature is not 65 bytes of 0x-hex"),
        (_resigned(root, other), "bad_signature", "the root is not signed by the hub"),
    ]
    for broken, code, message in cases:
        with pytest.raises(ProofInvalid) as err:
            verify_root(broken, SIGNER.address)
        assert (err.value.code, str(err.value)) == (code, message)
    # without a `commitment` field the signature is checked over the recomputed one
    unstated = {k: v for k, v in root.items() if k != "commitment"}
    assert verify_root(unstated, SIGNER.address) == root_commitment(root)


@pytest.mark.parametrize(("sequence", "code", "message"), [
    (True, "malformed", "sequence is not a decimal string"),
    (None, "malformed", "sequence is not a decimal string"),
    (7.0, "malformed", "sequence is not a decimal string"),
    ("1" + "0" * 78, "malformed", "sequence is not a non-negative decimal integer"),  # 79 digits
    ("9" * 78, "amount_out_of_range", None),  # 78 digits, above 2**256 - 1
])
def test_root_numbers_are_uint256_decimal_strings_or_ints(sequence: object, code: str,
                                                          message: str | None) -> None:
    root, _proofs = publish({"wei": [3]})
    with pytest.raises(ProofInvalid) as err:
        root_commitment({**root, "sequence": sequence})
    assert err.value.code == code
    if message:
        assert str(err.value) == message


def test_the_largest_uint256_sequence_is_accepted() -> None:
    root, _proofs = publish({"wei": [3]})
    assert len(str(UINT256_MAX)) == 78
    for sequence in (str(UINT256_MAX), UINT256_MAX, "0" * 78):
        assert len(root_commitment({**root, "sequence": sequence})) == 32


# --- the published byte format (docs/protocol.md, "Proof of liabilities"), rebuilt by hand ---

def _u256(n: int) -> bytes:
    return n.to_bytes(32, "big")


def _spec_account_hash(account: str, salt: bytes) -> bytes:
    return keccak(b"spoke-liability-account" + salt + account.encode())


def _spec_leaf(account: str, salt: bytes, asset: str, amount: int) -> bytes:
    tag = {"wei": b"wei\x00\x00\x00\x00\x00", "token": b"token\x00\x00\x00"}[asset]
    return keccak(b"\x00" + _spec_account_hash(account, salt) + tag + _u256(amount))


def _spec_node(left: tuple[bytes, int], right: tuple[bytes, int]) -> tuple[bytes, int]:
    return (keccak(b"\x01" + left[0] + _u256(left[1]) + right[0] + _u256(right[1])),
            left[1] + right[1])


@pytest.mark.parametrize("asset", ASSETS)
def test_leaves_and_nodes_hash_as_the_protocol_publishes_them(asset: str) -> None:
    salt = _salt(1)
    account = "custodial:0x" + "ab" * 20
    assert account_hash(account, salt) == _spec_account_hash(account, salt)
    leaf = make_leaf(account=account, salt=salt, asset=asset, amount=10**18 + 7)
    assert leaf == Leaf(account, salt, asset, 10**18 + 7, _spec_leaf(account, salt, asset, 10**18 + 7))
    assert leaf_hash(_spec_account_hash(account, salt), asset, 0) == _spec_leaf(account, salt, asset, 0)
    left, right = (b"\x05" * 32, 5), (b"\x09" * 32, UINT256_MAX - 5)
    assert node_hash(left[0], left[1], right[0], right[1]) == _spec_node(left, right)[0]


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5, 6, 7, 9])
def test_a_tree_pairs_neighbours_and_carries_an_odd_node_up_unchanged(count: int) -> None:
    leaves = [make_leaf(account=f"a{i}", salt=_salt(i), asset="wei", amount=3 * i + 1)
              for i in range(count)]
    level = sorted((leaf.hash, leaf.amount) for leaf in leaves)
    levels = [tuple(level)]
    while len(level) > 1:
        up = [_spec_node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        level = up + ([level[-1]] if len(level) % 2 else [])
        levels.append(tuple(level))
    tree = build_tree("wei", reversed(leaves))
    assert tree.levels == tuple(levels)
    assert (tree.root, tree.total, tree.size) == (level[0][0], sum(3 * i + 1 for i in range(count)), count)
    assert tree_from_nodes("wei", levels[0]) == tree
    for index, (h, amount) in enumerate(levels[0]):
        assert path_root(h, amount, inclusion_path(tree, index)) == (tree.root, tree.total)
        assert len(inclusion_path(tree, index)) <= max(count - 1, 0).bit_length()
    for index in (-1, count):
        with pytest.raises(IndexError):
            inclusion_path(tree, index)


def test_an_empty_tree_has_the_empty_root_and_nothing_to_prove() -> None:
    tree = build_tree("token", [])
    assert (tree.root, tree.total, tree.size) == (keccak(b"spoke-liabilities-empty"), 0, 0)
    assert EMPTY_ROOT == keccak(b"spoke-liabilities-empty")
    with pytest.raises(IndexError):
        inclusion_path(tree, 0)


def test_the_commitment_binds_every_field_in_the_published_order() -> None:
    roots = {"wei": AssetRoot(b"\x11" * 32, 1234, 3), "token": AssetRoot(b"\x22" * 32, 0, 0)}
    hub = "0x" + "Ab" * 20
    expected = keccak(b"spoke-liabilities-v1" + bytes.fromhex("ab" * 20) + _u256(9) + _u256(1_700_000_001)
                      + b"wei\x00\x00\x00\x00\x00" + b"\x11" * 32 + _u256(1234) + _u256(3)
                      + b"token\x00\x00\x00" + b"\x22" * 32 + _u256(0) + _u256(0))
    assert commitment(sequence=9, issued_at=1_700_000_001, hub=hub, roots=roots) == expected
    root = {"sequence": "9", "issuedAt": 1_700_000_001, "hub": hub,
            "assets": {"wei": {"root": "0x" + "11" * 32, "total": "1234", "leaves": 3},
                       "token": {"root": "0x" + "22" * 32, "total": 0, "leaves": "0"}}}
    assert root_commitment(root) == expected
    for broken_roots, message in [
        ({"wei": roots["wei"]}, "a root commits to exactly the assets ('wei', 'token')"),
        ({**roots, "btc": roots["wei"]}, "a root commits to exactly the assets ('wei', 'token')"),
        ({**roots, "token": AssetRoot(b"\x22" * 31, 0, 0)}, "a root hash is 32 bytes"),
    ]:
        with pytest.raises(ProofInvalid) as err:
            commitment(sequence=9, issued_at=1, hub=hub, roots=broken_roots)
        assert (err.value.code, str(err.value)) == ("bad_root", message)
    for bad_hub in ("0x" + "ab" * 19, "ab" * 21, "0x" + "ab" * 21, "0x" + "gg" * 20):
        with pytest.raises(ProofInvalid) as err:
            commitment(sequence=9, issued_at=1, hub=bad_hub, roots=roots)
        assert (err.value.code, str(err.value)) == ("bad_root", "the hub address is not 20 bytes of hex")


def _broken(proof: dict, **changes: object) -> dict:
    out = copy.deepcopy(proof)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def test_each_way_a_proof_can_fail_has_its_own_code_and_message() -> None:
    """The proof page shows "<code>: <message>"; the message names the field that is wrong."""
    root, proofs = publish({"wei": [3, 4, 5]})
    proof = next(p for p in proofs if p["asset"] == "wei" and len(p["path"]) == 2)
    step = proof["path"][0]
    other_hash = "0x" + "ab" * 32
    cases = [
        (_broken(proof, sequence=8), root, "wrong_root", "the proof is for another root"),
        (_broken(proof, sequence="x"), root, "malformed",
         "proof sequence is not a non-negative decimal integer"),
        (proof, {**root, "sequence": "x"}, "malformed", "sequence is not a non-negative decimal integer"),
        (_broken(proof, asset="btc"), root, "unknown_asset", "unknown asset 'btc'"),
        (_broken(proof, account=None), root, "malformed", "proof.account is missing"),
        (_broken(proof, amount="x"), root, "malformed", "amount is not a non-negative decimal integer"),
        (_broken(proof, salt="0x12"), root, "malformed", "salt is not 32 bytes of 0x-hex"),
        (_broken(proof, leafHash=other_hash), root, "leaf_mismatch",
         "the leaf hash does not match account, salt, amount"),
        (_broken(proof, leafHash="0x12"), root, "malformed", "leafHash is not 32 bytes of 0x-hex"),
        (_broken(proof, path="x"), root, "malformed", "proof.path is not a list"),
        (_broken(proof, path=[step] * 257), root, "malformed", "proof.path is not a list"),
        (_broken(proof, path=[step] * 256), root, "root_mismatch",
         "the path does not lead to the published root"),
        (_broken(proof, path=[5]), root, "malformed", "path[0] is not a step"),
        (_broken(proof, path=[step, {**step, "side": "up"}]), root, "malformed", "path[1] is not a step"),
        (_broken(proof, path=[{**step, "hash": "0x12"}]), root, "malformed",
         "path[0].hash is not 32 bytes of 0x-hex"),
        (_broken(proof, path=[{**step, "hash": other_hash}, proof["path"][1]]), root, "root_mismatch",
         "the path does not lead to the published root"),
    ]
    published = root["assets"]["wei"]
    for field, value, code, message in [
        ("total", str(int(published["total"]) + 1), "total_mismatch",
         "the path's sums do not add up to the published total"),
        ("leaves", 2, "bad_path", "the path is longer than the tree is deep"),  # 3 leaves: depth 2
    ]:
        changed = copy.deepcopy(root)
        changed["assets"]["wei"][field] = value
        cases.append((proof, changed, code, message))
    for bad_proof, bad_root, code, message in cases:
        with pytest.raises(ProofInvalid) as err:
            verify_proof(bad_proof, bad_root)
        assert (err.value.code, str(err.value)) == (code, message), (bad_proof, code)
    # a path no longer than the tree is deep verifies; one step more than the published leaf
    # count allows does not (two leaves: depth 1; one leaf: depth 0)
    two, two_proofs = publish({"wei": [3, 4]})
    assert verify_proof(two_proofs[0], two) == int(two_proofs[0]["amount"])
    one = copy.deepcopy(two)
    one["assets"]["wei"]["leaves"] = 1
    with pytest.raises(ProofInvalid) as err:
        verify_proof(two_proofs[0], one)
    assert err.value.code == "bad_path"


def test_a_malformed_asset_entry_or_path_hash_is_refused_with_its_code_and_message() -> None:
    root, proofs = publish({"wei": [3, 4]})
    assets = root["assets"]
    cases = [
        ({k: v for k, v in root.items() if k != "assets"}, "malformed", "root.assets is missing"),
        ({**root, "assets": [1]}, "malformed", "root.assets is missing"),
        ({**root, "assets": {"wei": assets["wei"]}}, "malformed", "root.assets.token is missing"),
        ({**root, "assets": {**assets, "wei": "x"}}, "malformed", "root.assets.wei is missing"),
        ({**root, "assets": {**assets, "wei": {**assets["wei"], "root": "0x12"}}}, "malformed",
         "wei root is not 32 bytes of 0x-hex"),
        ({**root, "assets": {**assets, "token": {**assets["token"], "total": "x"}}}, "malformed",
         "token total is not a non-negative decimal integer"),
        ({**root, "assets": {**assets, "wei": {**assets["wei"], "leaves": -1}}},
         "amount_out_of_range", "wei leaves is not a non-negative decimal integer"),
    ]
    for broken, code, message in cases:
        with pytest.raises(ProofInvalid) as err:
            verify_proof(proofs[0], broken)
        assert (err.value.code, str(err.value)) == (code, message)
    with pytest.raises(ProofInvalid) as err:
        path_root(b"\x00" * 32, 1, [Step(b"\x01" * 31, 1, left=True)])
    assert (err.value.code, str(err.value)) == ("bad_path", "a path hash is 32 bytes")
    with pytest.raises(ProofInvalid) as err:
        path_root(b"\x00" * 32, UINT256_MAX, [Step(b"\x01" * 32, 1, left=False)])
    assert (err.value.code, str(err.value)) == ("sum_overflow", "a node sum overflows uint256")
    # the largest total that fits is accepted
    assert path_root(b"\x00" * 32, UINT256_MAX - 1, [Step(b"\x01" * 32, 1, left=True)]) == (
        node_hash(b"\x01" * 32, 1, b"\x00" * 32, UINT256_MAX - 1), UINT256_MAX)


def test_a_proof_is_cut_only_for_the_leaf_at_that_index() -> None:
    leaves = [make_leaf(account=f"a{i}", salt=_salt(i), asset="wei", amount=i) for i in range(3)]
    tree = build_tree("wei", leaves)
    first = next(leaf for leaf in leaves if leaf.hash == tree.levels[0][0][0])
    assert proof_json(tree=tree, index=0, leaf=first, sequence=1)["leafHash"] == "0x" + first.hash.hex()
    with pytest.raises(ValueError, match=r"^leaf is not at that index$"):
        proof_json(tree=tree, index=1, leaf=first, sequence=1)


def test_the_builder_refuses_what_it_must_not_commit_to_with_a_code_and_message() -> None:
    salt = _salt(0)
    cases = [
        (lambda: make_leaf(account="a", salt=salt, asset="wei", amount=-1),
         "negative_amount", "account balance -1 is negative"),
        (lambda: leaf_hash(b"\x00" * 32, "wei", True), "amount_out_of_range", "True is not a uint256"),
        (lambda: leaf_hash(b"\x00" * 32, "wei", UINT256_MAX + 1), "amount_out_of_range",
         f"{UINT256_MAX + 1} is not a uint256"),
        (lambda: leaf_hash(b"\x00" * 32, "btc", 1), "unknown_asset", "unknown asset 'btc'"),
        (lambda: account_hash("a", b"\x00" * 31), "bad_salt", "a salt is 32 bytes"),
        (lambda: build_tree("wei", [make_leaf(account="a", salt=salt, asset="token", amount=1)]),
         "unknown_asset", "a token leaf in the wei tree"),
        (lambda: tree_from_nodes("wei", [(b"\x00" * 32, 1), (b"\x01" * 32, -1)]),
         "negative_amount", "a leaf amount is negative"),
        (lambda: tree_from_nodes("wei", [(b"\x00" * 32, UINT256_MAX), (b"\x01" * 32, 1)]),
         "sum_overflow", "the liabilities do not fit in a uint256"),
    ]
    for build, code, message in cases:
        with pytest.raises(ProofInvalid) as err:
            build()
        assert (err.value.code, str(err.value)) == (code, message)
    # the largest total that fits is committed to
    full = tree_from_nodes("wei", [(b"\x00" * 32, UINT256_MAX - 1), (b"\x01" * 32, 1)])
    assert full.total == UINT256_MAX
    with pytest.raises(IndexError, match=r"^2$"):
        inclusion_path(full, 2)
