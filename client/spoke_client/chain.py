"""The user's own access to the ChannelManager contract (web3 8): deposits it pays for, and the
dispute calls that let a user leave with the latest double-signed state when the hub is gone."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError, TransactionNotFound
from web3.logs import DISCARD
from web3.providers.rpc import HTTPProvider

from hub.core import ChannelState, DidEmptyChannel, DidUpdateChannel

from .errors import ChainError, NoExitableState

# The installed package carries the ABI (client/hatch_build.py); a checkout reads the build artifact.
_BUNDLED_ABI = Path(__file__).with_name("ChannelManager.abi.json")
_REPO_ARTIFACT = Path(__file__).resolve().parents[2] / "contracts" / "build" / "ChannelManager.json"
UINT256_MAX = 2**256 - 1

# Minimal ERC20 ABI: the SDK only needs allowance/approve/balanceOf.
ERC20_ABI: list[dict[str, Any]] = [
    {"type": "function", "name": "allowance", "stateMutability": "view",
     "inputs": [{"name": "owner", "type": "address"}, {"name": "spender", "type": "address"}],
     "outputs": [{"name": "", "type": "uint256"}]},
    {"type": "function", "name": "approve", "stateMutability": "nonpayable",
     "inputs": [{"name": "spender", "type": "address"}, {"name": "amount", "type": "uint256"}],
     "outputs": [{"name": "", "type": "bool"}]},
    {"type": "function", "name": "balanceOf", "stateMutability": "view",
     "inputs": [{"name": "owner", "type": "address"}],
     "outputs": [{"name": "", "type": "uint256"}]},
]

CHANNEL_STATUS = ("Open", "ChannelDispute", "ThreadDispute")


def load_channel_manager_abi(path: str | Path | None = None) -> list[dict[str, Any]]:
    """The ChannelManager ABI: from a build artifact at `path` (`{"abi": [...]}`), else the one
    bundled with the installed package, else the repository's committed build artifact."""
    if path is None and _BUNDLED_ABI.is_file():
        return cast(list[dict[str, Any]], json.loads(_BUNDLED_ABI.read_text()))
    artifact = Path(path) if path is not None else _REPO_ARTIFACT
    return cast(list[dict[str, Any]], json.loads(artifact.read_text())["abi"])


# ---- argument shapes ---------------------------------------------------------------------

def _pending_wei(s: ChannelState) -> list[int]:
    return [s.pending_deposit_wei_hub, s.pending_withdrawal_wei_hub,
            s.pending_deposit_wei_user, s.pending_withdrawal_wei_user]


def _pending_token(s: ChannelState) -> list[int]:
    return [s.pending_deposit_token_hub, s.pending_withdrawal_token_hub,
            s.pending_deposit_token_user, s.pending_withdrawal_token_user]


def exit_args(state: ChannelState) -> dict[str, Any]:
    """The named arguments of `startExitWithUpdate` / `emptyChannelWithChallenge`, in ABI order.

    Addresses are EIP-55 checksummed, amounts are ints, signatures 0x-hex strings (the contract
    takes them as `string`). Raises NoExitableState unless the state is double-signed with
    `timeout == 0` (the contract refuses anything else)."""
    if not state.is_double_signed:
        raise NoExitableState(f"state {state.tx_count_global} is not double-signed")
    if state.timeout != 0:
        raise NoExitableState(f"state {state.tx_count_global} has a timeout; the contract refuses it")
    return {
        "user": [Web3.to_checksum_address(state.user), Web3.to_checksum_address(state.recipient)],
        "weiBalances": [state.balance_wei_hub, state.balance_wei_user],
        "tokenBalances": [state.balance_token_hub, state.balance_token_user],
        "pendingWeiUpdates": _pending_wei(state),
        "pendingTokenUpdates": _pending_token(state),
        "txCount": [state.tx_count_global, state.tx_count_chain],
        "threadRoot": state.thread_root,
        "threadCount": state.thread_count,
        "timeout": state.timeout,
        "sigHub": state.sig_hub,
        "sigUser": state.sig_user,
    }


