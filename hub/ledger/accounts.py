"""Every ledger account, named in one place. An account is a string; its prefix says whose money
it is. Amounts are per asset ("wei" or "token"); every posting sums to zero.

- `channel:<channel id>:<field>`: a channel's state, one account per amount field of the state
  (balances, pending deposits and withdrawals) plus `chain`, the channel's side of the contract.
- `thread:<thread id>:channel:<channel id>`: what a thread holds out of one of its two channels.
- `custodial:<address>`: a custodial balance (a user's, or a merchant's receiving address);
  `hub:custodial_float` is its counterpart, `hub:onchain_payouts` what custodial withdrawals sent,
  `hub:checkout_receipts` what the Checkout contract paid the hub for merchants (on-chain
  checkout payments, credited to the merchant's custodial balance).
- `optimistic:<payment id>`: an optimistic payment the hub holds; `hub:optimistic_float`.
- `link:<link id>`: the amount a payment link holds (linkpay).
- `settlement:<settlement id>`: a merchant settlement in flight; `payouts:onchain` what
  settlements sent (payments/settlements)."""

from __future__ import annotations

CUSTODIAL_FLOAT = "hub:custodial_float"
ONCHAIN_PAYOUTS = "hub:onchain_payouts"
CHECKOUT_RECEIPTS = "hub:checkout_receipts"
OPTIMISTIC_FLOAT = "hub:optimistic_float"
SETTLEMENT_PAYOUTS = "payouts:onchain"


def channel(channel_id: int, field: str) -> str:
    return f"channel:{channel_id}:{field}"


def thread(thread_id: int, channel_id: int) -> str:
    return f"thread:{thread_id}:channel:{channel_id}"


def custodial(address: str) -> str:
    return f"custodial:{address.lower()}"


def optimistic(payment_id: int) -> str:
    return f"optimistic:{payment_id}"


def link(public_id: str) -> str:
    return f"link:{public_id}"


def settlement(public_id: str) -> str:
    return f"settlement:{public_id}"
