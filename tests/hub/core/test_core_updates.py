"""Every update reason: the state it generates and every rule that rejects it (hub side)."""

from __future__ import annotations

from typing import Any

import pytest
from core_factories import CONTRACT, HUB, NOW, OTHER, USER, did_update, signed, state, withdrawal

from hub.core import (
    ChannelState,
    DidEmptyChannel,
    HubRate,
    UpdateRejected,
    apply_update,
    transitions,
    validate_signed_update,
)
from hub.core.args import DepositArgs, InvalidationArgs

RATE = HubRate("5", NOW - 60)
TX = {"transactionHash": "0x" + "ab" * 32}


def _apply(prev: ChannelState, reason: str, args: Any, **kw: Any) -> ChannelState:
    kw.setdefault("now", NOW)
    kw.setdefault("hub_rate", RATE)
    return apply_update(prev, reason, args, **kw)


def _rejected(prev: ChannelState, reason: str, args: Any, **kw: Any) -> str:
    with pytest.raises(UpdateRejected) as err:
        _apply(prev, reason, args, **kw)
    return err.value.code


def pay(recipient: str, wei: int = 0, token: int = 0) -> dict[str, str]:
    return {"recipient": recipient, "amountWei": str(wei), "amountToken": str(token)}


def exch(seller: str, wei: int = 0, token: int = 0, rate: str = "5") -> dict[str, str]:
    return {
        "seller": seller,
        "exchangeRate": rate,
        "weiToSell": str(wei),
        "tokensToSell": str(token),
    }


def dep(wh: int = 0, wu: int = 0, th: int = 0, tu: int = 0, timeout: int = 0) -> dict[str, Any]:
    return {
        "depositWeiHub": str(wh),
        "depositWeiUser": str(wu),
        "depositTokenHub": str(th),
        "depositTokenUser": str(tu),
        "timeout": timeout,
    }


FUNDED = signed(
    state(balance_wei_hub=100, balance_wei_user=50, balance_token_hub=500, balance_token_user=70)
)


# --- Payment ---------------------------------------------------------------------------------


def test_payment_to_hub_moves_user_balance_and_bumps_tx_count_global_only() -> None:
    new = _apply(FUNDED, "Payment", pay("hub", wei=10, token=20))
    assert (new.balance_wei_user, new.balance_wei_hub) == (40, 110)
    assert (new.balance_token_user, new.balance_token_hub) == (50, 520)
    assert (new.tx_count_global, new.tx_count_chain) == (2, 1)
    assert new.sig_hub is None and new.sig_user is None


def test_payment_to_user_moves_hub_balance() -> None:
    new = _apply(FUNDED, "Payment", pay("user", token=500))
    assert (new.balance_token_hub, new.balance_token_user) == (0, 570)


@pytest.mark.parametrize(
    ("prev", "args", "code"),
    [
        (FUNDED, pay("hub", wei=51), "insufficient_balance"),
        (FUNDED, pay("hub", token=71), "insufficient_balance"),
        (FUNDED, pay("user", wei=101), "insufficient_balance"),
        (FUNDED.replace(timeout=NOW + 10), pay("hub", wei=1), "pending_timeout"),
        (FUNDED, pay("nobody", wei=1), "bad_args"),
        (FUNDED.unsigned(), pay("hub", wei=1), "previous_unsigned"),
    ],
    ids=[
        "user-lacks-wei",
        "user-lacks-tokens",
        "hub-lacks-wei",
        "timeout",
        "bad-recipient",
        "unsigned-prev",
    ],
)
def test_payment_without_funds_or_on_a_timed_state_is_rejected(
    prev: ChannelState, args: Any, code: str
) -> None:
    assert _rejected(prev, "Payment", args) == code


def test_payment_on_top_of_a_pending_hub_deposit_keeps_the_pending_values() -> None:
    prev = signed(state(balance_wei_user=10, pending_deposit_token_hub=30, tx_count_chain=2))
    new = _apply(prev, "Payment", pay("hub", wei=4))
    assert (new.pending_deposit_token_hub, new.tx_count_chain, new.balance_wei_hub) == (30, 2, 4)


