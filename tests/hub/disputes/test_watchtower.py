"""The watchtower on anvil with time travel: a user who exits with an old state is challenged
with the hub's latest one, and the contract pays out the latest state to the wei."""

from __future__ import annotations

import pytest

from hub.chain.models import ChainTransaction
from hub.channels.models import Channel, ChannelUpdate
from hub.channels.reconciliation import reconcile_channels
from hub.disputes.models import ChannelDispute
from hub.disputes.services import disputes_watch
from ops.models import Alarm
from tests.chain_env import ETH, TOKEN, ChainEnv
from tests.hub.api.test_channel_flows import user_deposit
from tests.hub.disputes.conftest import (
    CHALLENGE_PERIOD,
    Balances,
    accept_empty_channel,
    gas_paid,
    hub_tick,
    latest_state,
    pay_hub,
    stored_state,
    user_chain,
)
from tests.purchases.helpers import funded_user

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("k", [1, 5, 50])
def test_a_user_exiting_with_a_state_k_updates_old_is_paid_the_latest_state(own_chain: ChainEnv, k: int) -> None:
    env = own_chain
    sim = funded_user(env, wei=ETH, tokens=10 * TOKEN)
    pay_hub(env, sim, k + 2)
    latest = latest_state(sim)
    assert latest.is_double_signed and latest.timeout == 0
    stale = stored_state(sim, latest.tx_count_global - k)
    assert stale.balance_token_user > latest.balance_token_user  # the old state pays the user more
    assert stale.balance_wei_user >= latest.balance_wei_user
    balances = Balances(env, sim.address)
    before = balances.read()

    # The misbehaving client exits with the old state.
    exit_tx = user_chain(env, sim).start_exit_with_update(stale)
    hub_tick()  # ingest DidStartExitChannel -> challenge queued -> sent -> DidEmptyChannel ingested

    dispute = ChannelDispute.objects.get()
    assert (dispute.status, dispute.initiator, dispute.answer_kind) == ("finished", "user", "challenge")
    assert dispute.onchain_tx_count_global == latest.tx_count_global - k
    assert dispute.exit_update is not None and dispute.exit_update.tx_count_global == latest.tx_count_global
    answer = dispute.answer_transaction
    assert answer is not None and answer.state == ChainTransaction.State.CONFIRMED
    assert answer.block_number is not None
    assert env.w3.eth.get_block(answer.block_number)["timestamp"] < dispute.closing_time

    after = balances.read()
    assert after["user_wei"] == before["user_wei"] - gas_paid(env, exit_tx) + latest.balance_wei_user
    assert after["user_token"] == before["user_token"] + latest.balance_token_user
    assert after["reserve_wei"] == before["reserve_wei"] + latest.balance_wei_hub
    assert after["reserve_token"] == before["reserve_token"] + latest.balance_token_hub
    assert (after["deferred_wei"], after["deferred_token"]) == (0, 0)

    empty = ChannelUpdate.objects.get(channel__user=sim.address, reason="EmptyChannel")
    assert empty.tx_count_global == latest.tx_count_global + 1
    assert dispute.empty_update_id == empty.pk
    assert (empty.balance_wei_user, empty.balance_token_user, empty.balance_wei_hub) == (0, 0, 0)
    assert Channel.objects.get(user=sim.address).status == Channel.Status.OPEN
    assert reconcile_channels().ok
    assert not Alarm.objects.filter(kind="dispute_lost").exists()


def test_a_user_exiting_with_the_latest_state_is_emptied_at_once_and_can_deposit_again(own_chain: ChainEnv) -> None:
    env = own_chain
    sim = funded_user(env, tokens=5 * TOKEN)
    pay_hub(env, sim, 2, wei=0, token=TOKEN)
    latest = latest_state(sim)
    balances = Balances(env, sim.address)
    before = balances.read()

    user_chain(env, sim).start_exit_with_update(latest)
    hub_tick()  # nothing newer to challenge with: the hub, not the initiator, empties at once

    dispute = ChannelDispute.objects.get()
    assert (dispute.status, dispute.answer_kind) == ("finished", "empty")
    after = balances.read()
    assert after["user_token"] == before["user_token"] + latest.balance_token_user == before["user_token"] + 3 * TOKEN
    assert after["reserve_token"] == before["reserve_token"] + 2 * TOKEN

    # The user countersigns EmptyChannel on sync and deposits again on top of it.
    sim.state = latest
    accept_empty_channel(env, sim)
    assert ChannelUpdate.objects.get(reason="EmptyChannel").sig_user == sim.state.sig_user
    user_deposit(env, sim, tokens=2 * TOKEN)
    assert sim.latest.balance_token_user == 2 * TOKEN
    assert sim.latest.tx_count_global == latest.tx_count_global + 3
    assert reconcile_channels().ok