def exit_args_list(state: ChannelState) -> list[Any]:
    """`exit_args` as the positional list a contract call takes."""
    return list(exit_args(state).values())


def user_authorized_update_args(state: ChannelState) -> list[Any]:
    """Positional arguments of `userAuthorizedUpdate` (hub-signed state; msg.value is the pending
    user wei deposit)."""
    if state.sig_hub is None:
        raise ChainError("userAuthorizedUpdate needs the hub's signature")
    return [
        Web3.to_checksum_address(state.recipient),
        [state.balance_wei_hub, state.balance_wei_user],
        [state.balance_token_hub, state.balance_token_user],
        _pending_wei(state),
        _pending_token(state),
        [state.tx_count_global, state.tx_count_chain],
        state.thread_root,
        state.thread_count,
        state.timeout,
        state.sig_hub,
    ]


@dataclass(frozen=True, slots=True)
class ChannelDetails:
    """`getChannelDetails(user)`."""

    tx_count_global: int
    tx_count_chain: int
    thread_root: str
    thread_count: int
    exit_initiator: str
    closing_time: int
    status: str


class ChannelManagerClient:
    """Calls the ChannelManager (and its token) as one user.

    account: the user's eth-account signer (`UserKey.account`); read-only use works without it.
    """

    def __init__(
        self,
        w3: Web3,
        contract_address: str,
        *,
        account: LocalAccount | None = None,
        token_address: str | None = None,
        abi: Sequence[dict[str, Any]] | None = None,
        receipt_timeout: float = 120.0,
    ) -> None:
        self.w3 = w3
        self.address = Web3.to_checksum_address(contract_address)
        self.account = account
        self.contract: Contract = w3.eth.contract(
            address=self.address, abi=list(abi or load_channel_manager_abi())
        )
        self.token: Contract | None = (
            w3.eth.contract(address=Web3.to_checksum_address(token_address), abi=ERC20_ABI)
            if token_address else None
        )
        self.receipt_timeout = receipt_timeout

    @classmethod
    def from_url(cls, rpc_url: str, contract_address: str, **kwargs: Any) -> ChannelManagerClient:
        return cls(Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": 30})), contract_address,
                   **kwargs)

    # ---- reads ---------------------------------------------------------------------------

    def block_time(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def channel_details(self, user: str) -> ChannelDetails:
        txg, txc, root, count, initiator, closing, status = self.contract.functions.getChannelDetails(
            Web3.to_checksum_address(user)).call()
        return ChannelDetails(int(txg), int(txc), "0x" + bytes(root).hex(), int(count),
                              str(initiator).lower(), int(closing), CHANNEL_STATUS[int(status)])

    def channel_balances(self, user: str) -> tuple[int, ...]:
        """(weiHub, weiUser, weiTotal, tokenHub, tokenUser, tokenTotal)."""
        return tuple(int(v) for v in self.contract.functions.getChannelBalances(
            Web3.to_checksum_address(user)).call())

    def _receipt(self, tx_hash: str) -> Any:
        try:
            return self.w3.eth.get_transaction_receipt(cast(Any, tx_hash))
        except TransactionNotFound:
            return None

    def did_update_channel(self, tx_hash: str, user: str) -> DidUpdateChannel | None:
        """The `DidUpdateChannel` for `user` in a mined, successful tx to this contract."""
        receipt = self._receipt(tx_hash)
        if receipt is None or receipt["status"] != 1:
            return None
        for log in self.contract.events.DidUpdateChannel().process_receipt(receipt, errors=DISCARD):
            a = log["args"]
            if log["address"] != self.address or str(a["user"]).lower() != user.lower():
                continue
            return DidUpdateChannel(
                contract_address=self.address.lower(),
                user=str(a["user"]).lower(),
                sender_idx=int(a["senderIdx"]),
                wei_balances=(int(a["weiBalances"][0]), int(a["weiBalances"][1])),
                token_balances=(int(a["tokenBalances"][0]), int(a["tokenBalances"][1])),
                pending_wei_updates=cast(Any, tuple(int(v) for v in a["pendingWeiUpdates"])),
                pending_token_updates=cast(Any, tuple(int(v) for v in a["pendingTokenUpdates"])),
                tx_count=(int(a["txCount"][0]), int(a["txCount"][1])),
                thread_root="0x" + bytes(a["threadRoot"]).hex(),
                thread_count=int(a["threadCount"]),
            )
        return None

    def did_empty_channel(self, tx_hash: str, user: str) -> DidEmptyChannel | None:
        receipt = self._receipt(tx_hash)
        if receipt is None or receipt["status"] != 1:
            return None
        for log in self.contract.events.DidEmptyChannel().process_receipt(receipt, errors=DISCARD):
            a = log["args"]
            if log["address"] != self.address or str(a["user"]).lower() != user.lower():
                continue
            return DidEmptyChannel(
                contract_address=self.address.lower(),
                user=str(a["user"]).lower(),
                sender_idx=int(a["senderIdx"]),
                wei_balances=(int(a["weiBalances"][0]), int(a["weiBalances"][1])),
                token_balances=(int(a["tokenBalances"][0]), int(a["tokenBalances"][1])),
                tx_count=(int(a["txCount"][0]), int(a["txCount"][1])),
                thread_root="0x" + bytes(a["threadRoot"]).hex(),
                thread_count=int(a["threadCount"]),
            )
        return None

    # ---- writes --------------------------------------------------------------------------

    def _transact(self, fn: Any, *, value: int = 0) -> str:
        if self.account is None:
            raise ChainError("no account configured to send transactions")
        sender = self.account.address
        try:
            tx = fn.build_transaction({
                "from": sender,
                "value": value,
                "nonce": self.w3.eth.get_transaction_count(sender, "pending"),
                "chainId": self.w3.eth.chain_id,
            })
        except ContractLogicError as exc:
            raise ChainError(f"{fn.fn_name} would revert: {exc}") from exc
        signed = self.account.sign_transaction(tx)
        tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=self.receipt_timeout)
        if receipt["status"] != 1:
            raise ChainError(f"{fn.fn_name} reverted in {tx_hash.to_0x_hex()}")
        return str(tx_hash.to_0x_hex())

    def token_allowance(self, owner: str) -> int:
        if self.token is None:
            raise ChainError("no token address configured")
        return int(self.token.functions.allowance(Web3.to_checksum_address(owner), self.address).call())

    def approve_token(self, amount: int = UINT256_MAX) -> str:
        """ERC20 approve of the ChannelManager (the Connext client approves MaxUint256)."""
        if self.token is None:
            raise ChainError("no token address configured")
        return self._transact(self.token.functions.approve(self.address, amount))

    def user_authorized_update(self, state: ChannelState) -> str:
        """Send the hub-signed deposit state; approves the token first if the allowance is short."""
        if state.pending_deposit_token_user:
            assert self.account is not None
            if self.token_allowance(self.account.address) < state.pending_deposit_token_user:
                self.approve_token()
        return self._transact(
            self.contract.functions.userAuthorizedUpdate(*user_authorized_update_args(state)),
            value=state.pending_deposit_wei_user,
        )

    def start_exit(self, user: str) -> str:
        return self._transact(self.contract.functions.startExit(Web3.to_checksum_address(user)))

    def start_exit_with_update(self, state: ChannelState) -> str:
        return self._transact(self.contract.functions.startExitWithUpdate(*exit_args_list(state)))

    def empty_channel_with_challenge(self, state: ChannelState) -> str:
        return self._transact(
            self.contract.functions.emptyChannelWithChallenge(*exit_args_list(state)))

    def empty_channel(self, user: str) -> str:
        return self._transact(self.contract.functions.emptyChannel(Web3.to_checksum_address(user)))