# --- Exchange --------------------------------------------------------------------------------


def test_user_selling_tokens_gets_wei_at_the_rate() -> None:
    new = _apply(FUNDED, "Exchange", exch("user", token=25))
    assert (new.balance_token_user, new.balance_token_hub) == (45, 525)
    assert (new.balance_wei_user, new.balance_wei_hub) == (55, 95)


def test_token_remainder_is_counted_twice_in_the_sellers_favour_as_the_client_does() -> None:
    # 7 token units at 5 per ETH buy 1 wei (worth 5 units); calculateExchange returns the 2-unit
    # remainder as "received" and also leaves it out of "sold", so the seller pays only 3. Kept
    # because the client signs exactly this state.
    new = _apply(FUNDED, "Exchange", exch("user", token=7))
    assert (new.balance_token_user, new.balance_token_hub, new.balance_wei_user) == (67, 503, 51)


def test_hub_selling_tokens_for_user_wei() -> None:
    new = _apply(FUNDED, "Exchange", exch("user", wei=10))
    assert (new.balance_wei_user, new.balance_token_user, new.balance_token_hub) == (40, 120, 450)


@pytest.mark.parametrize(
    ("prev", "args", "kw", "code"),
    [
        (FUNDED, exch("user", wei=1, token=1), {}, "bad_args"),
        (FUNDED, exch("user"), {}, "bad_args"),
        (FUNDED, exch("user", token=71), {}, "insufficient_balance"),
        (FUNDED, exch("user", wei=101 + 50), {}, "insufficient_balance"),
        (FUNDED, exch("user", token=70), {"hub_rate": HubRate("5", NOW)}, None),
        (
            state(balance_wei_hub=1, balance_token_user=70, sig_hub="0x" + "1" * 130),
            exch("user", token=70),
            {},
            "insufficient_balance",
        ),
        (FUNDED, exch("user", token=10, rate="5.11"), {}, "rate_out_of_range"),
        (FUNDED, exch("user", token=10, rate="4.89"), {}, "rate_out_of_range"),
        (
            FUNDED,
            exch("user", token=10),
            {"hub_rate": HubRate("5", NOW - 24 * 3600 - 1)},
            "rate_stale",
        ),
        (FUNDED, exch("user", token=10), {"hub_rate": None}, "rate_unavailable"),
        (FUNDED.replace(timeout=NOW + 5), exch("user", token=10), {}, "pending_timeout"),
    ],
    ids=[
        "both",
        "neither",
        "user-lacks-tokens",
        "user-lacks-wei",
        "ok",
        "hub-lacks-wei",
        "rate-high",
        "rate-low",
        "rate-stale",
        "no-rate",
        "timeout",
    ],
)
def test_exchange_rules(
    prev: ChannelState, args: Any, kw: dict[str, Any], code: str | None
) -> None:
    if code is None:
        _apply(prev, "Exchange", args, **kw)
    else:
        assert _rejected(prev, "Exchange", args, **kw) == code


def test_rate_exactly_two_percent_off_is_accepted() -> None:
    _apply(FUNDED, "Exchange", exch("user", token=10, rate="5.1"))
    _apply(FUNDED, "Exchange", exch("user", token=10, rate="4.9"))


# --- ProposePendingDeposit -------------------------------------------------------------------


def test_deposit_proposal_sets_pending_and_bumps_both_tx_counts() -> None:
    new = _apply(FUNDED, "ProposePendingDeposit", dep(wh=5, wu=3, th=1, tu=9, timeout=NOW + 300))
    assert (new.pending_deposit_wei_hub, new.pending_deposit_wei_user) == (5, 3)
    assert (new.pending_deposit_token_hub, new.pending_deposit_token_user) == (1, 9)
    assert (new.tx_count_global, new.tx_count_chain, new.timeout) == (2, 2, NOW + 300)
    assert new.balance_wei_user == FUNDED.balance_wei_user


