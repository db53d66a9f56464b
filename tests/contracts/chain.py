"""Test helpers for the ChannelManager: a fresh anvil with the contracts deployed from the
committed artifacts, channel and thread states hashed and signed the way the Connext client does,
and a port of the client's Merkle tree. Independent of hub/ on purpose, so that these tests pin the
contract to the wire format rather than to our own Python implementation of it."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_abi.packed import encode_packed
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError
from web3.logs import DISCARD
from web3.types import TxReceipt

from hub.chain import deploy
from stack.embedded import Anvil

ZERO32 = b"\x00" * 32
ZERO_ADDRESS = "0x" + "00" * 20
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
CHALLENGE_PERIOD = 1000
RESERVE_WEI = 100 * 10**18
RESERVE_TOKENS = 100_000 * 10**18
ACCOUNT_ETH = 1_000 * 10**18


def account(label: str) -> LocalAccount:
    """A deterministic test account (never a real key)."""
    return Account.from_key(keccak(text=f"spoke-contract-tests:{label}"))


# --- hashing and signing, as the Connext client does it ------------------------------------


def _word(address: str) -> int:
    # abi.encodePacked pads each element of an address[2] to 32 bytes; eth_abi's encode_packed
    # does not, so the pair is encoded as uint256 words.
    return int(address, 16)


@dataclass
class State:
    """A channel state in the contract's argument order."""

    user: str
    recipient: str = ""
    wei: tuple[int, int] = (0, 0)  # [hub, user]
    token: tuple[int, int] = (0, 0)  # [hub, user]
    pending_wei: tuple[int, int, int, int] = (0, 0, 0, 0)  # [hubDep, hubWd, userDep, userWd]
    pending_token: tuple[int, int, int, int] = (0, 0, 0, 0)
    tx_count: tuple[int, int] = (1, 0)  # [global, chain]
    thread_root: bytes = ZERO32
    thread_count: int = 0
    timeout: int = 0

    def __post_init__(self) -> None:
        if not self.recipient:
            self.recipient = self.user

    def replace(self, **changes: Any) -> State:
        return dataclasses.replace(self, **changes)

    def hash(self, contract_address: str) -> bytes:
        return keccak(
            encode_packed(
                ["address", "uint256[2]", "uint256[2]", "uint256[2]", "uint256[4]", "uint256[4]",
                 "uint256[2]", "bytes32", "uint256", "uint256"],
                [contract_address, [_word(self.user), _word(self.recipient)], list(self.wei),
                 list(self.token), list(self.pending_wei), list(self.pending_token),
                 list(self.tx_count), self.thread_root, self.thread_count, self.timeout],
            )
        )

    def body(self) -> list[Any]:
        """weiBalances .. timeout, the arguments every state-taking function shares."""
        return [list(self.wei), list(self.token), list(self.pending_wei), list(self.pending_token),
                list(self.tx_count), self.thread_root, self.thread_count, self.timeout]


@dataclass
class ThreadState:
    sender: str
    receiver: str
    thread_id: int
    wei: tuple[int, int]  # [sender, receiver]
    token: tuple[int, int] = (0, 0)
    tx_count: int = 0

    def hash(self, contract_address: str) -> bytes:
        return keccak(
            encode_packed(
                ["address", "address", "address", "uint256", "uint256[2]", "uint256[2]", "uint256"],
                [contract_address, self.sender, self.receiver, self.thread_id, list(self.wei),
                 list(self.token), self.tx_count],
            )
        )


def sign(signer: LocalAccount, digest: bytes) -> str:
    """A personal-message signature over a 32-byte hash, as the client's signMessage gives it."""
    return signer.sign_message(encode_defunct(primitive=digest)).signature.to_0x_hex()


def malleate(sig: str) -> str:
    """The other valid signature for the same key and hash: s -> n - s, v flipped (high s)."""
    raw = bytes.fromhex(sig[2:])
    r, s, v = raw[:32], int.from_bytes(raw[32:64], "big"), raw[64]
    return "0x" + (r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])).hex()


# --- the client's Merkle tree (connext/dist/lib/merkleTree.js) -----------------------------


def _pair(a: bytes, b: bytes | None) -> bytes:
    if b is None:
        return a
    return keccak(min(a, b) + max(a, b))


