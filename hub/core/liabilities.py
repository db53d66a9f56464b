"""Proof of liabilities: a Merkle sum tree over what the hub owes, per asset (pure).

Each leaf is one account's balance of one asset: `keccak(0x00 ‖ accountHash ‖ asset ‖ amount)`,
where `accountHash = keccak("spoke-liability-account" ‖ salt ‖ account)` and the salt is fresh
for every (root, account): a leaf and a proof path reveal no identity, and the same account's
leaves in two roots cannot be linked. Leaves are ordered by their hash, so a proof's neighbours are
a random sample of accounts, not the ones created next to it.

Every inner node carries the sum of its subtree, and its hash commits to both children's hashes
*and both children's sums* (`keccak(0x01 ‖ leftHash ‖ leftSum ‖ rightHash ‖ rightSum)`). That is
the fixed design of the Merkle sum tree: with only the parent's total in the hash, a prover can
split a sum between siblings differently in two proofs and show each user a path that omits part
of the liabilities. Verification refuses negative values and any sum outside uint256, so no
negative leaf or overflowing node can cancel a liability.

The signed commitment binds the roots of every asset tree with their totals and leaf counts, the
root's sequence number and time, and the hub's address. No Django, no I/O, no clock, no randomness
(salts are inputs)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from hub.core.keccak import keccak  # bytes only here: no argument checks

UINT256_MAX = 2**256 - 1
ASSETS = ("wei", "token")
LEAF_TAG = b"\x00"
NODE_TAG = b"\x01"
ACCOUNT_DOMAIN = b"spoke-liability-account"
COMMITMENT_DOMAIN = b"spoke-liabilities-v1"
EMPTY_ROOT = keccak(b"spoke-liabilities-empty")
_HEX32 = re.compile(r"^0x[0-9a-fA-F]{64}$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


class ProofInvalid(ValueError):
    """A proof or root does not verify. `code` is stable; the message says what failed."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _word(value: int) -> bytes:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= UINT256_MAX:
        raise ProofInvalid("amount_out_of_range", f"{value!r} is not a uint256")
    return value.to_bytes(32, "big")


def _asset_tag(asset: str) -> bytes:
    if asset not in ASSETS:
        raise ProofInvalid("unknown_asset", f"unknown asset {asset!r}")
    return asset.encode().ljust(8, b"\x00")


_ASSET_TAGS = {asset: _asset_tag(asset) for asset in ASSETS}


def account_hash(account: str, salt: bytes) -> bytes:
    if len(salt) != 32:
        raise ProofInvalid("bad_salt", "a salt is 32 bytes")
    return keccak(ACCOUNT_DOMAIN + salt + account.encode())


def leaf_hash(acct_hash: bytes, asset: str, amount: int) -> bytes:
    return keccak(LEAF_TAG + acct_hash + _asset_tag(asset) + _word(amount))


def node_hash(left: bytes, left_sum: int, right: bytes, right_sum: int) -> bytes:
    return keccak(NODE_TAG + left + _word(left_sum) + right + _word(right_sum))


@dataclass(frozen=True, slots=True)
class Leaf:
    account: str
    salt: bytes
    asset: str
    amount: int
    hash: bytes


def make_leaf(*, account: str, salt: bytes, asset: str, amount: int) -> Leaf:
    """One leaf; raises ProofInvalid for a negative or oversized amount (the builder must not
    commit to a negative liability: it would hide another one)."""
    if amount < 0:
        raise ProofInvalid("negative_amount", f"account balance {amount} is negative")
    return Leaf(account, salt, asset, amount, leaf_hash(account_hash(account, salt), asset, amount))


@dataclass(frozen=True, slots=True)
class Tree:
    """levels[0] are the leaves (hash, sum) in order; levels[-1] is [(root, total)]. A level of odd
    length carries its last node up unchanged."""

    asset: str
    levels: tuple[tuple[tuple[bytes, int], ...], ...]

    @property
    def root(self) -> bytes:
        return self.levels[-1][0][0] if self.levels[0] else EMPTY_ROOT

    @property
    def total(self) -> int:
        return self.levels[-1][0][1] if self.levels[0] else 0

    @property
    def size(self) -> int:
        return len(self.levels[0])


def build_tree(asset: str, leaves: Iterable[Leaf]) -> Tree:
    """The sum tree of one asset's leaves, ordered by leaf hash. Raises ProofInvalid when a leaf
    is of another asset or the total would not fit in a uint256."""
    _asset_tag(asset)
    ordered = sorted(leaves, key=lambda leaf: leaf.hash)
    for leaf in ordered:
        if leaf.asset != asset:
            raise ProofInvalid("unknown_asset", f"a {leaf.asset} leaf in the {asset} tree")
    return tree_from_nodes(asset, [(leaf.hash, leaf.amount) for leaf in ordered])