def test_the_channel_refuses_updates_while_in_dispute(own_chain: ChainEnv) -> None:
    env = own_chain
    sim = funded_user(env, tokens=5 * TOKEN)
    pay_hub(env, sim, 3, wei=0, token=TOKEN)
    stale = stored_state(sim, latest_state(sim).tx_count_global - 2)
    user_chain(env, sim).start_exit_with_update(stale)
    from hub.chain.ingest import events_poll

    events_poll()  # the start is ingested; the answer is queued but not sent yet
    assert Channel.objects.get(user=sim.address).status == Channel.Status.CHANNEL_DISPUTE
    sig = sim.signer.sign_deposit_request(TOKEN, 0)
    response = sim.post(f"channel/{sim.address}/request-deposit",
                        {"depositWei": "0", "depositToken": str(TOKEN), "sigUser": sig})
    assert response.status_code == 409 and response.json()["code"] == "channel_not_open"
    sync = sim.get(f"channel/{sim.address}/sync?lastChanTx=0").json()
    assert sync["status"] == "CS_CHANNEL_DISPUTE"
    dispute = ChannelDispute.objects.get()
    assert dispute.status == "in_period" and dispute.answer_transaction is not None
    assert dispute.answer_transaction.state == ChainTransaction.State.NEW  # durable before sending


def test_an_answer_that_fails_is_decided_again_until_the_channel_is_emptied(own_chain: ChainEnv) -> None:
    env = own_chain
    sim = funded_user(env, tokens=5 * TOKEN)
    pay_hub(env, sim, 3, wei=0, token=TOKEN)
    latest = latest_state(sim)
    stale = stored_state(sim, latest.tx_count_global - 2)
    balances = Balances(env, sim.address)
    before = balances.read()
    user_chain(env, sim).start_exit_with_update(stale)
    from hub.chain.ingest import events_poll

    events_poll()
    dispute = ChannelDispute.objects.get()
    first = dispute.answer_transaction
    assert first is not None and dispute.answer_kind == "challenge"
    # The hub's challenge is sent only after the period: it reverts, and the watchtower empties.
    env.mine(CHALLENGE_PERIOD + 5)
    hub_tick()
    first.refresh_from_db()
    assert first.state == ChainTransaction.State.FAILED
    assert "closing time" in first.revert_reason
    disputes_watch()
    dispute.refresh_from_db()
    assert (dispute.answer_kind, dispute.answer_attempts) == ("empty", 2)
    hub_tick()
    dispute.refresh_from_db()
    assert dispute.status == "finished"
    # Too late: the stale state was paid out, and the operator is told.
    after = balances.read()
    assert after["user_token"] == before["user_token"] + stale.balance_token_user
    assert Alarm.objects.filter(kind="dispute_lost", severity="critical").exists()
    assert ChannelUpdate.objects.get(reason="EmptyChannel").tx_count_global == stale.tx_count_global + 1
    assert ChannelUpdate.objects.filter(tx_count_global__gt=stale.tx_count_global,
                                        invalid="CU_INVALID_ERROR").count() == 2
    assert reconcile_channels().ok


def test_a_plain_start_exit_is_challenged_with_the_latest_state(own_chain: ChainEnv) -> None:
    env = own_chain
    sim = funded_user(env, tokens=5 * TOKEN)
    pay_hub(env, sim, 3, wei=0, token=TOKEN)
    latest = latest_state(sim)
    balances = Balances(env, sim.address)
    before = balances.read()
    user_chain(env, sim).start_exit(sim.address)  # the contract's own state: the first deposit
    hub_tick()
    dispute = ChannelDispute.objects.get()
    assert (dispute.status, dispute.answer_kind, dispute.onchain_tx_count_global) == ("finished", "challenge", 1)
    after = balances.read()
    assert after["user_token"] == before["user_token"] + latest.balance_token_user == before["user_token"] + 2 * TOKEN
    assert after["reserve_token"] == before["reserve_token"] + 3 * TOKEN


def test_an_unmined_challenge_close_to_the_deadline_is_bumped_and_alarmed(own_chain: ChainEnv) -> None:
    env = own_chain
    sim = funded_user(env, tokens=5 * TOKEN)
    pay_hub(env, sim, 3, wei=0, token=TOKEN)
    latest = latest_state(sim)
    user_chain(env, sim).start_exit_with_update(stored_state(sim, latest.tx_count_global - 1))
    from hub.chain.ingest import events_poll

    events_poll()  # queued, but the message to send it is lost
    dispute = ChannelDispute.objects.get()
    disputes_watch()  # plenty of time left: nothing to do
    assert dispute.answer_transaction is not None
    dispute.answer_transaction.refresh_from_db()
    assert dispute.answer_transaction.state == ChainTransaction.State.NEW
    assert not Alarm.objects.filter(kind="dispute_answer_late").exists()
    env.mine(CHALLENGE_PERIOD - 20)  # 20 s left, inside the 30 s margin
    disputes_watch()
    assert Alarm.objects.filter(kind="dispute_answer_late", severity="critical").exists()
    dispute.answer_transaction.refresh_from_db()
    assert dispute.answer_transaction.state != ChainTransaction.State.NEW  # sent by the bump
    hub_tick()
    dispute.refresh_from_db()
    assert (dispute.status, dispute.answer_kind, dispute.answer_attempts) == ("finished", "challenge", 1)
    assert ChannelUpdate.objects.get(reason="EmptyChannel").tx_count_global == latest.tx_count_global + 1