def test_user_deposit_with_a_valid_request_signature_is_accepted() -> None:
    args = {**dep(wu=3, tu=9, timeout=NOW + 300), "sigUser": USER.sign_deposit_request(9, 3)}
    assert _apply(FUNDED, "ProposePendingDeposit", args).pending_deposit_token_user == 9


@pytest.mark.parametrize(
    ("prev", "args", "code"),
    [
        (signed(state(pending_deposit_wei_user=1)), dep(wu=1), "pending_operations"),
        (FUNDED.replace(timeout=NOW + 1), dep(wu=1), "pending_timeout"),
        (FUNDED, dep(wu=1, timeout=NOW), "timeout_expired"),
        (FUNDED, {**dep(wu=3, tu=9), "sigUser": OTHER.sign_deposit_request(9, 3)}, "bad_signature"),
        (FUNDED, {**dep(wu=3, tu=9), "sigUser": USER.sign_deposit_request(3, 9)}, "bad_signature"),
        (FUNDED, {**dep(wu=3), "sigUser": "0x12"}, "bad_signature"),
    ],
    ids=["pending", "timeout", "expired", "forged-request", "swapped-amounts", "malformed"],
)
def test_deposit_proposal_rejections(prev: ChannelState, args: Any, code: str) -> None:
    assert _rejected(prev, "ProposePendingDeposit", args) == code


# --- ProposePendingWithdrawal: the client's own StateGenerator table (rate 5) ----------------

CLIENT_WITHDRAWAL_CASES = [
    (
        "sell tokens, withdraw wei, hub deposits tokens",
        {"balance_token_user": 7, "balance_wei_user": 6},
        {"target_token_hub": 20, "target_token_user": 2, "target_wei_user": 4, "tokens_to_sell": 5},
        {
            "balance_token_hub": 5,
            "balance_token_user": 2,
            "balance_wei_user": 4,
            "pending_deposit_token_hub": 15,
            "pending_deposit_wei_user": 1,
            "pending_withdrawal_wei_user": 3,
        },
    ),
    (
        "sell tokens, add some wei to balance",
        {"balance_token_user": 3},
        {"target_token_user": 5, "target_wei_user": 11, "tokens_to_sell": 1},
        {"pending_deposit_token_user": 2, "pending_deposit_wei_user": 11},
    ),
    (
        "hub deposit and withdrawal simplification",
        {"balance_token_hub": 11, "balance_wei_hub": 8},
        {"target_token_hub": 24, "target_wei_hub": 20},
        {
            "balance_token_hub": 11,
            "balance_wei_hub": 8,
            "pending_deposit_token_hub": 13,
            "pending_deposit_wei_hub": 12,
        },
    ),
    (
        "simple sell tokens",
        {"balance_token_user": 7},
        {"target_token_user": 2, "tokens_to_sell": 5},
        {
            "balance_token_user": 2,
            "pending_deposit_wei_user": 1,
            "pending_withdrawal_token_hub": 5,
            "pending_withdrawal_wei_user": 1,
        },
    ),
    (
        "hub sends additional wei and tokens",
        {"balance_token_hub": 11, "balance_token_user": 5, "balance_wei_hub": 11},
        {
            "additional_token_hub_to_user": 3,
            "additional_wei_hub_to_user": 4,
            "target_token_hub": 12,
            "target_wei_hub": 13,
            "tokens_to_sell": 5,
        },
        {
            "balance_token_hub": 12,
            "balance_token_user": 0,
            "balance_wei_hub": 10,
            "balance_wei_user": 0,
            "pending_deposit_token_user": 3,
            "pending_deposit_wei_hub": 3,
            "pending_deposit_wei_user": 4,
            "pending_withdrawal_token_hub": 4,
            "pending_withdrawal_token_user": 3,
            "pending_withdrawal_wei_user": 5,
        },
    ),
    (
        "user withdrawal and hub recollateralize",
        {
            "balance_token_hub": 3,
            "balance_token_user": 5,
            "balance_wei_hub": 10,
            "balance_wei_user": 7,
        },
        {"target_token_hub": 6, "target_wei_hub": 0, "target_wei_user": 5, "tokens_to_sell": 5},
        {
            "balance_token_hub": 6,
            "balance_token_user": 0,
            "balance_wei_hub": 0,
            "balance_wei_user": 5,
            "pending_withdrawal_token_hub": 2,
            "pending_withdrawal_wei_hub": 9,
            "pending_withdrawal_wei_user": 3,
        },
    ),
    (
        "token sale and hub adds additional tokens",
        {"balance_token_user": 17},
        {
            "target_token_hub": 20,
            "target_token_user": 2,
            "target_wei_user": 1,
            "tokens_to_sell": 15,
        },
        {
            "balance_token_hub": 15,
            "balance_token_user": 2,
            "balance_wei_user": 0,
            "pending_deposit_token_hub": 5,
            "pending_deposit_wei_user": 3,
            "pending_withdrawal_wei_user": 2,
        },
    ),
]


