"""Exits the hub starts itself: from the admin, for stale channels (threshold and per-run cap),
never below a newer half-signed state; the challenge period runs and the latest state is paid."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from web3 import Web3

from hub.chain.channel_manager import authorized_update_args
from hub.chain.deploy import contract_at, mint_tokens, send_transaction
from hub.chain.ingest import events_poll
from hub.channels.errors import ChannelError
from hub.channels.models import Channel, ChannelUpdate
from hub.channels.reconciliation import reconcile_channels
from hub.disputes.models import ChannelDispute
from hub.disputes.services import channels_exit_stale, dispute_exit_channel, disputes_watch
from ops.models import Alarm
from tests.chain_env import ETH, TOKEN, ChainEnv
from tests.hub.api.test_channel_flows import last_item, now_of
from tests.hub.api.user_sim import UserSim
from tests.hub.disputes.conftest import (
    CHALLENGE_PERIOD,
    Balances,
    hub_tick,
    latest_state,
    pay_hub,
    user_chain,
)
from tests.purchases.helpers import accept_hub_updates, funded_user

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]


def test_a_hub_exit_waits_for_the_closing_time_and_pays_out_the_latest_state(own_chain: ChainEnv) -> None:
    env = own_chain
    sim = funded_user(env, wei=ETH, tokens=5 * TOKEN)
    pay_hub(env, sim, 4)
    latest = latest_state(sim)
    balances = Balances(env, sim.address)
    before = balances.read()

    dispute = dispute_exit_channel(user=sim.address, reason="test")
    assert dispute.status == "pending" and dispute.exit_update_id == Channel.objects.get().latest_update_id
    assert dispute.start_transaction is not None
    assert dispute.start_transaction.purpose == "dispute_start_exit_with_update"  # newer than the chain's
    assert Channel.objects.get().status == Channel.Status.CHANNEL_DISPUTE
    hub_tick()
    dispute.refresh_from_db()
    assert (dispute.status, dispute.onchain_tx_count_global) == ("in_period", latest.tx_count_global)
    started = env.w3.eth.get_block(dispute.start_transaction.block_number)["timestamp"]
    assert dispute.closing_time == started + CHALLENGE_PERIOD

    disputes_watch()  # the period runs: the hub has nothing to do
    hub_tick()
    dispute.refresh_from_db()
    assert dispute.status == "in_period" and dispute.answer_transaction is None

    env.mine(CHALLENGE_PERIOD + 1)
    disputes_watch()
    hub_tick()
    dispute.refresh_from_db()
    assert (dispute.status, dispute.answer_kind) == ("finished", "empty")
    after = balances.read()
    assert after["user_wei"] == before["user_wei"] + latest.balance_wei_user  # the user paid no gas
    assert after["user_token"] == before["user_token"] + latest.balance_token_user
    assert after["reserve_wei"] == before["reserve_wei"] + latest.balance_wei_hub
    assert after["reserve_token"] == before["reserve_token"] + latest.balance_token_hub
    assert Channel.objects.get().status == Channel.Status.OPEN
    assert reconcile_channels().ok


def _deposit_without_confirming(env: ChainEnv, sim: UserSim, tokens: int) -> None:
    """A user deposit that reaches the chain; the hub's ConfirmPending stays half-signed."""
    mint_tokens(env.w3, env.hub, env.deployment.token, sim.account.address, tokens)
    sig = sim.signer.sign_deposit_request(tokens, 0)
    item = last_item(sim.post(f"channel/{sim.address}/request-deposit",
                              {"depositWei": "0", "depositToken": str(tokens), "sigUser": sig}))
    request = sim.accept(item, now=now_of(env))
    state = sim.state
    assert state is not None
    token = contract_at(env.w3, "SpokeTestToken", env.deployment.token)
    send_transaction(env.w3, sim.account, token.functions.approve(
        env.deployment.channel_manager, tokens).build_transaction({"from": sim.account.address}))
    manager = contract_at(env.w3, "ChannelManager", env.deployment.channel_manager)
    send_transaction(env.w3, sim.account, manager.functions.userAuthorizedUpdate(
        Web3.to_checksum_address(state.recipient), *authorized_update_args(state)[2:], state.sig_hub,
    ).build_transaction({"from": sim.account.address}))
    assert sim.post(f"channel/{sim.address}/update", {"updates": [request]}).status_code == 200
    events_poll()


