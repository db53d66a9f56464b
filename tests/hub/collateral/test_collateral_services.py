"""Collateral top-ups, reclaim and the reserve alarms against the deployed contract."""

from __future__ import annotations

import pytest

from hub.channels.models import ProposedUpdate
from hub.collateral.models import CollateralAssignment, CollateralProfile
from hub.collateral.services import (
    collateral_request,
    collateralize_frequent_recipients,
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


def idle_channel(*, token_hub: int = 0, wei_hub: int = 0, status: str = "open") -> str:
    """A channel whose latest state (double-signed, written directly: no chain round trip per
    channel) holds these hub balances; returns its user."""
    import secrets

    from django.db import transaction

    from hub.chain.signer import hub_state_signer
    from hub.channels.models import Channel, ChannelUpdate
    from hub.channels.records import contract_address
    from hub.core import ZERO_ROOT, ChannelState
    from hub.core.hashing import channel_state_hash
    from hub.core.signing import Signer

    user = Signer(secrets.token_bytes(32))
    address = user.address.lower()
    state = ChannelState(contract_address=contract_address(), user=address, recipient=address,
                         balance_wei_hub=wei_hub, balance_token_hub=token_hub, tx_count_global=1,
                         tx_count_chain=1, thread_root=ZERO_ROOT)
    state = user.sign_channel_state(hub_state_signer().sign_channel_state(state), as_party="user")
    with transaction.atomic():
        channel = Channel.objects.create(contract=contract_address(), user=address, status=status)
        update = ChannelUpdate.objects.create(
            channel=channel, reason="ConfirmPending", originator=address, recipient=address,
            balance_wei_hub=wei_hub, balance_token_hub=token_hub, tx_count_global=1,
            tx_count_chain=1, thread_root=ZERO_ROOT, state_hash=channel_state_hash(state),
            sig_hub=state.sig_hub, sig_user=state.sig_user)
        Channel.objects.filter(pk=channel.pk).update(latest_update=update)
    return address


def test_a_reclaim_run_takes_twenty_open_channels_holding_hub_tokens(
        hub_chain: ChainEnv, settings: object) -> None:
    """Only open channels whose hub token balance is above zero (one base unit is enough); a
    channel holding only the hub's wei, or in a dispute, is not proposed; at most 20 per run."""
    wei_only = idle_channel(wei_hub=ETH // 100)
    disputed = idle_channel(token_hub=TOKEN, status="channel_dispute")
    users = [idle_channel(token_hub=1) for _ in range(21)]
    settings.COLLATERAL_IDLE_RECLAIM_SECONDS = 0  # type: ignore[attr-defined]
    assert reclaim_idle_collateral() == 20
    proposed = set(ProposedUpdate.objects.filter(reason="ProposePendingWithdrawal")
                   .values_list("channel__user", flat=True))
    assert len(proposed) == 20 and proposed < set(users)
    assert wei_only not in proposed and disputed not in proposed


def test_a_sweep_of_frequent_recipients_tops_up_at_most_fifty(hub_chain: ChainEnv) -> None:
    """51 recipients with a channel, each paid by the same two payers just now: one sweep
    proposes 50 top-ups."""
    import secrets

    from hub.purchases.models import Payment, Purchase

    payers = [idle_channel(), idle_channel()]
    recipients = [idle_channel() for _ in range(51)]
    purchase = Purchase.objects.create(id="pur_" + secrets.token_hex(16), sender=payers[0], meta={})
    Payment.objects.bulk_create([
        Payment(purchase=purchase, sender=payer, recipient=recipient, amount_token=TOKEN,
                type="PT_OPTIMISTIC", status="pending")
        for recipient in recipients for payer in payers])
    assert collateralize_frequent_recipients() == 50
    assert ProposedUpdate.objects.filter(reason="ProposePendingDeposit").count() == 50
