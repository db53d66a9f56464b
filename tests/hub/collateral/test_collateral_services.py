"""Collateral top-ups, reclaim and the reserve alarms against the deployed contract."""

from __future__ import annotations

import pytest

from hub.channels.models import ProposedUpdate
from hub.collateral.models import CollateralAssignment, CollateralProfile
from hub.collateral.services import (
    collateral_request,
    reclaim_idle_collateral,
    reserve_check,
)
from ops.models import Alarm
from tests.chain_env import ETH, TOKEN, ChainEnv
from tests.hub.api.test_channel_flows import last_item, now_of
from tests.purchases.helpers import collateralize, funded_user

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]


def test_a_top_up_is_proposed_once_for_the_same_need(hub_chain: ChainEnv) -> None:
    sim = funded_user(hub_chain, wei=ETH // 10)
    first = collateral_request(user=sim.address)
    assert first is not None and first.args["depositTokenHub"] == str(10 * TOKEN)
    assert collateral_request(user=sim.address) is None
    assert ProposedUpdate.objects.filter(channel__user=sim.address).count() == 1


def test_no_top_up_on_top_of_pending_operations(hub_chain: ChainEnv) -> None:
    sim = funded_user(hub_chain, wei=0, tokens=0)
    sig = sim.signer.sign_deposit_request(0, ETH // 10)
    last_item(sim.post(f"channel/{sim.address}/request-deposit",
                       {"depositWei": str(ETH // 10), "depositToken": "0", "sigUser": sig}))
    assert collateral_request(user=sim.address) is None
    assert not ProposedUpdate.objects.filter(channel__user=sim.address).exists()


def test_an_operator_profile_replaces_the_policy(hub_chain: ChainEnv) -> None:
    sim = funded_user(hub_chain, wei=ETH // 10)
    profile = CollateralProfile.objects.create(name="big shop", minimum_maintained_token=50 * TOKEN,
                                               amount_to_collateralize_token=120 * TOKEN)
    CollateralAssignment.objects.create(user=sim.address, profile=profile)
    proposal = collateral_request(user=sim.address)
    assert proposal is not None and proposal.args["depositTokenHub"] == str(120 * TOKEN)


def test_idle_collateral_is_proposed_back_to_the_reserve(hub_chain: ChainEnv, settings: object) -> None:
    sim = funded_user(hub_chain, wei=ETH // 10)
    collateralize(hub_chain, sim)
    assert sim.latest.balance_token_hub == 10 * TOKEN
    assert reclaim_idle_collateral() == 0  # not idle yet
    settings.COLLATERAL_IDLE_RECLAIM_SECONDS = 0  # type: ignore[attr-defined]
    assert reclaim_idle_collateral() == 1
    item = last_item(sim.get(f"channel/{sim.address}/sync?lastChanTx={sim.latest.tx_count_global}"))
    assert item["update"]["reason"] == "ProposePendingWithdrawal"
    state = sim.regenerate(item, now=now_of(hub_chain))
    assert state.balance_token_hub == 0 and state.pending_withdrawal_token_hub == 10 * TOKEN
    assert (state.balance_token_user, state.balance_wei_user) == (sim.latest.balance_token_user,
                                                                   sim.latest.balance_wei_user)


def test_a_low_reserve_raises_an_alarm(hub_chain: ChainEnv, settings: object) -> None:
    reserve_check()
    assert not Alarm.objects.filter(kind="low_reserve").exists()
    settings.RESERVE_ALARM_TOKENS = 10**30  # type: ignore[attr-defined]
    _wei, tokens = reserve_check()
    alarm = Alarm.objects.get(kind="low_reserve", key="token")
    assert alarm.severity == "critical" and str(tokens) in alarm.message