@pytest.mark.parametrize(
    ("name", "prev", "args", "expected"),
    CLIENT_WITHDRAWAL_CASES,
    ids=[c[0] for c in CLIENT_WITHDRAWAL_CASES],
)
def test_withdrawal_matches_the_clients_state_generator_table(
    name: str, prev: dict[str, int], args: dict[str, int], expected: dict[str, int]
) -> None:
    before = signed(state(**prev))
    args_ = withdrawal(**args, timeout=NOW + 300)
    new = transitions.propose_pending_withdrawal(before, args_)
    assert new == before.unsigned().replace(
        **expected, timeout=NOW + 300, tx_count_chain=2, tx_count_global=2
    )
    # The hub signs only withdrawals the client's Invalidation could undo without overdrafts.
    try:
        assert _apply(before, "ProposePendingWithdrawal", args_) == new
    except UpdateRejected as err:
        assert err.code == "withdrawal_not_reversible"
        assert name in REVERSAL_OVERDRAFTS


REVERSAL_OVERDRAFTS = {
    "sell tokens, add some wei to balance",
    "token sale and hub adds additional tokens",
}


def test_deposit_proposal_without_any_amount_is_rejected() -> None:
    assert _rejected(FUNDED, "ProposePendingDeposit", dep()) == "bad_args"


@pytest.mark.parametrize(
    ("prev", "args", "code"),
    [
        (
            signed(state(balance_token_user=7, pending_deposit_wei_hub=1)),
            {"tokens_to_sell": 5},
            "pending_operations",
        ),
        (
            signed(state(balance_token_user=7, timeout=NOW + 1)),
            {"tokens_to_sell": 5},
            "pending_timeout",
        ),
        (signed(state(balance_token_user=7)), {"tokens_to_sell": 8}, "insufficient_balance"),
        (
            signed(state(balance_wei_user=7)),
            {"target_wei_user": 0, "target_token_user": 0, "wei_to_sell": 5, "tokens_to_sell": 5},
            "bad_args",
        ),
        (
            signed(state(balance_token_user=7)),
            {"tokens_to_sell": 5, "exchange_rate": "6"},
            "rate_out_of_range",
        ),
        (
            signed(state(balance_token_user=7)),
            {"tokens_to_sell": 5, "timeout": NOW - 1},
            "timeout_expired",
        ),
    ],
    ids=["pending", "timeout", "user-lacks-tokens", "both-sides", "rate", "expired"],
)
def test_withdrawal_rejections(prev: ChannelState, args: dict[str, Any], code: str) -> None:
    args.setdefault("timeout", NOW + 300)
    assert _rejected(prev, "ProposePendingWithdrawal", withdrawal(**args)) == code


