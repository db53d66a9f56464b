"""State generators: a faithful port of connext/dist/StateGenerator.js (non-thread reasons).

Generators do arithmetic only; they may produce negative amounts, which the validators turn into
rejections. Intermediate states are plain dicts of the twelve amounts keyed by attribute name.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.core.args import (
    DepositArgs,
    ExchangeArgs,
    InvalidationArgs,
    PaymentArgs,
    WithdrawalArgs,
)
from hub.core.events import DidEmptyChannel
from hub.core.rates import calculate_exchange
from hub.core.state import AMOUNT_FIELDS, PENDING_FIELDS, ChannelState

Amounts = dict[str, int]

_SIDES = ("wei_hub", "wei_user", "token_hub", "token_user")


def amounts_of(state: ChannelState) -> Amounts:
    return {attr: getattr(state, attr) for attr, _ in AMOUNT_FIELDS}


def _sub_or_zero(a: int, *rest: int) -> int:
    return max(0, a - sum(rest))


def _zero_pending(a: Amounts) -> Amounts:
    return {**a, **dict.fromkeys(PENDING_FIELDS, 0)}


def payment(prev: ChannelState, args: PaymentArgs) -> ChannelState:
    to_hub = 1 if args.recipient == "hub" else -1
    return prev.unsigned().replace(
        balance_wei_hub=prev.balance_wei_hub + to_hub * args.amount_wei,
        balance_wei_user=prev.balance_wei_user - to_hub * args.amount_wei,
        balance_token_hub=prev.balance_token_hub + to_hub * args.amount_token,
        balance_token_user=prev.balance_token_user - to_hub * args.amount_token,
        timeout=0,
        tx_count_global=prev.tx_count_global + 1,
    )


@dataclass(frozen=True, slots=True)
class _Exchange:
    seller: str
    exchange_rate: str
    wei_to_sell: int
    tokens_to_sell: int


def _apply_in_channel_exchange(
    a: Amounts, ex: _Exchange | ExchangeArgs | WithdrawalArgs
) -> Amounts:
    x = calculate_exchange(
        seller=ex.seller,
        rate=ex.exchange_rate,
        wei_to_sell=ex.wei_to_sell,
        tokens_to_sell=ex.tokens_to_sell,
    )
    return {
        **a,
        "balance_token_hub": a["balance_token_hub"] - x.tokens_received + x.tokens_sold,
        "balance_token_user": a["balance_token_user"] + x.tokens_received - x.tokens_sold,
        "balance_wei_hub": a["balance_wei_hub"] - x.wei_received + x.wei_sold,
        "balance_wei_user": a["balance_wei_user"] + x.wei_received - x.wei_sold,
    }


def _deposit_if_negative(a: Amounts, src: str, dst: str) -> Amounts:
    """If balance `src` is negative, zero it and cover it from `dst`, which receives the same
    amount as a pending deposit (i.e. from hub reserves, on-chain)."""
    bal = a[f"balance_{src}"]
    if bal >= 0:
        return a
    return {
        **a,
        f"balance_{src}": 0,
        f"balance_{dst}": a[f"balance_{dst}"] - abs(bal),
        f"pending_deposit_{dst}": a[f"pending_deposit_{dst}"] + abs(bal),
    }


def exchange(prev: ChannelState, args: ExchangeArgs) -> ChannelState:
    a = _apply_in_channel_exchange(amounts_of(prev), args)
    return prev.unsigned().replace(**a, timeout=0, tx_count_global=prev.tx_count_global + 1)


def propose_pending_deposit(prev: ChannelState, args: DepositArgs) -> ChannelState:
    return prev.unsigned().replace(
        pending_deposit_wei_hub=args.deposit_wei_hub,
        pending_deposit_wei_user=args.deposit_wei_user,
        pending_deposit_token_hub=args.deposit_token_hub,
        pending_deposit_token_user=args.deposit_token_user,
        recipient=prev.user,
        timeout=args.timeout,
        tx_count_chain=prev.tx_count_chain + 1,
        tx_count_global=prev.tx_count_global + 1,
    )


def _apply_pending(a: Amounts, deposits: dict[str, int], withdrawals: dict[str, int]) -> Amounts:
    """StateGenerator.applyPending: add pending ops; withdrawals beyond the same side's deposit
    leave the balance at once."""
    res = dict(a)
    for side in _SIDES:
        res[f"pending_deposit_{side}"] = a[f"pending_deposit_{side}"] + deposits[side]
        res[f"pending_withdrawal_{side}"] = a[f"pending_withdrawal_{side}"] + withdrawals[side]
    for side in _SIDES:
        res[f"balance_{side}"] = a[f"balance_{side}"] - _sub_or_zero(
            res[f"pending_withdrawal_{side}"], res[f"pending_deposit_{side}"]
        )
    return res


def propose_pending_withdrawal(prev: ChannelState, args: WithdrawalArgs) -> ChannelState:
    """StateGenerator.proposePendingWithdrawal: a collateralized exchange (the hub's shortfall is
    deposited from reserves into the user's side), then pending ops reaching the targets."""
    ex = _apply_in_channel_exchange(amounts_of(prev), args)
    ex = _deposit_if_negative(ex, "wei_hub", "wei_user")
    ex = _deposit_if_negative(ex, "token_hub", "token_user")
    targets = {
        "wei_hub": args.target_wei_hub,
        "wei_user": args.target_wei_user,
        "token_hub": args.target_token_hub,
        "token_user": args.target_token_user,
    }
    deltas = {s: targets[s] - (ex[f"balance_{s}"] + ex[f"pending_deposit_{s}"]) for s in _SIDES}
    extra = {
        "wei_hub": 0,
        "wei_user": args.additional_wei_hub_to_user,
        "token_hub": 0,
        "token_user": args.additional_token_hub_to_user,
    }
    deposits = {s: max(deltas[s], 0) + extra[s] for s in _SIDES}
    withdrawals = {s: max(-deltas[s], 0) + extra[s] for s in _SIDES}
    a = _apply_pending(ex, deposits, withdrawals)
    return prev.unsigned().replace(
        **a,
        recipient=args.recipient,
        timeout=args.timeout,
        tx_count_chain=prev.tx_count_chain + 1,
        tx_count_global=prev.tx_count_global + 1,
    )


def confirm_pending(prev: ChannelState) -> ChannelState:
    """StateGenerator.confirmPending, the contract's 4-case rule per side: a deposit larger than
    the withdrawal adds the difference to the balance; otherwise the withdrawal was already
    deducted when proposed and the balance stays."""
    a = amounts_of(prev)
    for side in _SIDES:
        dep, wd = a[f"pending_deposit_{side}"], a[f"pending_withdrawal_{side}"]
        if dep > wd:
            a[f"balance_{side}"] += dep - wd
    return prev.unsigned().replace(
        **_zero_pending(a),
        recipient=prev.user,
        timeout=0,
        tx_count_global=prev.tx_count_global + 1,
    )


def empty_channel(prev: ChannelState, event: DidEmptyChannel) -> ChannelState:
    """StateGenerator.emptyChannel: the channel as the contract left it, one nonce later."""
    return ChannelState(
        contract_address=prev.contract_address,
        user=prev.user,
        recipient=prev.user,
        balance_wei_hub=event.wei_balances[0],
        balance_wei_user=event.wei_balances[1],
        balance_token_hub=event.token_balances[0],
        balance_token_user=event.token_balances[1],
        tx_count_global=event.tx_count[0] + 1,
        tx_count_chain=event.tx_count[1],
        thread_root=event.thread_root,
        thread_count=event.thread_count,
        timeout=0,
    )


def _revert_pending(a: Amounts) -> Amounts:
    """StateGenerator.revertPending with all-zero args: re-credit the pre-deducted withdrawals."""
    res = dict(a)
    for side in _SIDES:
        res[f"balance_{side}"] = a[f"balance_{side}"] + _sub_or_zero(
            a[f"pending_withdrawal_{side}"], a[f"pending_deposit_{side}"]
        )
    return _zero_pending(res)


def _revert_withdrawal_and_exchange(prev: ChannelState, wd: WithdrawalArgs) -> Amounts:
    """StateGenerator._revertPendingWithdrawalAndExchange."""
    a = _revert_pending(amounts_of(prev))
    seller = "hub" if wd.seller == "user" else "user"
    a = _apply_in_channel_exchange(
        a, _Exchange(seller, wd.exchange_rate, wd.wei_to_sell, wd.tokens_to_sell)
    )
    dst, src = ("wei_user", "token_user"), ("wei_hub", "token_hub")
    if seller != "user":
        dst, src = src, dst
    a = _deposit_if_negative(a, src[0], dst[0])
    a = _deposit_if_negative(a, src[1], dst[1])
    token_delta = wd.target_token_user - a["balance_token_user"] + wd.tokens_to_sell
    wei_delta = wd.target_wei_user - a["balance_wei_user"] + wd.wei_to_sell
    a["balance_token_hub"] -= token_delta
    a["balance_token_user"] += token_delta
    a["balance_wei_hub"] -= wei_delta
    a["balance_wei_user"] += wei_delta
    return a


def invalidation(prev: ChannelState, args: InvalidationArgs) -> ChannelState:
    """StateGenerator.invalidation: unwind the pending ops (and a withdrawal's exchange) and step
    txCountChain back, since the update it belonged to never reached the chain."""
    if args.withdrawal is not None:
        a = _revert_withdrawal_and_exchange(prev, args.withdrawal)
    else:
        a = _revert_pending(amounts_of(prev))
    return prev.unsigned().replace(
        **_zero_pending(a),
        recipient=prev.user,
        timeout=0,
        tx_count_chain=prev.tx_count_chain - 1,
        tx_count_global=prev.tx_count_global + 1,
    )
