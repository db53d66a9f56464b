"""The collateral rules the mutation run found undefended: the reserve and hot-wallet alarms at
their thresholds, the top-up an exchange refusal asks for, and the sweep that tops up recipients
several payers pay — against the deployed contracts."""

from __future__ import annotations

from typing import Any

import pytest

from hub.chain.channel_manager import hub_reserves
from hub.channels.models import ProposedUpdate
from hub.collateral.services import collateralize_frequent_recipients, reserve_check
from ops.models import Alarm
from tests.chain_env import ETH, TOKEN, ChainEnv
from tests.hub.api.test_channel_flows import set_rate, user_deposit
from tests.hub.api.user_sim import UserSim
from tests.purchases.helpers import funded_user, pay_request

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]


def hot_wallet(env: ChainEnv) -> tuple[int, int]:
    """The hub account's own ETH and token balance (what pays gas and on-chain payouts)."""
    w3 = env.w3
    address = w3.to_checksum_address(env.hub.address)
    token = w3.eth.contract(address=w3.to_checksum_address(env.deployment.token), abi=[
        {"name": "balanceOf", "type": "function", "stateMutability": "view",
         "inputs": [{"name": "a", "type": "address"}], "outputs": [{"name": "", "type": "uint256"}]}])
    return w3.eth.get_balance(address), token.functions.balanceOf(address).call()


def test_each_alarm_names_what_is_short_and_is_raised_only_below_its_threshold(
        hub_chain: ChainEnv, settings: Any) -> None:
    wei, tokens = hub_reserves()
    hot_wei, hot_tokens = hot_wallet(hub_chain)
    assert min(wei, tokens, hot_wei, hot_tokens) > 0
    # exactly at every threshold: nothing is short
    settings.RESERVE_ALARM_WEI, settings.RESERVE_ALARM_TOKENS = wei, tokens
    settings.HOT_WALLET_ALARM_WEI, settings.HOT_WALLET_ALARM_TOKENS = hot_wei, hot_tokens
    assert reserve_check() == (wei, tokens)
    assert not Alarm.objects.exists()
    # one unit more each: four alarms, each naming its kind, asset and the amount found
    settings.RESERVE_ALARM_WEI, settings.RESERVE_ALARM_TOKENS = wei + 1, tokens + 1
    settings.HOT_WALLET_ALARM_WEI, settings.HOT_WALLET_ALARM_TOKENS = hot_wei + 1, hot_tokens + 1
    reserve_check()
    alarms = {(a.kind, a.key): a for a in Alarm.objects.all()}
    assert set(alarms) == {("low_reserve", "wei"), ("low_reserve", "token"),
                           ("low_hot_wallet", "wei"), ("low_hot_wallet", "token")}
    expected = {("low_reserve", "wei"): (Alarm.Severity.CRITICAL, wei),
                ("low_reserve", "token"): (Alarm.Severity.CRITICAL, tokens),
                ("low_hot_wallet", "wei"): (Alarm.Severity.CRITICAL, hot_wei),
                ("low_hot_wallet", "token"): (Alarm.Severity.WARNING, hot_tokens)}
    for where, (severity, amount) in expected.items():
        alarm = alarms[where]
        assert alarm.severity == severity, where
        assert str(amount) in alarm.message and str(amount + 1) in alarm.message, alarm.message