# --- ConfirmPending ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pending", "balance_after"),
    [
        ({"pending_deposit_wei_user": 10}, 15),  # deposit only: credited
        ({"pending_withdrawal_wei_user": 3}, 5),  # withdrawal only: was already deducted
        ({"pending_deposit_wei_user": 10, "pending_withdrawal_wei_user": 4}, 11),  # dep > wd
        ({"pending_deposit_wei_user": 4, "pending_withdrawal_wei_user": 10}, 5),  # wd >= dep
    ],
    ids=["deposit", "withdrawal", "deposit-exceeds", "withdrawal-exceeds"],
)
def test_confirm_pending_follows_the_four_case_rule(
    pending: dict[str, int], balance_after: int
) -> None:
    prev = signed(state(balance_wei_user=5, tx_count_chain=2, timeout=NOW + 100, **pending))
    new = _apply(prev, "ConfirmPending", TX, event=did_update(prev))
    assert new.balance_wei_user == balance_after
    assert not new.has_pending_ops
    assert (new.timeout, new.tx_count_global, new.tx_count_chain) == (0, 2, 2)


@pytest.mark.parametrize(
    ("over", "code"),
    [
        ({"pending_wei_updates": (0, 0, 11, 0)}, "bad_event"),
        ({"tx_count": (1, 1)}, "bad_event"),
        ({"tx_count": (9, 2)}, "bad_event"),
        ({"user": OTHER.address}, "wrong_channel"),
        ({"contract_address": "0x" + "dd" * 20}, "wrong_channel"),
        ({"sender_idx": 2}, "bad_event"),
    ],
    ids=[
        "pending-differs",
        "tx-count-chain-differs",
        "from-the-future",
        "other-user",
        "other-contract",
        "sender",
    ],
)
def test_confirm_pending_with_a_mismatching_event_is_rejected(
    over: dict[str, Any], code: str
) -> None:
    prev = signed(state(balance_wei_user=5, pending_deposit_wei_user=10, tx_count_chain=2))
    assert _rejected(prev, "ConfirmPending", TX, event=did_update(prev, **over)) == code


def test_confirm_pending_without_pending_ops_or_event_is_rejected() -> None:
    assert (
        _rejected(FUNDED, "ConfirmPending", TX, event=did_update(FUNDED))
        == "no_pending_operations"
    )
    prev = signed(state(pending_deposit_wei_user=10, tx_count_chain=2))
    assert _rejected(prev, "ConfirmPending", TX) == "bad_event"


# --- Invalidation -----------------------------------------------------------------------------


def _inval(
    prev: ChannelState, reason: str = "CU_INVALID_TIMEOUT", wd: Any = None
) -> dict[str, Any]:
    out: dict[str, Any] = {"invalidTxCount": prev.tx_count_global, "reason": reason}
    if wd is not None:
        out["withdrawal"] = wd.to_json()
    return out


def test_invalidating_an_expired_deposit_restores_balances_and_steps_tx_count_chain_back() -> None:
    before = FUNDED
    pending = signed(_apply(before, "ProposePendingDeposit", dep(wu=5, th=7, timeout=NOW + 300)))
    new = _apply(pending, "Invalidation", _inval(pending), now=NOW + 301)
    assert new == before.unsigned().replace(tx_count_global=3)


