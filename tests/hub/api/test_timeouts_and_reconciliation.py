"""Pending states that time out (by block time) are invalidated and the channel keeps working;
token withdrawals; reconciliation catches a one-wei difference."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from web3 import Web3

from hub.chain.channel_manager import authorized_update_args
from hub.chain.deploy import contract_at, send_transaction
from hub.chain.models import ChainEvent
from hub.channels.confirmations import channels_invalidate_timed_out
from hub.channels.models import ChannelUpdate
from hub.channels.reconciliation import reconcile_channels
from hub.ledger.models import LedgerEntry
from ops.models import Alarm
from stack.embedded import Anvil
from tests.chain_env import (
    ETH,
    TOKEN,
    ChainEnv,
    clear_chain_caches,
    deploy_chain_env,
    point_settings_at,
)
from tests.hub.api.test_channel_flows import (
    confirm_from_chain,
    ingest_all,
    last_item,
    now_of,
    run_hub_transactions,
    set_rate,
    user_deposit,
)
from tests.hub.api.user_sim import UserSim

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def own_chain(settings: object, tmp_path: Path) -> Iterator[ChainEnv]:
    """A private anvil (this test moves its clock) with freshly deployed contracts."""
    node = Anvil().start()
    try:
        env = deploy_chain_env(node, tmp_path)
        point_settings_at(settings, env)
        yield env
    finally:
        clear_chain_caches()
        node.stop()


def test_a_timed_out_deposit_is_invalidated_and_the_channel_keeps_working(own_chain: ChainEnv) -> None:
    env = own_chain
    sim = UserSim(env.new_user(eth=5 * ETH), env.deployment.channel_manager)
    sim.login()
    sig = sim.signer.sign_deposit_request(0, ETH)
    item = last_item(sim.post(f"channel/{sim.address}/request-deposit",
                              {"depositWei": str(ETH), "depositToken": "0", "sigUser": sig}))
    request = sim.accept(item, now=now_of(env))
    assert sim.post(f"channel/{sim.address}/update", {"updates": [request]}).status_code == 200
    # The user never sends the deposit. Before the timeout nothing happens...
    assert channels_invalidate_timed_out() == 0
    env.mine(seconds=301)
    ingest_all()
    # ...after it, by the ingested block's time, the hub invalidates the pending deposit.
    assert channels_invalidate_timed_out() == 1
    assert channels_invalidate_timed_out() == 0
    item = last_item(sim.get(f"channel/{sim.address}/sync?lastChanTx={sim.latest.tx_count_global}"))
    assert item["update"]["reason"] == "Invalidation"
    assert item["update"]["args"]["reason"] == "CU_INVALID_TIMEOUT"
    request = sim.accept(item, now=now_of(env))
    assert sim.post(f"channel/{sim.address}/update", {"updates": [request]}).status_code == 200
    assert not sim.latest.has_pending_ops and sim.latest.balance_wei_user == 0
    assert ChannelUpdate.objects.get(channel__user=sim.address, tx_count_global=1).invalid == "CU_INVALID_TIMEOUT"

    user_deposit(env, sim, wei=ETH)
    assert sim.latest.balance_wei_user == ETH
    assert reconcile_channels().ok


def test_a_stuck_handler_of_another_channels_event_does_not_hold_back_this_channels_timeout(
        own_chain: ChainEnv) -> None:
    """Another channel's event failed in its handler at a block before this channel's timeout
    passed: it holds back that channel's timeouts (and alarms), not this one's."""
    env = own_chain
    sim = UserSim(env.new_user(eth=5 * ETH), env.deployment.channel_manager)
    sim.login()
    _propose_deposit(env, sim, ETH)
    env.mine(seconds=1)
    ingest_all()
    other = env.new_user(eth=ETH).address.lower()
    stuck_block = int(env.w3.eth.block_number)
    stuck = ChainEvent.objects.create(
        contract=env.deployment.channel_manager.lower(), name="DidStartExitChannel",
        block_number=stuck_block, block_hash=env.w3.eth.get_block(stuck_block)["hash"].to_0x_hex(),
        tx_hash="0x" + uuid.uuid4().hex * 2, tx_index=0, log_index=0,
        args={"user": other, "senderIdx": "1"}, state=ChainEvent.State.FAILED, attempts=3,
        error="RuntimeError: the handler cannot decode it",
        retry_at=timezone.now() + timedelta(days=1))
    env.mine(seconds=301)
    ingest_all()
    assert channels_invalidate_timed_out() == 1  # sim's timeout passed; other's event is not sim's
    item = last_item(sim.get(f"channel/{sim.address}/sync?lastChanTx={sim.latest.tx_count_global}"))
    assert item["update"]["args"]["reason"] == "CU_INVALID_TIMEOUT"
    # an event naming sim holds sim's timeouts back, and says so
    other_sim = UserSim(env.new_user(eth=5 * ETH), env.deployment.channel_manager)
    other_sim.login()
    _propose_deposit(env, other_sim, ETH)
    env.mine(seconds=1)
    ingest_all()
    ChainEvent.objects.filter(pk=stuck.pk).update(block_number=int(env.w3.eth.block_number),
                                                  args={"user": other_sim.address.lower()})
    env.mine(seconds=301)
    ingest_all()
    assert channels_invalidate_timed_out() == 0
    alarm = Alarm.objects.get(kind="timeouts_held")
    assert other_sim.address.lower() in alarm.message and alarm.severity == "critical"
    ChainEvent.objects.filter(pk=stuck.pk).update(state=ChainEvent.State.PROCESSED)
    assert channels_invalidate_timed_out() == 1


def _propose_deposit(env: ChainEnv, sim: UserSim, wei: int) -> dict[str, object]:
    """The hub-signed pending deposit (countersigned), not yet sent on-chain; its sync item."""
    sig = sim.signer.sign_deposit_request(0, wei)
    item = last_item(sim.post(f"channel/{sim.address}/request-deposit", {
        "depositWei": str(wei), "depositToken": "0", "sigUser": sig,
        "lastChanTx": sim.latest.tx_count_global, "lastThreadUpdateId": 0}))
    request = sim.accept(item, now=now_of(env))
    assert sim.post(f"channel/{sim.address}/update", {"updates": [request]}).status_code == 200
    return item


def test_a_deposit_mined_before_its_timeout_is_confirmed_not_invalidated_while_its_event_awaits_confirmations(
        own_chain: ChainEnv, settings: object) -> None:
    """CONFIRMATIONS=3: the latest block runs ahead of the ingester. The deposit is mined just
    before its timeout; the next block passes the timeout. Judged by the latest block the hub
    would invalidate a deposit that happened; judged by the ingested head it waits for the event."""
    env = own_chain
    settings.CONFIRMATIONS = 3  # type: ignore[attr-defined]
    sim = UserSim(env.new_user(eth=5 * ETH), env.deployment.channel_manager)
    sim.login()
    _propose_deposit(env, sim, ETH)
    state = sim.state
    assert state is not None and state.timeout > 0
    manager = contract_at(env.w3, "ChannelManager", env.deployment.channel_manager)
    env.w3.provider.make_request("evm_setNextBlockTimestamp", [state.timeout - 1])  # type: ignore[arg-type]
    receipt = send_transaction(env.w3, sim.account, manager.functions.userAuthorizedUpdate(
        Web3.to_checksum_address(state.recipient), *authorized_update_args(state)[2:], state.sig_hub,
    ).build_transaction({"from": sim.account.address, "value": ETH}))
    assert env.w3.eth.get_block(receipt["blockNumber"])["timestamp"] < state.timeout
    env.mine(seconds=301)
    assert now_of(env) > state.timeout
    ingest_all()  # reads up to head - 3: the deposit's block is not ingested yet
    assert not ChainEvent.objects.filter(name="DidUpdateChannel").exists()
    assert channels_invalidate_timed_out() == 0
    assert not ChannelUpdate.objects.filter(channel__user=sim.address, reason="Invalidation").exists()
    for _ in range(3):
        env.mine()
    ingest_all()
    assert channels_invalidate_timed_out() == 0
    reasons = list(ChannelUpdate.objects.filter(channel__user=sim.address)
                   .order_by("tx_count_global").values_list("reason", "invalid"))
    assert reasons == [("ProposePendingDeposit", None), ("ConfirmPending", None)]
    confirmed = last_item(sim.get(f"channel/{sim.address}/sync?lastChanTx={sim.latest.tx_count_global}"))
    sim.accept(confirmed, now=now_of(env))
    assert sim.latest.balance_wei_user == ETH and not sim.latest.has_pending_ops


def test_with_confirmations_a_deposit_never_sent_is_invalidated_once_the_ingested_head_passes_its_timeout(
        own_chain: ChainEnv, settings: object) -> None:
    env = own_chain
    settings.CONFIRMATIONS = 3  # type: ignore[attr-defined]
    sim = UserSim(env.new_user(eth=5 * ETH), env.deployment.channel_manager)
    sim.login()
    _propose_deposit(env, sim, ETH)
    env.mine(seconds=301)
    ingest_all()
    assert channels_invalidate_timed_out() == 0  # the block past the timeout is not ingested yet
    for _ in range(3):
        env.mine()
    ingest_all()
    assert channels_invalidate_timed_out() == 1
    item = last_item(sim.get(f"channel/{sim.address}/sync?lastChanTx={sim.latest.tx_count_global}"))
    assert item["update"]["args"]["reason"] == "CU_INVALID_TIMEOUT"


def test_a_user_can_withdraw_tokens(own_chain: ChainEnv) -> None:
    env = own_chain
    rate = set_rate("150")
    sim = UserSim(env.new_user(eth=ETH, tokens=30 * TOKEN), env.deployment.channel_manager)
    sim.login()
    user_deposit(env, sim, tokens=30 * TOKEN)
    recipient = env.new_user(eth=0).address
    item = last_item(sim.post(f"channel/{sim.address}/request-withdrawal", {
        "recipient": recipient, "exchangeRate": rate.rate, "withdrawalWeiUser": "0",
        "tokensToSell": "0", "weiToSell": "0", "withdrawalTokenUser": str(12 * TOKEN)}))
    request = sim.accept(item, now=now_of(env), hub_rate=rate)
    request["txCount"] = sim.latest.tx_count_global
    assert sim.post(f"channel/{sim.address}/update", {"updates": [request]}).status_code == 200
    run_hub_transactions()
    confirm_from_chain(env, sim)
    token = contract_at(env.w3, "SpokeTestToken", env.deployment.token)
    assert token.functions.balanceOf(Web3.to_checksum_address(recipient)).call() == 12 * TOKEN
    assert sim.latest.balance_token_user == 18 * TOKEN
    assert reconcile_channels().ok


def test_reconciliation_detects_a_one_wei_difference_in_the_ledger(own_chain: ChainEnv) -> None:
    env = own_chain
    sim = UserSim(env.new_user(eth=2 * ETH), env.deployment.channel_manager)
    sim.login()
    user_deposit(env, sim, wei=ETH)
    assert reconcile_channels().ok
    channel_id = ChannelUpdate.objects.get(channel__user=sim.address, tx_count_global=1).channel_id
    LedgerEntry.objects.create(posting=uuid.uuid4(), account=f"channel:{channel_id}:balance_wei_user",
                               asset="wei", amount=1, memo="injected by the test")
    report = reconcile_channels()
    assert [(m["field"], m["ledger"], m["state"]) for m in report.mismatches] == [
        ("balance_wei_user", ETH + 1, ETH)]
    alarm = Alarm.objects.get(kind="reconciliation")
    assert alarm.severity == "critical" and sim.address in alarm.message


def test_a_failed_withdrawal_gives_everyone_back_exactly_what_they_had(own_chain: ChainEnv) -> None:
    """The hub's withdrawal transaction fails (the hub reserve it needs for the user's token sale
    was drained); once the timeout passes the hub invalidates it, and the user gets back their own
    wei and tokens (the client's unwinding formula would hand them to the hub with the original
    targets)."""
    from hub.chain.deploy import contract_at, hub_reserves, send_transaction

    env = own_chain
    rate = set_rate("100")
    sim = UserSim(env.new_user(eth=3 * ETH, tokens=10 * TOKEN), env.deployment.channel_manager)
    sim.login()
    user_deposit(env, sim, wei=ETH)
    user_deposit(env, sim, tokens=10 * TOKEN)
    before = sim.latest
    hub_before = (before.balance_wei_hub, before.balance_token_hub)
    item = last_item(sim.post(f"channel/{sim.address}/request-withdrawal", {
        "recipient": env.new_user(eth=0).address, "exchangeRate": rate.rate,
        "withdrawalWeiUser": str(ETH), "tokensToSell": str(5 * TOKEN), "weiToSell": "0",
        "withdrawalTokenUser": "0"}))
    request = sim.accept(item, now=now_of(env), hub_rate=rate)
    assert sim.latest.pending_deposit_wei_user == 5 * TOKEN // 100  # the hub pays from reserve
    request["txCount"] = sim.latest.tx_count_global
    assert sim.post(f"channel/{sim.address}/update", {"updates": [request]}).status_code == 200
    manager = contract_at(env.w3, "ChannelManager", env.deployment.channel_manager)
    reserve_wei, _ = hub_reserves(env.w3, env.deployment.channel_manager)
    send_transaction(env.w3, env.hub, manager.functions.hubContractWithdraw(reserve_wei, 0)
                     .build_transaction({"from": env.hub.address}))
    run_hub_transactions()
    tx = ChannelUpdate.objects.get(channel__user=sim.address,
                                   tx_count_global=sim.latest.tx_count_global).chain_transaction
    assert tx is not None and tx.state == "failed"
    # Until the timeout passes the state could still be executed: nothing is undone yet.
    assert channels_invalidate_timed_out() == 0
    env.mine(seconds=301)
    ingest_all()
    assert channels_invalidate_timed_out() == 1
    item = last_item(sim.get(f"channel/{sim.address}/sync?lastChanTx={sim.latest.tx_count_global}"))
    assert item["update"]["reason"] == "Invalidation"
    request = sim.accept(item, now=now_of(env))
    assert sim.post(f"channel/{sim.address}/update", {"updates": [request]}).status_code == 200
    after = sim.latest
    assert (after.balance_wei_user, after.balance_token_user) == (ETH, 10 * TOKEN)
    assert (after.balance_wei_hub, after.balance_token_hub) == hub_before
    assert not after.has_pending_ops
    assert reconcile_channels().ok