def test_an_exchange_refused_for_collateral_asks_for_the_tokens_it_needs(
        hub_chain: ChainEnv, settings: Any) -> None:
    """Selling 0.1 ETH at 200 tokens/ETH needs 20 tokens of the hub's: the top-up is sized for
    the exchange (more than the 10-token floor the policy alone would propose)."""
    set_rate("200")
    settings.DEPOSIT_EXCHANGE_CAP_TOKENS = 0
    sim = UserSim(hub_chain.new_user(eth=2 * ETH), hub_chain.deployment.channel_manager)
    sim.login()
    user_deposit(hub_chain, sim, wei=ETH // 10)
    refused = sim.post(f"channel/{sim.address}/request-exchange", {"weiToSell": str(ETH // 10)})
    assert (refused.status_code, refused.json()["code"]) == (409, "insufficient_collateral")
    top_up = ProposedUpdate.objects.get(channel__user=sim.address)
    assert (top_up.reason, top_up.status) == ("ProposePendingDeposit", ProposedUpdate.Status.OPEN)
    assert (top_up.args["depositTokenHub"], top_up.args["depositWeiHub"]) == (str(20 * TOKEN), "0")


def test_the_sweep_tops_up_recipients_that_two_payers_paid_recently(
        hub_chain: ChainEnv, movable_clock: Any) -> None:
    from tests.purchases.helpers import collateralize

    alice = funded_user(hub_chain, tokens=10 * TOKEN)
    bob = funded_user(hub_chain, tokens=10 * TOKEN)
    busy = funded_user(hub_chain, wei=ETH // 100)  # two payers, one of them in the channel
    collateralize(hub_chain, busy)
    also_busy = funded_user(hub_chain, wei=ETH // 100)  # two payers, held for collateral
    quiet = funded_user(hub_chain, wei=ETH // 100)  # one payer, twice
    custodial = funded_user(hub_chain, wei=ETH // 100)  # two payers, custodially
    for payer, recipient, ptype in ((alice, busy, "PT_OPTIMISTIC"), (bob, busy, "PT_CHANNEL"),
                                    (alice, also_busy, "PT_OPTIMISTIC"), (bob, also_busy, "PT_OPTIMISTIC"),
                                    (alice, quiet, "PT_OPTIMISTIC"), (alice, quiet, "PT_OPTIMISTIC"),
                                    (alice, custodial, "PT_CUSTODIAL"), (bob, custodial, "PT_CUSTODIAL")):
        response = payer.post("payments/purchase", {"meta": {}, "payments": [
            pay_request(payer, recipient.address, token=TOKEN, ptype=ptype)]})
        assert response.status_code == 200, response.content
    movable_clock.advance(3600)  # an hour later the payments are out of the window
    assert collateralize_frequent_recipients() == 0
    movable_clock.advance(-3600)
    assert collateralize_frequent_recipients(limit=0) == 0
    assert collateralize_frequent_recipients() == 2
    proposals = {p.channel.user: p for p in ProposedUpdate.objects.filter(status=ProposedUpdate.Status.OPEN)}
    assert set(proposals) == {busy.address, also_busy.address}
    # sized for two recent payers (the policy's floor per payer), less what the hub holds
    assert proposals[also_busy.address].args["depositTokenHub"] == str(2 * 10 * TOKEN)
    assert proposals[busy.address].args["depositTokenHub"] == str(2 * 10 * TOKEN - 8 * TOKEN)
    assert collateralize_frequent_recipients() == 0  # the open proposals cover the need
    assert ProposedUpdate.objects.filter(status=ProposedUpdate.Status.OPEN).count() == 2


def test_a_channel_used_recently_is_not_idle_however_old_its_earlier_states(
        hub_chain: ChainEnv, settings: Any) -> None:
    """Idleness is the age of the channel's latest state: older states that held the hub's
    collateral do not make a channel the user just paid from idle."""
    import time

    from django.utils import timezone

    from hub.channels.models import Channel, ChannelUpdate
    from hub.collateral.services import reclaim_idle_collateral
    from tests.purchases.helpers import collateralize

    sim = funded_user(hub_chain, wei=ETH // 10)
    collateralize(hub_chain, sim)
    shop = funded_user(hub_chain, wei=ETH // 100)
    time.sleep(3)
    response = sim.post("payments/purchase", {"meta": {}, "payments": [
        pay_request(sim, shop.address, wei=ETH // 1000, ptype="PT_CUSTODIAL")]})
    assert response.status_code == 200, response.content
    channel = Channel.objects.get(user=sim.address)
    latest = ChannelUpdate.objects.get(pk=channel.latest_update_id)
    older = ChannelUpdate.objects.filter(channel=channel).exclude(pk=latest.pk).order_by("-created_at")
    assert older.filter(balance_token_hub=10 * TOKEN).exists() and latest.balance_token_hub == 10 * TOKEN
    now = timezone.now()
    # idle means older than a moment between the collateral's states and the payment's
    settings.COLLATERAL_IDLE_RECLAIM_SECONDS = (
        (now - older[0].created_at) + (now - latest.created_at)).total_seconds() / 2
    assert reclaim_idle_collateral() == 0
    assert not ProposedUpdate.objects.filter(channel=channel, reason="ProposePendingWithdrawal").exists()
    settings.COLLATERAL_IDLE_RECLAIM_SECONDS = 0
    assert reclaim_idle_collateral() == 1
    assert ProposedUpdate.objects.filter(channel=channel, reason="ProposePendingWithdrawal").count() == 1


def test_at_or_above_the_floor_a_top_up_waits_until_it_brings_half_the_target(hub_chain: ChainEnv) -> None:
    """At the floor (10 tokens) a top-up of less than half the target waits; below the floor the
    same small top-up is proposed at once."""
    from hub.collateral.models import CollateralAssignment, CollateralProfile
    from hub.collateral.services import collateral_request
    from tests.purchases.helpers import collateralize

    bob = funded_user(hub_chain, wei=ETH // 10)
    collateralize(hub_chain, bob)
    assert bob.latest.balance_token_hub == 10 * TOKEN  # exactly the floor
    profile = CollateralProfile.objects.create(name="step", minimum_maintained_token=15 * TOKEN,
                                               amount_to_collateralize_token=18 * TOKEN)
    CollateralAssignment.objects.create(user=bob.address, profile=profile)
    assert collateral_request(user=bob.address) is None  # 8 tokens: less than half of 18
    alice = funded_user(hub_chain, tokens=10 * TOKEN)
    response = alice.post("payments/purchase", {"meta": {}, "payments": [
        pay_request(alice, bob.address, token=6 * TOKEN, ptype="PT_CHANNEL")]})
    assert response.status_code == 200, response.content
    CollateralProfile.objects.filter(pk=profile.pk).update(minimum_maintained_token=5 * TOKEN,
                                                           amount_to_collateralize_token=6 * TOKEN)
    proposal = collateral_request(user=bob.address)  # 4 tokens, below the floor: 2 more at once
    assert proposal is not None and proposal.args["depositTokenHub"] == str(2 * TOKEN)


def test_a_top_up_of_exactly_half_an_odd_target_is_made_in_whole_base_units(hub_chain: ChainEnv) -> None:
    """At the floor, the step is half the target rounded down to a base unit: with a target of
    20 tokens less one unit, a top-up of 10 tokens less one unit is exactly the step and is made."""
    from hub.collateral.models import CollateralAssignment, CollateralProfile
    from hub.collateral.services import collateral_request
    from tests.purchases.helpers import collateralize

    bob = funded_user(hub_chain, wei=ETH // 10)
    collateralize(hub_chain, bob)
    assert bob.latest.balance_token_hub == 10 * TOKEN  # exactly the floor
    profile = CollateralProfile.objects.create(name="odd", minimum_maintained_token=15 * TOKEN,
                                               amount_to_collateralize_token=20 * TOKEN - 1)
    CollateralAssignment.objects.create(user=bob.address, profile=profile)
    proposal = collateral_request(user=bob.address)
    assert proposal is not None and proposal.args["depositTokenHub"] == str(10 * TOKEN - 1)


def test_a_user_without_a_channel_yet_is_offered_the_floor(hub_chain: ChainEnv) -> None:
    """Collateral asked for before any deposit (the channel has no state yet): the hub holds
    nothing there, so the top-up is the policy's floor, on the channel the proposal opens."""
    from eth_account import Account

    from hub.channels.models import Channel
    from hub.collateral.services import collateral_request

    user = Account.create().address  # checksummed, as a client may send it
    assert not Channel.objects.filter(user=user.lower()).exists()
    proposal = collateral_request(user=user)
    assert proposal is not None and proposal.args["depositTokenHub"] == str(10 * TOKEN)
    assert proposal.channel.user == user.lower()


def test_the_reserve_covers_a_top_up_of_exactly_its_size_and_one_unit_more_raises_the_alarm(
        hub_chain: ChainEnv) -> None:
    from eth_account import Account

    from hub.collateral.models import CollateralAssignment, CollateralProfile
    from hub.collateral.services import collateral_request

    _wei, reserve = hub_reserves()
    user = Account.create().address.lower()
    profile = CollateralProfile.objects.create(name="all of it", minimum_maintained_token=reserve + 1,
                                               amount_to_collateralize_token=reserve + 1)
    CollateralAssignment.objects.create(user=user, profile=profile)
    assert collateral_request(user=user) is None
    alarm = Alarm.objects.get(kind="low_reserve", key="token")
    assert alarm.severity == Alarm.Severity.CRITICAL
    assert str(reserve) in alarm.message and str(reserve + 1) in alarm.message, alarm.message
    assert not ProposedUpdate.objects.filter(channel__user=user).exists()
    CollateralProfile.objects.filter(pk=profile.pk).update(minimum_maintained_token=reserve,
                                                           amount_to_collateralize_token=reserve)
    proposal = collateral_request(user=user)
    assert proposal is not None and proposal.args["depositTokenHub"] == str(reserve)


def test_a_top_up_of_one_base_unit_is_proposed(hub_chain: ChainEnv) -> None:
    """An exchange that needs one base unit more than the hub holds gets exactly that unit."""
    from hub.collateral.services import collateral_request
    from tests.purchases.helpers import collateralize

    bob = funded_user(hub_chain, wei=ETH // 10)
    collateralize(hub_chain, bob)
    assert bob.latest.balance_token_hub == 10 * TOKEN
    proposal = collateral_request(user=bob.address, target=10 * TOKEN + 1)
    assert proposal is not None and proposal.args["depositTokenHub"] == "1"