@pytest.mark.parametrize(
    ("before_fields", "wd_args"),
    [
        # the user withdraws exactly what the sale brings in, hub wei suffices
        (
            {"balance_wei_hub": 100, "balance_token_user": 70},
            {"tokens_to_sell": 70, "target_wei_hub": 86, "target_token_hub": 70},
        ),
        # the sale needs hub collateral from reserves
        (
            {"balance_wei_hub": 3, "balance_token_user": 70},
            {"tokens_to_sell": 70, "target_token_hub": 70},
        ),
        # the user sells only part of its tokens and keeps the rest
        (
            {"balance_wei_hub": 100, "balance_token_user": 70},
            {
                "tokens_to_sell": 20,
                "target_token_user": 50,
                "target_wei_hub": 96,
                "target_token_hub": 20,
            },
        ),
        # the user sells all its wei for tokens and withdraws the tokens
        (
            {"balance_token_hub": 100, "balance_wei_user": 4},
            {"seller": "user", "wei_to_sell": 4, "target_wei_hub": 4, "target_token_hub": 80},
        ),
    ],
    ids=["uncollateralized", "collateralized", "partial", "wei-for-tokens"],
)
def test_invalidating_an_expired_withdrawal_restores_the_previous_balances(
    before_fields: dict[str, int], wd_args: dict[str, Any]
) -> None:
    before = signed(state(**before_fields))
    wd = withdrawal(**wd_args, timeout=NOW + 300)
    pending = signed(_apply(before, "ProposePendingWithdrawal", wd))
    assert pending.has_pending_withdrawals
    new = _apply(
        pending, "Invalidation", _inval(pending, wd=wd), now=NOW + 301, invalidated_withdrawal=wd
    )
    assert new == before.unsigned().replace(tx_count_global=3)


def test_invalidating_a_withdrawal_of_wei_already_owned_gives_it_to_the_hub_as_the_client_does() -> (
    None
):
    # Client quirk (StateGenerator._revertPendingWithdrawalAndExchange): the user ends with
    # targetWeiUser + weiToSell, so wei the user owned before the withdrawal and asked to withdraw
    # (50 here) goes to the hub. Kept: the client regenerates and checks this exact state.
    before = signed(state(balance_wei_hub=100, balance_wei_user=50, balance_token_user=70))
    wd = withdrawal(tokens_to_sell=70, target_wei_hub=86, target_token_hub=70, timeout=NOW + 300)
    pending = signed(_apply(before, "ProposePendingWithdrawal", wd))
    assert pending.pending_withdrawal_wei_user == 64
    new = _apply(
        pending, "Invalidation", _inval(pending, wd=wd), now=NOW + 301, invalidated_withdrawal=wd
    )
    assert (new.balance_wei_hub, new.balance_wei_user, new.balance_token_user) == (150, 0, 70)


def test_invalidation_rejections() -> None:
    before = signed(state(balance_token_user=70))
    wd = withdrawal(tokens_to_sell=70, timeout=NOW + 300)
    pending = signed(_apply(before, "ProposePendingWithdrawal", wd))
    late = NOW + 301
    cases: list[tuple[ChannelState, Any, dict[str, Any], str]] = [
        (
            pending,
            _inval(pending, wd=wd),
            {"now": NOW + 300, "invalidated_withdrawal": wd},
            "timeout_not_expired",
        ),
        (pending, _inval(pending), {"now": late}, "bad_args"),  # withdrawal args missing
        (
            pending,
            _inval(pending, wd=withdrawal(tokens_to_sell=70, target_wei_user=1, timeout=NOW + 300)),
            {"now": late, "invalidated_withdrawal": wd},
            "bad_args",
        ),  # not the args we signed
        (
            pending,
            {**_inval(pending, wd=wd), "invalidTxCount": 1},
            {"now": late, "invalidated_withdrawal": wd},
            "bad_args",
        ),
        (
            pending,
            {**_inval(pending, wd=wd), "invalidTxCount": 3},
            {"now": late, "invalidated_withdrawal": wd},
            "bad_args",
        ),
        (before, _inval(before), {"now": late}, "no_pending_operations"),
        (
            pending.replace(sig_hub=None),
            _inval(pending, wd=wd),
            {"now": late, "invalidated_withdrawal": wd},
            "previous_unsigned",
        ),
    ]
    for prev, args, kw, code in cases:
        assert _rejected(prev, "Invalidation", args, **kw) == code, (args, kw)


