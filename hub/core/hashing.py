"""Hashes exactly as the ChannelManager contract and the Connext client compute them.

Solidity's abi.encodePacked pads each element of a fixed array to 32 bytes, addresses included,
while a lone address stays 20 bytes. eth_abi's `encode_packed` does not pad addresses inside
arrays, so address pairs are encoded as uint256 (the same 32 left-padded bytes).
"""

from __future__ import annotations

from collections.abc import Sequence

from eth_abi.packed import encode_packed

from hub.core.keccak import keccak  # bytes only here: no argument checks
from hub.core.state import ZERO_ROOT, ChannelState, ThreadState


def _hex(digest: bytes) -> str:
    return "0x" + digest.hex()


def _addr_word(address: str) -> int:
    return int(address, 16)


def channel_state_hash(state: ChannelState) -> str:
    """keccak256(abi.encodePacked(contract, [user, recipient], [weiHub, weiUser], [tokenHub,
    tokenUser], pendingWei[4], pendingToken[4], [txCountGlobal, txCountChain], threadRoot,
    threadCount, timeout)). Every element after the leading address is one 32-byte word
    (array elements are padded in packed encoding, addresses included), so the packing is built
    directly: this hash is on the hub's hot path and eth_abi's encoder costs ten times more."""
    words = (
        _addr_word(state.user), _addr_word(state.recipient),
        state.balance_wei_hub, state.balance_wei_user,
        state.balance_token_hub, state.balance_token_user,
        state.pending_deposit_wei_hub, state.pending_withdrawal_wei_hub,
        state.pending_deposit_wei_user, state.pending_withdrawal_wei_user,
        state.pending_deposit_token_hub, state.pending_withdrawal_token_hub,
        state.pending_deposit_token_user, state.pending_withdrawal_token_user,
        state.tx_count_global, state.tx_count_chain,
        int(state.thread_root, 16), state.thread_count, state.timeout,
    )
    try:
        packed = bytes.fromhex(state.contract_address[2:]) + b"".join(
            w.to_bytes(32, "big") for w in words)
    except OverflowError:
        raise ValueError("a state field is outside the uint256 range") from None
    if len(packed) != 20 + 32 * len(words):
        raise ValueError("the contract address is not 20 bytes")
    return _hex(keccak(packed))


def thread_state_hash(thread: ThreadState) -> str:
    packed = encode_packed(
        ["address", "address", "address", "uint256", "uint256[2]", "uint256[2]", "uint256"],
        [
            thread.contract_address,
            thread.sender,
            thread.receiver,
            thread.thread_id,
            [thread.balance_wei_sender, thread.balance_wei_receiver],
            [thread.balance_token_sender, thread.balance_token_receiver],
            thread.tx_count,
        ],
    )
    return _hex(keccak(packed))


def deposit_request_hash(amount_token: int, amount_wei: int) -> str:
    """The user's deposit authorisation. It binds nothing else (not user, contract, nonce), so the
    caller must accept each signature over it at most once."""
    return _hex(keccak(encode_packed(["uint256", "uint256"], [amount_token, amount_wei])))


# --- Merkle tree of thread states, a port of connext/dist/lib/merkleTree.js -----------------


def _combined(first: str | None, second: str | None) -> str | None:
    # The client hashes each pair in sorted (lexicographic hex = numeric) order, so proofs need
    # no left/right flags; a missing sibling passes the node up unchanged.
    if second is None:
        return first
    if first is None:
        return second
    low, high = sorted((first, second))
    return _hex(keccak(bytes.fromhex(low[2:]) + bytes.fromhex(high[2:])))


def _layers(leaves: Sequence[str]) -> list[list[str]]:
    # Leaves are deduplicated and sorted, then padded with the zero hash to an even count.
    elements = sorted({leaf.lower() for leaf in leaves})
    if len(elements) % 2:
        elements.append(ZERO_ROOT)
    if not elements:
        return [[ZERO_ROOT]]
    layers = [elements]
    while len(layers[-1]) > 1:
        top = layers[-1]
        nxt: list[str] = []
        for i in range(0, len(top), 2):
            node = _combined(top[i], top[i + 1] if i + 1 < len(top) else None)
            assert node is not None
            nxt.append(node)
        layers.append(nxt)
    return layers


def merkle_root_of_hashes(leaves: Sequence[str]) -> str:
    return _layers(leaves)[-1][0]


def thread_root(initial_threads: Sequence[ThreadState]) -> str:
    """`threadRoot` over the channel's open initial thread states; the zero hash iff none."""
    return merkle_root_of_hashes([thread_state_hash(t) for t in initial_threads])


def merkle_proof(leaf: str, leaves: Sequence[str]) -> str:
    """Concatenated proof (leaf first, then siblings) as the client's `MerkleTree.proof`."""
    layers = _layers(leaves)
    leaf = leaf.lower()
    if leaf not in layers[0]:
        raise ValueError("element not found in merkle tree")
    index = layers[0].index(leaf)
    parts = [leaf]
    for layer in layers:
        pair = index - 1 if index % 2 else index + 1
        if pair < len(layer):
            parts.append(layer[pair])
        index //= 2
    return "0x" + "".join(p[2:] for p in parts)


def verify_merkle_proof(proof: str, root: str) -> bool:
    body = proof[2:] if proof.startswith("0x") else proof
    if not body or len(body) % 64:
        return False
    chunks = ["0x" + body[i : i + 64].lower() for i in range(0, len(body), 64)]
    node: str | None = chunks[0]
    for sibling in chunks[1:]:
        node = _combined(node, sibling)
    return node == root.lower()


def thread_proof(thread: ThreadState, initial_threads: Sequence[ThreadState]) -> str:
    return merkle_proof(thread_state_hash(thread), [thread_state_hash(t) for t in initial_threads])