def tree_from_nodes(asset: str, nodes: Sequence[tuple[bytes, int]]) -> Tree:
    """The tree over (leaf hash, amount) pairs already in their published order (rebuilding a
    stored root's tree to cut proofs from it)."""
    level: list[tuple[bytes, int]] = list(nodes)
    for _h, amount in level:
        if amount < 0:
            raise ProofInvalid("negative_amount", "a leaf amount is negative")
    levels = [tuple(level)]
    tag = NODE_TAG
    while len(level) > 1:
        up: list[tuple[bytes, int]] = []
        for i in range(0, len(level) - 1, 2):
            (lh, ls), (rh, rs) = level[i], level[i + 1]
            total = ls + rs
            if total > UINT256_MAX:
                raise ProofInvalid("sum_overflow", "the liabilities do not fit in a uint256")
            up.append((keccak(tag + lh + ls.to_bytes(32, "big") + rh + rs.to_bytes(32, "big")),
                       total))
        if len(level) % 2:
            up.append(level[-1])
        level = up
        levels.append(tuple(level))
    return Tree(asset, tuple(levels))


@dataclass(frozen=True, slots=True)
class Step:
    """A sibling on the way up: its hash and sum, and whether it sits left of the path."""

    hash: bytes
    sum: int
    left: bool