def test_timeout_reason_needs_a_state_with_a_timeout() -> None:
    pending = signed(_apply(FUNDED, "ProposePendingDeposit", dep(th=10)))
    assert _rejected(pending, "Invalidation", _inval(pending), now=NOW) == "bad_args"
    new = _apply(pending, "Invalidation", _inval(pending, reason="CU_INVALID_ERROR"), now=NOW)
    assert new.balance_token_hub == FUNDED.balance_token_hub and new.tx_count_chain == 1


def test_a_pending_hub_deposit_can_be_invalidated_after_payments_on_top() -> None:
    pending = signed(_apply(FUNDED, "ProposePendingDeposit", dep(th=10)))
    paid = signed(_apply(pending, "Payment", pay("hub", wei=5)))
    new = _apply(paid, "Invalidation", {"invalidTxCount": 2, "reason": "CU_INVALID_ERROR"})
    assert (new.balance_wei_user, new.pending_deposit_token_hub, new.tx_count_chain) == (45, 0, 1)


def test_invalidation_generator_matches_client_quirk_of_always_stepping_back() -> None:
    # StateGenerator.invalidation subtracts one from txCountChain unconditionally.
    prev = signed(state(pending_deposit_wei_user=1, tx_count_chain=4))
    assert (
        transitions.invalidation(prev, InvalidationArgs(1, "CU_INVALID_ERROR")).tx_count_chain == 3
    )


# --- EmptyChannel ----------------------------------------------------------------------------


def _did_empty(s: ChannelState, **over: Any) -> DidEmptyChannel:
    fields: dict[str, Any] = dict(
        contract_address=CONTRACT,
        user=s.user,
        sender_idx=1,
        wei_balances=(0, 0),
        token_balances=(0, 0),
        tx_count=(s.tx_count_global, s.tx_count_chain),
        thread_root=s.thread_root,
        thread_count=0,
    )
    fields.update(over)
    return DidEmptyChannel(**fields)


def test_empty_channel_zeroes_the_channel_one_nonce_after_the_event() -> None:
    new = _apply(FUNDED, "EmptyChannel", TX, event=_did_empty(FUNDED, tx_count=(4, 1)))
    assert (
        new.balance_wei_user,
        new.balance_token_hub,
        new.tx_count_global,
        new.tx_count_chain,
    ) == (0, 0, 5, 1)


@pytest.mark.parametrize(
    ("over", "code"),
    [
        ({"wei_balances": (0, 1)}, "bad_event"),
        ({"tx_count": (0, 1)}, "bad_event"),
        ({"user": OTHER.address}, "wrong_channel"),
    ],
    ids=["non-zero", "replay", "other-user"],
)
def test_empty_channel_with_a_bad_event_is_rejected(over: dict[str, Any], code: str) -> None:
    assert _rejected(FUNDED, "EmptyChannel", TX, event=_did_empty(FUNDED, **over)) == code


# --- signed updates --------------------------------------------------------------------------


def test_signed_update_is_accepted_when_it_is_exactly_the_generated_state() -> None:
    new = signed(_apply(FUNDED, "Payment", pay("hub", wei=1)))
    assert (
        validate_signed_update(
            FUNDED, new, "Payment", pay("hub", wei=1), hub_address=HUB.address, now=NOW
        )
        == new
    )


def test_signed_update_that_differs_from_the_generated_state_is_rejected() -> None:
    new = signed(_apply(FUNDED, "Payment", pay("hub", wei=1)).replace(balance_wei_hub=102))
    with pytest.raises(UpdateRejected) as err:
        validate_signed_update(
            FUNDED, new, "Payment", pay("hub", wei=1), hub_address=HUB.address, now=NOW
        )
    assert err.value.code == "state_mismatch"


def test_signed_update_with_a_forged_user_signature_is_rejected() -> None:
    new = OTHER.sign_channel_state(_apply(FUNDED, "Payment", pay("hub", wei=1)), as_party="user")
    with pytest.raises(UpdateRejected) as err:
        validate_signed_update(
            FUNDED, new, "Payment", pay("hub", wei=1), hub_address=HUB.address, now=NOW
        )
    assert err.value.code == "bad_signature"


