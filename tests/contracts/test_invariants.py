"""A Hypothesis state machine over random deposits, payments, withdrawals, exits (honest, stale and
challenged) and reserve moves, against the real contract on anvil. After every step the contract's
books must match an independent model exactly: every channel's balances, the channel totals, the
hub reserves, the users' token wallets, and ETH/token balances == channel totals + reserves."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from tests.contracts.chain import CHALLENGE_PERIOD, RESERVE_TOKENS, RESERVE_WEI, Chain, State

pytestmark = pytest.mark.chain

UNIT = 10**15
USERS = ("alice", "bob")
amounts = st.integers(0, 50).map(lambda n: n * UNIT)
users = st.sampled_from(USERS)

_CHAIN: Chain | None = None


@pytest.fixture(scope="module", autouse=True)
def _machine_chain(module_chain: Chain) -> Iterator[None]:
    global _CHAIN
    _CHAIN = module_chain
    yield
    _CHAIN = None


class Channel:
    """The model of one channel: the latest double-signed state (no pending), what the contract
    holds, and older signed states a cheating user could replay."""

    def __init__(self, address: str, onchain_count: tuple[int, int]) -> None:
        self.latest = State(user=address, tx_count=(onchain_count[0] + 1, onchain_count[1]))
        self.onchain = [0, 0, 0, 0, 0, 0]  # wei hub, user, total, token hub, user, total
        self.history: list[State] = []

    def sign_next(self, new: State) -> None:
        self.history.append(self.latest)
        self.latest = new


class ChannelManagerMachine(RuleBasedStateMachine):
    @initialize()
    def start(self) -> None:
        assert _CHAIN is not None
        self.chain = _CHAIN
        self.chain.snapshot()
        self.reserve_wei, self.reserve_tokens = self.chain.reserves()
        assert (self.reserve_wei, self.reserve_tokens) == (RESERVE_WEI, RESERVE_TOKENS)
        self.channels = {}
        self.wallet_tokens = {}
        for name in USERS:
            acct = self.chain.actor(name)
            details = self.chain.details(acct.address)
            self.channels[name] = Channel(acct.address, (details[0], details[1]))
            self.wallet_tokens[name] = self.chain.tokens(acct.address)
            if self.chain.token.functions.allowance(acct.address, self.chain.cm.address).call() == 0:
                self.chain.transact(self.chain.token.functions.approve(self.chain.cm.address, 2**256 - 1), acct)

    def teardown(self) -> None:
        if hasattr(self, "chain"):
            self.chain.revert()

    # -- helpers
    def _pending(self, name: str, pending_wei: tuple[int, ...], pending_token: tuple[int, ...],
                 wei: tuple[int, int] | None = None, token: tuple[int, int] | None = None,
                 recipient: str | None = None) -> State:
        ch = self.channels[name]
        g, c = ch.latest.tx_count
        return ch.latest.replace(
            tx_count=(g + 1, c + 1), pending_wei=pending_wei, pending_token=pending_token,
            wei=wei or ch.latest.wei, token=token or ch.latest.token,
            recipient=recipient or ch.latest.user)

    def _applied(self, name: str, pending: State) -> None:
        """The contract executed `pending`: fold it in the model, then the confirm state."""
        ch = self.channels[name]
        pw, pt = pending.pending_wei, pending.pending_token
        wei = (pending.wei[0] + max(0, pw[0] - pw[1]), pending.wei[1] + max(0, pw[2] - pw[3]))
        token = (pending.token[0] + max(0, pt[0] - pt[1]), pending.token[1] + max(0, pt[2] - pt[3]))
        ch.onchain = [wei[0], wei[1], ch.onchain[2] + pw[0] + pw[2] - pw[1] - pw[3],
                      token[0], token[1], ch.onchain[5] + pt[0] + pt[2] - pt[1] - pt[3]]
        ch.sign_next(pending)
        ch.sign_next(State(user=pending.user, wei=wei, token=token,
                           tx_count=(pending.tx_count[0] + 1, pending.tx_count[1])))

    def _emptied(self, name: str, paid_state_wei: tuple[int, int], paid_state_token: tuple[int, int],
                 global_count: int) -> None:
        ch = self.channels[name]
        self.reserve_wei += paid_state_wei[0]
        self.reserve_tokens += paid_state_token[0]
        self.wallet_tokens[name] += paid_state_token[1]
        ch.onchain = [0, 0, 0, 0, 0, 0]
        ch.history.clear()  # states before an exit can never be used again
        ch.latest = State(user=ch.latest.user, tx_count=(global_count + 1, ch.latest.tx_count[1]))

    # -- rules
    @rule(name=users, hub_wei=amounts, user_wei=amounts, hub_token=amounts, user_token=amounts)
    def hub_authorized_deposit(self, name: str, hub_wei: int, user_wei: int, hub_token: int, user_token: int) -> None:
        pending = self._pending(name, (hub_wei, 0, user_wei, 0), (hub_token, 0, user_token, 0))
        if hub_wei + user_wei > self.reserve_wei or hub_token + user_token > self.reserve_tokens:
            assert "insufficient reserve" in self.chain.revert_reason(self.chain.hub_update(pending), self.chain.hub)
            return
        self.chain.transact(self.chain.hub_update(pending), self.chain.hub)
        self.reserve_wei -= hub_wei + user_wei
        self.reserve_tokens -= hub_token + user_token
        self._applied(name, pending)

    @rule(name=users, user_wei=amounts, user_token=amounts, hub_token=amounts)
    def user_deposit(self, name: str, user_wei: int, user_token: int, hub_token: int) -> None:
        acct = self.chain.actor(name)
        if user_token:
            self.chain.transact(self.chain.token.functions.mint(acct.address, user_token), self.chain.hub)
        pending = self._pending(name, (0, 0, user_wei, 0), (hub_token, 0, user_token, 0))
        if hub_token > self.reserve_tokens:
            assert "insufficient reserve" in self.chain.revert_reason(self.chain.user_update(pending), acct, value=user_wei)
            self.wallet_tokens[name] += user_token
            return
        self.chain.transact(self.chain.user_update(pending), acct, value=user_wei)
        self.reserve_tokens -= hub_token
        self._applied(name, pending)

    @rule(name=users, to_hub=st.booleans(), data=st.data())
    def payment(self, name: str, to_hub: bool, data: st.DataObject) -> None:
        ch = self.channels[name]
        (hw, uw), (ht, ut) = ch.latest.wei, ch.latest.token
        if to_hub:
            wei, tok = data.draw(st.integers(0, uw)), data.draw(st.integers(0, ut))
            new = ch.latest.replace(wei=(hw + wei, uw - wei), token=(ht + tok, ut - tok))
        else:
            wei, tok = data.draw(st.integers(0, hw)), data.draw(st.integers(0, ht))
            new = ch.latest.replace(wei=(hw - wei, uw + wei), token=(ht - tok, ut + tok))
        ch.sign_next(new.replace(tx_count=(new.tx_count[0] + 1, new.tx_count[1])))

    @rule(name=users, data=st.data(), by_user=st.booleans())
    def withdrawal(self, name: str, data: st.DataObject, by_user: bool) -> None:
        """The user takes some of her balance out and the hub returns some to the reserves."""
        ch = self.channels[name]
        (hw, uw), (ht, ut) = ch.latest.wei, ch.latest.token
        u_wei, u_tok = data.draw(st.integers(0, uw)), data.draw(st.integers(0, ut))
        h_wei, h_tok = data.draw(st.integers(0, hw)), data.draw(st.integers(0, ht))
        pending = self._pending(name, (0, h_wei, 0, u_wei), (0, h_tok, 0, u_tok),
                                wei=(hw - h_wei, uw - u_wei), token=(ht - h_tok, ut - u_tok))
        sender = self.chain.actor(name) if by_user else self.chain.hub
        fn = self.chain.user_update(pending) if by_user else self.chain.hub_update(pending)
        self.chain.transact(fn, sender)
        self.reserve_wei += h_wei
        self.reserve_tokens += h_tok
        self.wallet_tokens[name] += u_tok
        self._applied(name, pending)

    @rule(name=users)
    def exit_with_latest_state(self, name: str) -> None:
        ch = self.channels[name]
        acct = self.chain.actor(name)
        latest = ch.latest
        self.chain.transact(self.chain.double_signed("startExitWithUpdate", latest), acct)
        self.chain.transact(self.chain.cm.functions.emptyChannel(acct.address), self.chain.hub)
        self._emptied(name, latest.wei, latest.token, latest.tx_count[0])

    @precondition(lambda self: any(self._stale_candidates(n) for n in USERS))
    @rule(data=st.data())
    def stale_exit_is_challenged(self, data: st.DataObject) -> None:
        """The user exits with an older state; the hub answers with the latest."""
        name = data.draw(st.sampled_from([n for n in USERS if self._stale_candidates(n)]))
        ch = self.channels[name]
        acct = self.chain.actor(name)
        stale = data.draw(st.sampled_from(self._stale_candidates(name)))
        self.chain.transact(self.chain.double_signed("startExitWithUpdate", stale), acct)
        latest = ch.latest
        self.chain.transact(self.chain.double_signed("emptyChannelWithChallenge", latest), self.chain.hub)
        self._emptied(name, latest.wei, latest.token, latest.tx_count[0])

    def _stale_candidates(self, name: str) -> list[State]:
        ch = self.channels[name]
        onchain_g = ch.latest.tx_count[0]  # upper bound; filter exact below
        return [s for s in ch.history
                if s.timeout == 0 and s.pending_wei == (0, 0, 0, 0) and s.pending_token == (0, 0, 0, 0)
                and s.tx_count[0] < onchain_g and s.tx_count[1] == ch.latest.tx_count[1]
                and s.tx_count[0] > self._onchain_global(name)]

    def _onchain_global(self, name: str) -> int:
        return self.chain.details(self.chain.actor(name).address)[0]

    @rule(name=users, by_hub=st.booleans())
    def unilateral_exit_after_timeout(self, name: str, by_hub: bool) -> None:
        """startExit on the contract's own state, then anyone empties after the closing time:
        the contract pays what it holds, whatever happened off-chain since."""
        ch = self.channels[name]
        acct = self.chain.actor(name)
        self.chain.transact(self.chain.cm.functions.startExit(acct.address), self.chain.hub if by_hub else acct)
        self.chain.advance(CHALLENGE_PERIOD + 1)
        self.chain.transact(self.chain.cm.functions.emptyChannel(acct.address), self.chain.actor("eve"))
        onchain = ch.onchain
        self._emptied(name, (onchain[0], onchain[1]), (onchain[3], onchain[4]), self._onchain_global(name))

    @rule(wei=amounts, tokens=amounts)
    def fund_reserves(self, wei: int, tokens: int) -> None:
        from hub.chain import deploy

        deploy.fund_hub_reserves(self.chain.w3, self.chain.hub, channel_manager=self.chain.cm.address,
                                 token=self.chain.token.address, wei=wei, tokens=tokens)
        self.reserve_wei += wei
        self.reserve_tokens += tokens

    @rule(data=st.data())
    def hub_withdraws_reserves(self, data: st.DataObject) -> None:
        wei = data.draw(st.integers(0, self.reserve_wei))
        tokens = data.draw(st.integers(0, self.reserve_tokens))
        self.chain.transact(self.chain.cm.functions.hubContractWithdraw(wei, tokens), self.chain.hub)
        self.reserve_wei -= wei
        self.reserve_tokens -= tokens

    # -- invariants
    @invariant()
    def books_balance(self) -> None:
        if not hasattr(self, "chain"):
            return
        chain = self.chain
        assert chain.reserves() == (self.reserve_wei, self.reserve_tokens)
        total_wei = total_tokens = 0
        for name, ch in self.channels.items():
            address = chain.actor(name).address
            assert list(chain.balances(address)) == ch.onchain, name
            assert chain.tokens(address) == self.wallet_tokens[name], name
            total_wei += ch.onchain[2]
            total_tokens += ch.onchain[5]
            assert ch.onchain[0] + ch.onchain[1] <= ch.onchain[2]
            assert ch.onchain[3] + ch.onchain[4] <= ch.onchain[5]
        assert chain.cm.functions.totalChannelWei().call() == total_wei
        assert chain.cm.functions.totalChannelToken().call() == total_tokens
        assert chain.eth(chain.cm.address) == total_wei + self.reserve_wei
        assert chain.tokens(chain.cm.address) == total_tokens + self.reserve_tokens


ChannelManagerMachine.TestCase.settings = settings(
    max_examples=20, stateful_step_count=25, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_channel_manager_books_always_balance = ChannelManagerMachine.TestCase
