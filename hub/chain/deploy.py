"""Deploy Spoke's contracts and fund the hub reserves, with plain web3 and a local signing key.

Used by `manage.py deploy_contracts` and by the chain tests. No Django here. Every function sends
transactions signed locally by the given account, waits for the receipt and raises
DeploymentError if the transaction reverted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract
from web3.types import TxParams, TxReceipt, Wei

from hub.chain.artifacts import load_artifact

CHANNEL_MANAGER = "ChannelManager"
TEST_ERC20 = "SpokeTestToken"
CHECKOUT = "Checkout"

RECEIPT_TIMEOUT = 120.0


class DeploymentError(RuntimeError):
    pass


@dataclass(frozen=True)
class Deployment:
    channel_manager: ChecksumAddress
    token: ChecksumAddress
    block: int  # the block of the ChannelManager deployment: where event ingestion starts
    checkout: ChecksumAddress | None = None  # the Checkout contract (on-chain invoice payments)
    checkout_block: int = 0

    def as_record(self) -> dict[str, Any]:
        """The CONTRACTS_FILE entry for one chain id."""
        return {"channel_manager": self.channel_manager, "token": self.token, "block": self.block,
                "checkout": self.checkout, "checkout_block": self.checkout_block}


def send_transaction(w3: Web3, account: LocalAccount, tx: TxParams) -> TxReceipt:
    """Fill in nonce, gas and fees, sign with `account`, send, and wait for a successful receipt."""
    tx = dict(tx)  # type: ignore[assignment]
    tx.setdefault("from", account.address)
    tx.setdefault("chainId", w3.eth.chain_id)
    tx.setdefault("nonce", w3.eth.get_transaction_count(account.address, "pending"))
    if "gasPrice" not in tx and "maxFeePerGas" not in tx:
        base_fee = w3.eth.get_block("latest").get("baseFeePerGas", 0)
        priority = w3.eth.max_priority_fee
        tx["maxPriorityFeePerGas"] = priority
        tx["maxFeePerGas"] = Wei(2 * base_fee + priority)
    if "gas" not in tx:
        tx["gas"] = w3.eth.estimate_gas(tx)
    signed = account.sign_transaction(tx)  # type: ignore[arg-type]
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=RECEIPT_TIMEOUT)
    if receipt["status"] != 1:
        raise DeploymentError(f"transaction {tx_hash.to_0x_hex()} reverted")
    return receipt


def contract_at(w3: Web3, name: str, address: str) -> Contract:
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=load_artifact(name).abi)


def deploy_contract(w3: Web3, deployer: LocalAccount, name: str, *args: Any) -> tuple[Contract, TxReceipt]:
    """Deploy the committed artifact `name` with constructor `args`."""
    artifact = load_artifact(name)
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    tx = factory.constructor(*args).build_transaction(
        {"from": deployer.address, "nonce": w3.eth.get_transaction_count(deployer.address, "pending")}
    )
    receipt = send_transaction(w3, deployer, tx)
    address = receipt["contractAddress"]
    if address is None:
        raise DeploymentError(f"{name}: the receipt has no contract address")
    return contract_at(w3, name, address), receipt


def deploy_token(w3: Web3, deployer: LocalAccount) -> Contract:
    """The test ERC20 ("Spoke Test Dollar", SPD, 18 decimals); only `deployer` can mint."""
    token, _ = deploy_contract(w3, deployer, TEST_ERC20)
    return token


def deploy_channel_manager(
    w3: Web3, deployer: LocalAccount, *, hub: str, challenge_period: int, token: str
) -> tuple[Contract, int]:
    """Deploy a ChannelManager; returns it and its deployment block."""
    manager, receipt = deploy_contract(
        w3, deployer, CHANNEL_MANAGER, Web3.to_checksum_address(hub), challenge_period,
        Web3.to_checksum_address(token),
    )
    return manager, receipt["blockNumber"]


def deploy_checkout(w3: Web3, deployer: LocalAccount, *, operator: str) -> tuple[Contract, int]:
    """Deploy a Checkout whose intents `operator` signs (owned by `deployer`, who may pause it);
    returns it and its deployment block."""
    checkout, receipt = deploy_contract(
        w3, deployer, CHECKOUT, Web3.to_checksum_address(operator), deployer.address
    )
    return checkout, receipt["blockNumber"]


def deploy_all(
    w3: Web3, hub: LocalAccount, *, challenge_period: int, token: str | None = None
) -> Deployment:
    """Deploy the ChannelManager and the Checkout for `hub` (and, unless `token` is given, a
    test token the hub can mint)."""
    token_address = token or deploy_token(w3, hub).address
    manager, block = deploy_channel_manager(
        w3, hub, hub=hub.address, challenge_period=challenge_period, token=token_address
    )
    checkout, checkout_block = deploy_checkout(w3, hub, operator=hub.address)
    return Deployment(
        channel_manager=manager.address, token=Web3.to_checksum_address(token_address), block=block,
        checkout=checkout.address, checkout_block=checkout_block,
    )


def send_eth(w3: Web3, sender: LocalAccount, to: str, wei: int) -> TxReceipt:
    return send_transaction(w3, sender, {"to": Web3.to_checksum_address(to), "value": Wei(wei)})


def mint_tokens(w3: Web3, minter: LocalAccount, token: str, to: str, amount: int) -> TxReceipt:
    contract = contract_at(w3, TEST_ERC20, token)
    tx = contract.functions.mint(Web3.to_checksum_address(to), amount).build_transaction(
        {"from": minter.address}
    )
    return send_transaction(w3, minter, tx)


def transfer_tokens(w3: Web3, sender: LocalAccount, token: str, to: str, amount: int) -> TxReceipt:
    contract = contract_at(w3, TEST_ERC20, token)
    tx = contract.functions.transfer(Web3.to_checksum_address(to), amount).build_transaction(
        {"from": sender.address}
    )
    return send_transaction(w3, sender, tx)


def fund_hub_reserves(
    w3: Web3, hub: LocalAccount, *, channel_manager: str, token: str, wei: int = 0,
    tokens: int = 0, mint: bool = True,
) -> None:
    """Add `wei` and `tokens` to the hub reserves: ETH by a plain transfer to the contract,
    tokens by a transfer from the hub (minted to the hub first when `mint`, which needs the hub to
    be the test token's minter)."""
    if wei > 0:
        send_eth(w3, hub, channel_manager, wei)
    if tokens > 0:
        if mint:
            mint_tokens(w3, hub, token, hub.address, tokens)
        transfer_tokens(w3, hub, token, channel_manager, tokens)


def hub_reserves(w3: Web3, channel_manager: str) -> tuple[int, int]:
    """(wei, tokens) currently in the hub reserves."""
    manager = contract_at(w3, CHANNEL_MANAGER, channel_manager)
    return manager.functions.getHubReserveWei().call(), manager.functions.getHubReserveTokens().call()


def top_up_hub_reserves(
    w3: Web3, hub: LocalAccount, *, channel_manager: str, token: str, target_wei: int,
    target_tokens: int, mint: bool = True,
) -> tuple[int, int]:
    """Fund the reserves up to the targets (never down). Returns the (wei, tokens) added."""
    reserve_wei, reserve_tokens = hub_reserves(w3, channel_manager)
    add_wei = max(0, target_wei - reserve_wei)
    add_tokens = max(0, target_tokens - reserve_tokens)
    fund_hub_reserves(
        w3, hub, channel_manager=channel_manager, token=token, wei=add_wei, tokens=add_tokens,
        mint=mint,
    )
    return add_wei, add_tokens


def has_code(w3: Web3, address: str | None) -> bool:
    return bool(address) and len(w3.eth.get_code(Web3.to_checksum_address(address))) > 0  # type: ignore[arg-type]
