"""Payment intents for the Checkout contract, signed with the hub (operator) key as EIP-712
typed data. The domain binds the chain id and the contract address, so an intent pays one
invoice, on one deployment, once."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from eth_account.messages import encode_typed_data
from eth_utils import keccak
from web3 import Web3

from hub.chain.artifacts import load_abi
from hub.chain.signer import hub_signer

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"

INTENT_TYPES: dict[str, list[dict[str, str]]] = {
    "PaymentIntent": [
        {"name": "invoice", "type": "bytes32"},
        {"name": "nonce", "type": "uint256"},
        {"name": "recipient", "type": "address"},
        {"name": "asset", "type": "address"},
        {"name": "amount", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
        {"name": "refundDestination", "type": "address"},
    ],
}


class CheckoutUnavailable(RuntimeError):
    """No Checkout contract (or, for tokens, no token) is configured."""


def invoice_ref_bytes(invoice_ref: str) -> bytes:
    """The invoice id as bytes32: ASCII, left-aligned, zero-padded."""
    raw = invoice_ref.encode("ascii")
    if not raw or len(raw) > 32:
        raise ValueError("an invoice id is 1 to 32 ASCII characters")
    return raw.ljust(32, b"\0")


def invoice_ref_from_bytes(value: bytes) -> str:
    return value.rstrip(b"\0").decode("ascii", errors="replace")


def asset_address(asset: str) -> str:
    if asset == "wei":
        return ZERO_ADDRESS
    if asset == "token" and settings.TOKEN_ADDRESS:
        return Web3.to_checksum_address(settings.TOKEN_ADDRESS)
    raise CheckoutUnavailable("no token is configured")


def intent_digest(*, contract: str, chain_id: int, message: dict[str, Any]) -> bytes:
    """The EIP-712 digest of a PaymentIntent `message` (the contract's `intentDigest`)."""
    domain = {"name": "Spoke Checkout", "version": "1", "chainId": int(chain_id),
              "verifyingContract": Web3.to_checksum_address(contract)}
    signable = encode_typed_data(domain_data=domain, message_types=INTENT_TYPES, message_data=message)
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def intent_sign(*, invoice_ref: str, recipient: str | None, asset: str, amount: int, deadline: int,
                refund_destination: str, nonce: int | None = None) -> dict[str, Any]:
    """A signed intent, JSON-ready (integers as decimal strings), with the contract call to make:
    `contract`, `method` ("payNative" or "payToken"), `value` (wei to send) and `data` (the
    ABI-encoded call, so that a wallet page needs no ABI encoder). A token payment needs the
    contract's allowance for the amount first. `recipient` None pays the hub itself, which holds
    the payment for the merchant (the checkout page's intents: payments/hub_hooks.py
    `checkout_received`)."""
    contract = settings.CHECKOUT_ADDRESS
    if not contract:
        raise CheckoutUnavailable("no Checkout contract is configured")
    invoice = invoice_ref_bytes(invoice_ref)
    if recipient is None:
        recipient = hub_signer().address
    message: dict[str, Any] = {
        "invoice": invoice,
        "nonce": secrets.randbits(128) if nonce is None else nonce,
        "recipient": Web3.to_checksum_address(recipient),
        "asset": asset_address(asset),
        "amount": int(amount),
        "deadline": int(deadline),
        "refundDestination": Web3.to_checksum_address(refund_destination),
    }
    digest = intent_digest(contract=contract, chain_id=int(settings.CHAIN_ID), message=message)
    signature = hub_signer().sign_raw_hash(digest)
    native = message["asset"] == ZERO_ADDRESS
    method = "payNative" if native else "payToken"
    calldata = Web3().eth.contract(abi=load_abi("Checkout")).encode_abi(
        method, args=[tuple(message.values()), signature])
    return {
        "contract": Web3.to_checksum_address(contract), "chain_id": int(settings.CHAIN_ID),
        "method": method,
        "value": str(message["amount"]) if native else "0",
        "data": calldata,  # the whole call, ready for eth_sendTransaction
        "intent": {
            "invoice": "0x" + invoice.hex(), "nonce": str(message["nonce"]),
            "recipient": message["recipient"], "asset": message["asset"],
            "amount": str(message["amount"]), "deadline": str(message["deadline"]),
            "refund_destination": message["refundDestination"],
        },
        # a token payment first allows the contract the exact amount (ERC-20 approve)
        "approve": None if native else {
            "to": message["asset"],
            "data": Web3().eth.contract(abi=load_abi("SpokeTestToken")).encode_abi(
                "approve", args=[Web3.to_checksum_address(contract), message["amount"]]),
        },
        "digest": "0x" + digest.hex(),
        "signature": "0x" + signature.hex(),
    }