def _layers(leaves: Sequence[bytes]) -> list[list[bytes]]:
    elements = sorted(set(leaves))
    if len(elements) % 2:
        elements.append(ZERO32)
    if not elements:
        return [[ZERO32]]
    layers = [elements]
    while len(layers[-1]) > 1:
        top = layers[-1]
        layers.append([_pair(top[i], top[i + 1] if i + 1 < len(top) else None)
                       for i in range(0, len(top), 2)])
    return layers


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    return _layers(leaves)[-1][0]


def merkle_proof(leaf: bytes, leaves: Sequence[bytes]) -> bytes:
    layers = _layers(leaves)
    index = layers[0].index(leaf)
    parts = [leaf]
    for layer in layers:
        sibling = index - 1 if index % 2 else index + 1
        if sibling < len(layer):
            parts.append(layer[sibling])
        index //= 2
    return b"".join(parts)


# --- the chain -----------------------------------------------------------------------------


@dataclass
class Chain:
    """One anvil with a token and a ChannelManager; snapshot/revert isolates tests."""

    node: Anvil
    w3: Web3
    hub: LocalAccount
    token: Contract
    cm: Contract
    snapshot_id: str = ""
    actors: dict[str, LocalAccount] = field(default_factory=dict)

    @classmethod
    def start(cls, challenge_period: int = CHALLENGE_PERIOD) -> Chain:
        node = Anvil().start()
        w3 = Web3(Web3.HTTPProvider(node.rpc_url, request_kwargs={"timeout": 30}))
        hub = account("hub")
        chain = cls(node=node, w3=w3, hub=hub, token=None, cm=None)  # type: ignore[arg-type]
        chain.set_balance(hub.address, ACCOUNT_ETH)
        dep = deploy.deploy_all(w3, hub, challenge_period=challenge_period)
        chain.token = deploy.contract_at(w3, deploy.TEST_ERC20, dep.token)
        chain.cm = deploy.contract_at(w3, deploy.CHANNEL_MANAGER, dep.channel_manager)
        deploy.fund_hub_reserves(w3, hub, channel_manager=dep.channel_manager, token=dep.token,
                                 wei=RESERVE_WEI, tokens=RESERVE_TOKENS)
        for name in ("alice", "bob", "carol", "eve"):
            chain.actor(name)
        return chain

    def stop(self) -> None:
        self.node.stop()

    # -- node control
    def rpc(self, method: str, params: list[Any]) -> Any:
        response = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
        if "error" in response:
            raise RuntimeError(f"{method}: {response['error']}")
        return response["result"]

    def set_balance(self, address: str, wei: int) -> None:
        self.rpc("anvil_setBalance", [address, hex(wei)])

    def snapshot(self) -> None:
        self.snapshot_id = self.rpc("evm_snapshot", [])

    def revert(self) -> None:
        assert self.rpc("evm_revert", [self.snapshot_id]) is True

    def advance(self, seconds: int) -> None:
        self.rpc("evm_increaseTime", [seconds])
        self.rpc("evm_mine", [])

    def now(self) -> int:
        return self.w3.eth.get_block("latest")["timestamp"]

    # -- accounts
    def actor(self, name: str) -> LocalAccount:
        if name not in self.actors:
            acct = account(name)
            self.set_balance(acct.address, ACCOUNT_ETH)
            self.actors[name] = acct
        return self.actors[name]

    def eth(self, address: str) -> int:
        return self.w3.eth.get_balance(Web3.to_checksum_address(address))

    def tokens(self, address: str, token: Contract | None = None) -> int:
        return (token or self.token).functions.balanceOf(Web3.to_checksum_address(address)).call()

    def give_tokens(self, to: LocalAccount, amount: int, approve: bool = True) -> None:
        self.transact(self.token.functions.mint(to.address, amount), self.hub)
        if approve:
            self.transact(self.token.functions.approve(self.cm.address, 2**256 - 1), to)

    # -- transactions
    def transact(self, fn: Any, sender: LocalAccount, value: int = 0) -> TxReceipt:
        """Send a contract call as `sender`; gas estimation raises ContractLogicError on revert."""
        tx = fn.build_transaction({
            "from": sender.address, "value": value,
            "nonce": self.w3.eth.get_transaction_count(sender.address, "pending"),
        })
        signed = sender.sign_transaction(tx)
        receipt = self.w3.eth.wait_for_transaction_receipt(
            self.w3.eth.send_raw_transaction(signed.raw_transaction), timeout=30
        )
        assert receipt["status"] == 1, receipt
        return receipt

    def revert_reason(self, fn: Any, sender: LocalAccount | str, value: int = 0) -> str:
        """The revert message of `fn` called by `sender` (fails the test if it succeeds)."""
        address = sender if isinstance(sender, str) else sender.address
        try:
            fn.call({"from": address, "value": value})
        except ContractLogicError as err:
            return str(err.message or err)
        raise AssertionError("call succeeded but a revert was expected")

    def events(self, receipt: TxReceipt, name: str, contract: Contract | None = None) -> list[Any]:
        event = getattr((contract or self.cm).events, name)()
        return [e["args"] for e in event.process_receipt(receipt, errors=DISCARD)]

    # -- ChannelManager views
    def balances(self, user: str) -> tuple[int, ...]:
        return tuple(self.cm.functions.getChannelBalances(user).call())

    def details(self, user: str) -> tuple[Any, ...]:
        return tuple(self.cm.functions.getChannelDetails(user).call())

    def reserves(self) -> tuple[int, int]:
        return (self.cm.functions.getHubReserveWei().call(),
                self.cm.functions.getHubReserveTokens().call())

    def assert_solvent(self) -> None:
        """Contract balances == channel totals + deferred payouts + hub reserves, exactly."""
        f = self.cm.functions
        wei_total = f.totalChannelWei().call() + f.totalDeferredWei().call()
        token_total = f.totalChannelToken().call() + f.totalDeferredToken().call()
        reserve_wei, reserve_tokens = self.reserves()
        assert self.eth(self.cm.address) == wei_total + reserve_wei
        assert self.tokens(self.cm.address) == token_total + reserve_tokens

    # -- signed calls
    def hub_update(self, state: State, signer: LocalAccount | None = None, sig: str | None = None) -> Any:
        """hubAuthorizedUpdate(state) with the user's signature (sent by the caller's choice)."""
        sig = sig if sig is not None else sign(signer or self._key_of(state.user), state.hash(self.cm.address))
        return self.cm.functions.hubAuthorizedUpdate(state.user, state.recipient, *state.body(), sig)

    def user_update(self, state: State, sig: str | None = None) -> Any:
        sig = sig if sig is not None else sign(self.hub, state.hash(self.cm.address))
        return self.cm.functions.userAuthorizedUpdate(state.recipient, *state.body(), sig)

    def double_signed(self, name: str, state: State, sig_hub: str | None = None,
                      sig_user: str | None = None) -> Any:
        digest = state.hash(self.cm.address)
        sig_hub = sig_hub if sig_hub is not None else sign(self.hub, digest)
        sig_user = sig_user if sig_user is not None else sign(self._key_of(state.user), digest)
        fn = getattr(self.cm.functions, name)
        return fn([state.user, state.recipient], *state.body(), sig_hub, sig_user)

    def _key_of(self, address: str) -> LocalAccount:
        for acct in self.actors.values():
            if acct.address.lower() == address.lower():
                return acct
        raise KeyError(f"no key for {address}")

    # -- common setups
    def open_channel(self, user: LocalAccount, *, user_wei: int = 0, user_token: int = 0,
                     hub_wei: int = 0, hub_token: int = 0) -> State:
        """A hub-authorized deposit from reserves into user's channel; returns the confirmed
        state (balances folded in, no pending), as the hub's ConfirmPending would be."""
        g, c = self.details(user.address)[:2]
        bal = self.balances(user.address)
        wei_before, token_before = (bal[0], bal[1]), (bal[3], bal[4])
        pending = State(
            user=user.address, tx_count=(g + 1, c + 1), wei=wei_before, token=token_before,
            pending_wei=(hub_wei, 0, user_wei, 0), pending_token=(hub_token, 0, user_token, 0),
        )
        self.transact(self.hub_update(pending), self.hub)
        return State(
            user=user.address, tx_count=(g + 2, c + 1),
            wei=(wei_before[0] + hub_wei, wei_before[1] + user_wei),
            token=(token_before[0] + hub_token, token_before[1] + user_token),
        )