def test_signed_update_without_the_required_user_signature_is_rejected() -> None:
    new = signed(_apply(FUNDED, "Payment", pay("hub", wei=1)), user=False)
    with pytest.raises(UpdateRejected):
        validate_signed_update(
            FUNDED, new, "Payment", pay("hub", wei=1), hub_address=HUB.address, now=NOW
        )
    assert (
        validate_signed_update(
            FUNDED,
            new,
            "Payment",
            pay("hub", wei=1),
            hub_address=HUB.address,
            now=NOW,
            require_user_sig=False,
            require_hub_sig=True,
        )
        == new
    )


def test_unknown_reason_is_rejected() -> None:
    assert _rejected(FUNDED, "Teleport", {}) == "unknown_reason"


# --- Edges of the rules (each pins a boundary or a code that a slip would change) -------------


def test_a_deposit_timeout_of_one_second_after_the_epoch_has_expired() -> None:
    # 0 means "no timeout"; any other timeout at or before the block time could never go on-chain
    assert _rejected(FUNDED, "ProposePendingDeposit", dep(wu=1, timeout=1)) == "timeout_expired"
    assert _apply(FUNDED, "ProposePendingDeposit", dep(wu=1, timeout=0)).timeout == 0


def test_typed_deposit_args_out_of_the_uint256_range_are_a_negative_balance() -> None:
    # typed args skip JSON parsing (the hub's own services build them): the core still refuses
    for args in (DepositArgs(-1, 0, 0, 0, 0), DepositArgs(0, 0, 0, 2**256, 0)):
        assert _rejected(FUNDED, "ProposePendingDeposit", args) == "negative_balance"


def test_invalidating_a_timed_withdrawal_that_was_built_on_is_refused() -> None:
    wd = withdrawal(timeout=NOW + 300)
    prev = signed(state(pending_withdrawal_wei_user=1, tx_count_global=5, tx_count_chain=3,
                        timeout=NOW + 300))
    args = {"invalidTxCount": 4, "reason": "CU_INVALID_TIMEOUT", "withdrawal": wd.to_json()}
    assert _rejected(prev, "Invalidation", args, now=NOW + 301, invalidated_withdrawal=wd) == "bad_args"
    new = _apply(prev, "Invalidation", {**args, "invalidTxCount": 5}, now=NOW + 301,
                 invalidated_withdrawal=wd)
    assert (new.tx_count_global, new.tx_count_chain, new.timeout, new.balance_wei_hub) == (6, 2, 0, 1)


def test_a_withdrawal_timeout_of_one_is_a_timeout() -> None:
    # timeout 1 is a real (long expired) timeout, not the "no timeout" 0
    wd = withdrawal(timeout=1)
    prev = signed(state(pending_withdrawal_wei_user=1, tx_count_global=2, tx_count_chain=2, timeout=1))
    assert _rejected(prev, "Invalidation", _inval(prev), now=2) == "bad_args"  # needs its args
    assert _rejected(prev, "Invalidation", _inval(prev, wd=wd), now=1,
                     invalidated_withdrawal=wd) == "timeout_not_expired"
    new = _apply(prev, "Invalidation", _inval(prev, wd=wd), now=2, invalidated_withdrawal=wd)
    assert (new.timeout, new.pending_withdrawal_wei_user) == (0, 0)


def test_an_invalidation_that_would_leave_a_negative_balance_is_refused_with_its_code() -> None:
    # the withdrawal args decide who gets what back: here more tokens than the hub holds
    wd = withdrawal(target_token_user=100, timeout=NOW + 300)
    prev = signed(state(pending_withdrawal_token_user=5, tx_count_global=2, tx_count_chain=2,
                        timeout=NOW + 300))
    assert _rejected(prev, "Invalidation", _inval(prev, wd=wd), now=NOW + 301,
                     invalidated_withdrawal=wd) == "negative_balance"
