"""A Hypothesis state machine over three channels: threads opened, paid and closed between their
users, interleaved with channel payments. After every step: each channel's value (balances plus
the threads in its root) is what it started with, every threadRoot/threadCount is the Merkle root
of exactly the open threads' initial states, and a closed thread paid each side its share."""

from __future__ import annotations

from typing import Any

from core_factories import CONTRACT, HUB, OTHER, USER
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from hub.core import (
    ChannelState,
    Signer,
    ThreadState,
    UpdateRejected,
    apply_update,
    thread_payment,
    thread_root,
    thread_value,
    validate_thread_payment,
)
from hub.core.threads import same_thread

THIRD = Signer("0x" + "44" * 32)
SIGNERS = {s.address: s for s in (USER, OTHER, THIRD)}
NAMES = sorted(SIGNERS)
amounts = st.integers(0, 30)
EXPECTED = {"insufficient_balance", "negative_balance", "thread_exists", "bad_args"}


def _channel(user: str) -> ChannelState:
    s = ChannelState(contract_address=CONTRACT, user=user, recipient=user,
                     balance_wei_hub=40, balance_wei_user=40, balance_token_hub=60,
                     balance_token_user=60, tx_count_global=1, tx_count_chain=1)
    return HUB.sign_channel_state(s, as_party="hub")


class ThreadMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.channels = {u: _channel(u) for u in NAMES}
        self.initial: dict[str, list[ThreadState]] = {u: [] for u in NAMES}
        self.latest: dict[tuple[str, str], ThreadState] = {}
        self.next_id: dict[tuple[str, str], int] = {}
        self.start_totals = {u: self._totals(u) for u in NAMES}

    def _totals(self, user: str) -> tuple[int, int]:
        s = self.channels[user]
        wei = s.balance_wei_hub + s.balance_wei_user
        token = s.balance_token_hub + s.balance_token_user
        for t in self.initial[user]:
            w, k = thread_value(t)
            wei, token = wei + w, token + k
        return wei, token

    def _apply(self, user: str, reason: str, args: Any) -> ChannelState | None:
        try:
            return apply_update(self.channels[user], reason, args, now=0,
                                initial_threads=self.initial[user], hub_address=HUB.address)
        except UpdateRejected as err:
            assert err.code in EXPECTED, (reason, err)
            return None

    def _adopt(self, user: str, new: ChannelState) -> None:
        assert new.tx_count_global == self.channels[user].tx_count_global + 1
        self.channels[user] = HUB.sign_channel_state(new, as_party="hub")

    @rule(sender=st.sampled_from(NAMES), receiver=st.sampled_from(NAMES), wei=amounts,
          token=amounts)
    def open_thread(self, sender: str, receiver: str, wei: int, token: int) -> None:
        if sender == receiver:
            return
        key = (sender, receiver)
        thread = SIGNERS[sender].sign_thread_state(ThreadState(
            contract_address=CONTRACT, sender=sender, receiver=receiver,
            thread_id=self.next_id.get(key, 0) + 1, balance_wei_sender=wei,
            balance_token_sender=token))
        s_new = self._apply(sender, "OpenThread", thread.to_json())
        r_new = self._apply(receiver, "OpenThread", thread.to_json())
        if s_new is None or r_new is None:
            return  # the hub signs both or neither
        assert key not in self.latest
        self._adopt(sender, s_new)
        self._adopt(receiver, r_new)
        for user in key:
            self.initial[user].append(thread)
        self.latest[key] = thread
        self.next_id[key] = thread.thread_id

    @precondition(lambda self: bool(self.latest))
    @rule(data=st.data(), wei=amounts, token=amounts)
    def pay_in_thread(self, data: st.DataObject, wei: int, token: int) -> None:
        key = data.draw(st.sampled_from(sorted(self.latest)))
        prev = self.latest[key]
        if wei > prev.balance_wei_sender or token > prev.balance_token_sender or wei + token == 0:
            return
        new = SIGNERS[key[0]].sign_thread_state(thread_payment(prev, wei, token))
        self.latest[key] = validate_thread_payment(prev, new, hub_address=HUB.address)

    @precondition(lambda self: bool(self.latest))
    @rule(data=st.data())
    def close_thread(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(self.latest)))
        final = self.latest[key]
        before = {u: self.channels[u] for u in key}
        news = {u: self._apply(u, "CloseThread", final.to_json()) for u in key}
        assert all(n is not None for n in news.values()), "closing an open thread never fails"
        for user, new in news.items():
            assert new is not None
            self._adopt(user, new)
            self.initial[user] = [t for t in self.initial[user] if not same_thread(t, final)]
        sender, receiver = key
        s, r = self.channels[sender], self.channels[receiver]
        assert s.balance_token_user - before[sender].balance_token_user == final.balance_token_sender
        assert r.balance_token_user - before[receiver].balance_token_user == (
            final.balance_token_receiver)
        assert s.balance_wei_hub - before[sender].balance_wei_hub == final.balance_wei_receiver
        assert r.balance_wei_hub - before[receiver].balance_wei_hub == final.balance_wei_sender
        del self.latest[key]

    @rule(user=st.sampled_from(NAMES), to_hub=st.booleans(), wei=amounts, token=amounts)
    def channel_payment(self, user: str, to_hub: bool, wei: int, token: int) -> None:
        args = {"recipient": "hub" if to_hub else "user", "amountWei": str(wei),
                "amountToken": str(token)}
        new = self._apply(user, "Payment", args)
        if new is not None:
            self._adopt(user, new)

    @invariant()
    def value_is_conserved_per_channel(self) -> None:
        for user in NAMES:
            assert self._totals(user) == self.start_totals[user]

    @invariant()
    def roots_are_the_open_threads(self) -> None:
        for user in NAMES:
            s = self.channels[user]
            mine = [t for k, t in self.latest.items() if user in k]
            assert s.thread_count == len(self.initial[user]) == len(mine)
            assert s.thread_root == thread_root(self.initial[user])

    @invariant()
    def threads_conserve_their_value(self) -> None:
        for key, t in self.latest.items():
            initial = next(i for i in self.initial[key[0]] if same_thread(i, t))
            assert thread_value(t) == thread_value(initial)


ThreadMachine.TestCase.settings = settings(max_examples=100, stateful_step_count=40,
                                           deadline=None)
TestThreadMachine = ThreadMachine.TestCase