def inclusion_path(tree: Tree, index: int) -> list[Step]:
    if not 0 <= index < tree.size:
        raise IndexError(index)
    path: list[Step] = []
    for level in tree.levels[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            h, s = level[sibling]
            path.append(Step(h, s, left=sibling < index))
        index //= 2
    return path


def path_root(leaf: bytes, amount: int, path: Sequence[Step]) -> tuple[bytes, int]:
    """Walk a path up to the (root, total) it implies. Every value must be a uint256 and no sum
    may overflow; a negative sibling sum is refused, never subtracted."""
    _word(amount)
    current, total = leaf, amount
    for step in path:
        if len(step.hash) != 32:
            raise ProofInvalid("bad_path", "a path hash is 32 bytes")
        _word(step.sum)
        if step.left:
            current = node_hash(step.hash, step.sum, current, total)
        else:
            current = node_hash(current, total, step.hash, step.sum)
        total += step.sum
        if total > UINT256_MAX:
            raise ProofInvalid("sum_overflow", "a node sum overflows uint256")
    return current, total


@dataclass(frozen=True, slots=True)
class AssetRoot:
    root: bytes
    total: int
    leaves: int


def commitment(*, sequence: int, issued_at: int, hub: str,
               roots: Mapping[str, AssetRoot]) -> bytes:
    """The 32 bytes the hub signs (EIP-191 personal message): every asset's root, total and leaf
    count, the root's sequence number and unix time, and the hub address."""
    if not _ADDRESS.match(hub):
        raise ProofInvalid("bad_root", "the hub address is not 20 bytes of hex")
    if set(roots) != set(ASSETS):
        raise ProofInvalid("bad_root", f"a root commits to exactly the assets {ASSETS}")
    parts = [COMMITMENT_DOMAIN, bytes.fromhex(hub[2:]), _word(sequence), _word(issued_at)]
    for asset in ASSETS:
        r = roots[asset]
        if len(r.root) != 32:
            raise ProofInvalid("bad_root", "a root hash is 32 bytes")
        parts += [_ASSET_TAGS[asset], r.root, _word(r.total), _word(r.leaves)]
    return keccak(b"".join(parts))


# --- the JSON forms (what the hub publishes and the SDK checks) ------------------------------


def _hex(raw: bytes) -> str:
    return "0x" + raw.hex()


def _bytes32(value: object, what: str) -> bytes:
    if not isinstance(value, str) or not _HEX32.match(value):
        raise ProofInvalid("malformed", f"{what} is not 32 bytes of 0x-hex")
    return bytes.fromhex(value[2:])


def _uint(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ProofInvalid("malformed", f"{what} is not a decimal string")
    text = str(value)
    if not text.isdigit() or len(text) > 78:
        raise ProofInvalid("amount_out_of_range" if text.startswith("-") else "malformed",
                           f"{what} is not a non-negative decimal integer")
    number = int(text)
    _word(number)
    return number


def proof_json(*, tree: Tree, index: int, leaf: Leaf, sequence: int) -> dict[str, object]:
    if tree.levels[0][index][0] != leaf.hash:
        raise ValueError("leaf is not at that index")
    return {
        "sequence": sequence, "asset": tree.asset, "account": leaf.account,
        "salt": _hex(leaf.salt), "amount": str(leaf.amount), "leafHash": _hex(leaf.hash),
        "path": [{"hash": _hex(s.hash), "sum": str(s.sum), "side": "left" if s.left else "right"}
                 for s in inclusion_path(tree, index)],
    }


def parse_roots(root: Mapping[str, object]) -> dict[str, AssetRoot]:
    assets = root.get("assets")
    if not isinstance(assets, Mapping):
        raise ProofInvalid("malformed", "root.assets is missing")
    out = {}
    for asset in ASSETS:
        entry = assets.get(asset)
        if not isinstance(entry, Mapping):
            raise ProofInvalid("malformed", f"root.assets.{asset} is missing")
        out[asset] = AssetRoot(_bytes32(entry.get("root"), f"{asset} root"),
                               _uint(entry.get("total"), f"{asset} total"),
                               _uint(entry.get("leaves"), f"{asset} leaves"))
    return out


def root_commitment(root: Mapping[str, object]) -> bytes:
    """Recompute a published root's commitment from its fields (not from its `commitment`)."""
    hub = root.get("hub")
    if not isinstance(hub, str):
        raise ProofInvalid("malformed", "root.hub is missing")
    return commitment(sequence=_uint(root.get("sequence"), "sequence"),
                      issued_at=_uint(root.get("issuedAt"), "issuedAt"),
                      hub=hub, roots=parse_roots(root))


def verify_proof(proof: Mapping[str, object], root: Mapping[str, object]) -> int:
    """Check one inclusion proof against a published root's fields (the signature is checked by
    the caller, over `root_commitment(root)`). Returns the proven amount; raises ProofInvalid."""
    roots = parse_roots(root)
    if _uint(proof.get("sequence"), "proof sequence") != _uint(root.get("sequence"), "sequence"):
        raise ProofInvalid("wrong_root", "the proof is for another root")
    asset = proof.get("asset")
    if asset not in ASSETS:
        raise ProofInvalid("unknown_asset", f"unknown asset {asset!r}")
    account = proof.get("account")
    if not isinstance(account, str):
        raise ProofInvalid("malformed", "proof.account is missing")
    amount = _uint(proof.get("amount"), "amount")
    salt = _bytes32(proof.get("salt"), "salt")
    leaf = leaf_hash(account_hash(account, salt), str(asset), amount)
    if "leafHash" in proof and _bytes32(proof["leafHash"], "leafHash") != leaf:
        raise ProofInvalid("leaf_mismatch", "the leaf hash does not match account, salt, amount")
    raw_path = proof.get("path")
    if not isinstance(raw_path, list) or len(raw_path) > 256:
        raise ProofInvalid("malformed", "proof.path is not a list")
    path = []
    for i, step in enumerate(raw_path):
        if not isinstance(step, Mapping) or step.get("side") not in ("left", "right"):
            raise ProofInvalid("malformed", f"path[{i}] is not a step")
        path.append(Step(_bytes32(step.get("hash"), f"path[{i}].hash"),
                         _uint(step.get("sum"), f"path[{i}].sum"), step.get("side") == "left"))
    got_root, got_total = path_root(leaf, amount, path)
    want = roots[str(asset)]
    if got_root != want.root:
        raise ProofInvalid("root_mismatch", "the path does not lead to the published root")
    if got_total != want.total:
        raise ProofInvalid("total_mismatch", "the path's sums do not add up to the published total")
    if len(path) > max(want.leaves - 1, 0).bit_length():
        raise ProofInvalid("bad_path", "the path is longer than the tree is deep")
    return amount


def verify_root(root: Mapping[str, object], hub_address: str) -> bytes:
    """Check that `root` is signed by `hub_address` (EIP-191 over the recomputed commitment) and
    names that hub. Returns the commitment; raises ProofInvalid."""
    from hub.core.errors import UpdateRejected
    from hub.core.signing import recover

    if not isinstance(hub_address, str) or not _ADDRESS.match(hub_address):
        raise ProofInvalid("bad_root", "the expected hub address is not 20 bytes of hex")
    if str(root.get("hub", "")).lower() != hub_address.lower():
        raise ProofInvalid("wrong_hub", "the root names another hub")
    digest = root_commitment(root)
    if "commitment" in root and _bytes32(root["commitment"], "commitment") != digest:
        raise ProofInvalid("commitment_mismatch", "the root's commitment does not match its fields")
    try:
        signer = recover(_hex(digest), root.get("signature"))  # type: ignore[arg-type]
    except UpdateRejected as exc:
        raise ProofInvalid("bad_signature", str(exc)) from None
    if signer != hub_address.lower():
        raise ProofInvalid("bad_signature", "the root is not signed by the hub")
    return digest


def verify_liability_proof(proof: Mapping[str, object], root: Mapping[str, object],
                           hub_address: str) -> int:
    """Offline check of one inclusion proof: the root is the hub's (signature) and the leaf for
    (account, salt, asset, amount) is in that asset's tree with sums adding up to the published
    total. Returns the proven amount; raises ProofInvalid with a stable code."""
    verify_root(root, hub_address)
    return verify_proof(proof, root)