def test_the_hub_never_exits_below_a_newer_half_signed_state(own_chain: ChainEnv) -> None:
    env = own_chain
    sim = funded_user(env, tokens=5 * TOKEN)
    _deposit_without_confirming(env, sim, 2 * TOKEN)
    assert latest_state(sim).sig_user is None  # ConfirmPending, hub-signed only
    with pytest.raises(ChannelError) as refused:
        dispute_exit_channel(user=sim.address, reason="test")
    assert refused.value.code == "latest_state_not_exitable"
    assert not ChannelDispute.objects.exists()
    assert Channel.objects.get().status == Channel.Status.OPEN

    assert accept_hub_updates(env, sim) == ["ConfirmPending"]
    dispute = dispute_exit_channel(user=sim.address, reason="test")
    assert dispute.exit_update_id == Channel.objects.get().latest_update_id
    with pytest.raises(ChannelError) as twice:
        dispute_exit_channel(user=sim.address, reason="again")
    assert twice.value.code == "channel_not_open"


def test_stale_channels_are_exited_richest_first_above_the_threshold_and_capped_per_run(
    own_chain: ChainEnv, settings: Any,
) -> None:
    env = own_chain
    settings.STALE_CHANNEL_SECONDS = 3600
    settings.STALE_CHANNEL_MIN_HUB_TOKENS = 1
    settings.STALE_EXITS_PER_RUN = 1
    small, rich, poor = (funded_user(env, tokens=10 * TOKEN) for _ in range(3))
    pay_hub(env, small, 2, wei=0, token=TOKEN)
    pay_hub(env, rich, 5, wei=0, token=TOKEN)
    pay_hub(env, poor, 1, wei=0, token=TOKEN // 2)  # below the threshold

    assert channels_exit_stale() == []  # nobody is silent yet
    later = timezone.now() + timedelta(seconds=3601)
    first = channels_exit_stale(now=later)
    assert [d.channel.user for d in first] == [rich.address]
    second = channels_exit_stale(now=later)
    assert [d.channel.user for d in second] == [small.address]
    assert channels_exit_stale(now=later) == []
    assert set(Channel.objects.filter(status="channel_dispute").values_list("user", flat=True)) == {
        rich.address, small.address}
    hub_tick()
    assert set(ChannelDispute.objects.values_list("status", "initiator", "reason")) == {
        ("in_period", "hub", "stale channel")}


def test_an_operator_exits_a_channel_from_the_admin(own_chain: ChainEnv, admin_client: Client) -> None:
    env = own_chain
    sim = funded_user(env, tokens=3 * TOKEN)
    channel = Channel.objects.get(user=sim.address)
    response = admin_client.post("/admin/hub/channel/", {
        "action": "exit_channels", "_selected_action": [str(channel.pk)]}, follow=True)
    assert response.status_code == 200
    assert b"exit queued" in response.content
    dispute = ChannelDispute.objects.get()
    assert (dispute.initiator, dispute.status) == ("hub", "pending")
    assert dispute.reason.startswith("operator ")
    assert dispute.start_transaction is not None
    assert dispute.start_transaction.purpose == "dispute_start_exit_with_update"  # chain: #1, ours: #2
    assert admin_client.get(f"/admin/hub/channeldispute/{dispute.pk}/change/").status_code == 200
    hub_tick()
    dispute.refresh_from_db()
    assert dispute.status == "in_period"


def test_a_hub_exit_that_loses_the_race_to_the_users_exit_gives_way_to_it(own_chain: ChainEnv) -> None:
    env = own_chain
    sim = funded_user(env, tokens=5 * TOKEN)
    pay_hub(env, sim, 3, wei=0, token=TOKEN)
    latest = latest_state(sim)
    ours = dispute_exit_channel(user=sim.address, reason="test")  # queued, not sent yet
    stale = ChannelUpdate.objects.get(channel__user=sim.address, tx_count_global=latest.tx_count_global - 2)
    user_chain(env, sim).start_exit_with_update(stale.state)
    hub_tick()
    ours.refresh_from_db()
    assert ours.status == "failed" and "superseded" in ours.failure_reason
    assert ours.start_transaction is not None and ours.start_transaction.state == "failed"
    theirs = ChannelDispute.objects.exclude(pk=ours.pk).get()
    assert (theirs.initiator, theirs.status, theirs.answer_kind) == ("user", "finished", "challenge")
    assert not Alarm.objects.filter(kind="dispute_start_failed").exists()
    assert Channel.objects.get().status == Channel.Status.OPEN
