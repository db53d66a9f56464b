"""The thread watchtower on a private anvil: a sender whose channel ends in thread dispute exits
her thread with an older thread state; the hub challenges it with the latest one, empties the
thread after its closing time, and settles the receiver's channel with the latest state."""

from __future__ import annotations

import pytest
from web3 import Web3

from hub.channels.models import Channel, ChannelUpdate
from hub.core import thread_proof
from hub.threads.disputes import thread_disputes_watch
from hub.threads.models import ThreadDispute, ThreadRecord
from ops.models import Alarm
from tests.chain_env import ETH, TOKEN, ChainEnv
from tests.hub.disputes.conftest import (
    CHALLENGE_PERIOD,
    Balances,
    hub_tick,
    latest_state,
    user_chain,
)
from tests.hub.threads.helpers import switch_threads, thread_user
from tests.purchases.helpers import collateralize

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]

PAY = TOKEN // 4


def test_an_older_thread_state_is_challenged_and_the_latest_one_settles(own_chain: ChainEnv) -> None:
    env = own_chain
    switch_threads(True)
    alice = thread_user(env, tokens=20 * TOKEN)
    bob = thread_user(env, wei=ETH // 10)
    collateralize(env, bob.sim)
    bob.sync(env)
    hub_before = bob.sim.latest.balance_token_hub
    assert alice.open_thread(bob.address, token=5 * TOKEN).status_code == 200
    bob.sync(env)
    key = (alice.address, bob.address, 1)
    states = []
    for _ in range(10):
        state, response = alice.thread_pay(bob.address, token=PAY)
        assert response.status_code == 200, response.content
        states.append(state)
    initial = ThreadRecord.objects.get().initial_state()

    # alice exits her channel (with her latest double-signed state, the OpenThread) ...
    mine = user_chain(env, alice.sim)
    mine.start_exit_with_update(latest_state(alice.sim))
    hub_tick()  # the hub empties her channel at once; threads remain -> thread dispute
    assert Channel.objects.get(user=alice.address).status == Channel.Status.THREAD_DISPUTE
    dispute = ThreadDispute.objects.get()
    assert dispute.last_action == "start_exit_thread_with_update"

    # ... and, before the hub's start is mined, exits the thread with an older state (txCount 2)
    old = states[1]
    fn = mine.contract.functions.startExitThreadWithUpdate(
        Web3.to_checksum_address(alice.address),
        [Web3.to_checksum_address(alice.address), Web3.to_checksum_address(bob.address)], 1,
        [0, 0], [5 * TOKEN, 0], bytes.fromhex(thread_proof(initial, [initial])[2:]), initial.sig_a,
        [old.balance_wei_sender, old.balance_wei_receiver],
        [old.balance_token_sender, old.balance_token_receiver], old.tx_count, old.sig_a)
    mine._transact(fn)
    hub_tick()  # DidStartExitThread -> the hub drops its start and challenges with txCount 10
    hub_tick()
    dispute.refresh_from_db()
    assert dispute.last_action == "challenge" and dispute.onchain_tx_count == 10
    assert dispute.status == "in_period"
    on_chain = mine.contract.functions.getThread(
        Web3.to_checksum_address(alice.address), Web3.to_checksum_address(bob.address), 1).call()
    assert on_chain[4] == 10 and on_chain[3] == 10 * PAY

    balances = Balances(env, alice.address)
    before = balances.read()
    env.w3.provider.make_request("evm_increaseTime", [CHALLENGE_PERIOD + 5])  # type: ignore[arg-type]
    env.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    thread_disputes_watch()  # after the closing time: emptyThread for alice's channel
    hub_tick()
    dispute.refresh_from_db()
    assert (dispute.status, dispute.last_action) == ("emptied", "empty")
    after = balances.read()
    assert after["user_token"] == before["user_token"] + 5 * TOKEN - 10 * PAY
    assert after["reserve_token"] == before["reserve_token"] + 10 * PAY  # bob's share

    # alice's channel is open again, without threads; bob's channel settles the latest state
    assert Channel.objects.get(user=alice.address).status == Channel.Status.OPEN
    last = ChannelUpdate.objects.filter(channel__user=alice.address).order_by("-id").first()
    assert last is not None and (last.reason, last.thread_count) == ("EmptyChannel", 0)
    assert bob.sync(env) == ["CloseThread"]
    assert bob.sim.latest.balance_token_user == 10 * PAY
    assert bob.sim.latest.balance_token_hub == hub_before - 5 * TOKEN + (5 * TOKEN - 10 * PAY)
    assert bob.sim.latest.thread_count == 0
    assert ThreadRecord.objects.get().status == "closed"
    assert key not in bob.threads
    assert not Alarm.objects.filter(kind__startswith="thread_").exists()
