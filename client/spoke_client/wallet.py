"""The user side of a Connext v1 channel with a Spoke hub.

`Channel` keeps its own copy of the latest double-signed state in a `StateStore`, regenerates
every state it signs from that copy with `hub.core` (never taking the hub's word for a state),
countersigns only what its `SigningPolicy` allows, sends its own deposits on-chain, and can take
its latest double-signed state to the contract without the hub.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from hub.core import (
    ZERO_ADDRESS,
    ChannelState,
    ConfirmPendingArgs,
    EmptyChannelArgs,
    HubRate,
    InvalidationArgs,
    PaymentArgs,
    UpdateRejected,
    apply_update,
    assert_channel_signer,
    check_invariants,
    parse_address,
    zero_state,
)
from hub.core import transitions as core_transitions
from hub.core.args import UpdateArgs

from .chain import ChannelManagerClient, exit_args
from .errors import ChainError, HubError, NoExitableState, ProposalRejected, SpokeError
from .hub_client import HubClient
from .keys import UserKey
from .policy import (
    DepositRequest,
    ExchangeRequest,
    PolicyContext,
    SigningPolicy,
    WithdrawalRequest,
    withdrawal_args_or_none,
)
from .store import ChannelRecord, MemoryStateStore, StateStore
from .updates import ChannelUpdate, Sync

log = logging.getLogger("spoke_client")

PAYMENT_TYPES = ("PT_CHANNEL", "PT_CUSTODIAL", "PT_LINK", "PT_OPTIMISTIC")
# Regenerating a state both parties already signed skips the time checks: the signatures attest
# that it was valid when signed. These "now" values make those checks vacuous.
_FAR_PAST, _FAR_FUTURE = 0, 2**255


def generate_secret() -> str:
    """A link secret as the Connext client makes it: keccak256 of 32 random bytes, 0x-hex."""
    from eth_utils.crypto import keccak

    return "0x" + keccak(secrets.token_bytes(32)).hex()


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    """One payment of a purchase. `recipient` is ignored for PT_LINK (the hub holds the funds
    under `meta['secret']`)."""

    recipient: str
    amount_wei: int = 0
    amount_token: int = 0
    type: str = "PT_CHANNEL"
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PurchaseResult:
    purchase_id: str
    state: ChannelState
    secret: str | None = None  # set for link payments made with `pay_link`


@dataclass
class _Requests:
    deposit: DepositRequest | None = None
    exchange: ExchangeRequest | None = None
    withdrawal: WithdrawalRequest | None = None


class Channel:
    """One user's channel with one hub.

    hub: an authenticated `HubClient` for the user.
    store: where the latest double-signed state lives (default: in memory).
    policy: which hub proposals to countersign (default: `SigningPolicy()`).
    chain: the user's `ChannelManagerClient`; required for deposits, for ConfirmPending/
        Invalidation/EmptyChannel checks and for exits. Without it those proposals are refused.
    config: the hub's `GET config` (fetched when not given).
    clock: unix seconds, used only when there is no chain (block time is used otherwise).
    rate_source: returns the tokens-per-ETH rate the wallet trusts (default: the hub's
        `exchangeRate`, like the Connext client).
    """

    def __init__(
        self,
        hub: HubClient,
        *,
        store: StateStore | None = None,
        policy: SigningPolicy | None = None,
        chain: ChannelManagerClient | None = None,
        config: Mapping[str, Any] | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rate_source: Callable[[], str] | None = None,
    ) -> None:
        self.hub = hub
        self.key: UserKey = hub.key
        self.user = self.key.address
        self.store: StateStore = store if store is not None else MemoryStateStore()
        self.policy = policy or SigningPolicy()
        self.chain = chain
        self.config = dict(config) if config is not None else hub.config()
        self.contract_address = parse_address(self.config["contractAddress"], "contractAddress")
        self.hub_address = parse_address(self.config["hubAddress"], "hubAddress")
        self.token_address: str | None = self.config.get("tokenAddress")
        self._clock = clock
        self._sleep = sleep
        self._rate_source = rate_source
        self._rate_cache: tuple[float, HubRate] | None = None
        self._requests = _Requests()
        self._lock = threading.RLock()
        self.status = "CS_OPEN"
        self.rejections: list[ProposalRejected] = []
        self._ws_seq: int | None = None
        loaded = self.store.load(self.contract_address, self.user)
        self.record = loaded or ChannelRecord(state=zero_state(self.contract_address, self.user))

    # ---- views ---------------------------------------------------------------------------

    @property
    def state(self) -> ChannelState:
        """The latest double-signed state (or the zero state of a new channel)."""
        return self.record.state

    @property
    def exitable_state(self) -> ChannelState | None:
        return self.record.exitable

    def now(self) -> int:
        """Block time when a chain is configured (the contract judges timeouts by it)."""
        return self.chain.block_time() if self.chain is not None else int(self._clock())

    def reference_rate(self) -> HubRate:
        """The trusted rate, cached for 60 s."""
        wall = self._clock()
        if self._rate_cache is not None and wall - self._rate_cache[0] < 60:
            return self._rate_cache[1]
        if self._rate_source is not None:
            rate = self._rate_source()
        else:
            rate = str(self.hub.exchange_rate()["rates"]["DAI"])
        hub_rate = HubRate(rate=rate, retrieved_at=self.now())
        self._rate_cache = (wall, hub_rate)
        return hub_rate

    # ---- persistence ---------------------------------------------------------------------

    def _adopt(self, state: ChannelState, reason: str, args: Mapping[str, Any]) -> None:
        """Make a double-signed `state` the latest and persist it before anything else."""
        assert state.is_double_signed
        record = self.record.advance(state, reason, args)
        self.store.save(record)
        self.record = record
        if reason == "ProposePendingDeposit" and state.pending_deposit_wei_user + state.pending_deposit_token_user:
            self._requests.deposit = None
        elif reason == "Exchange":
            self._requests.exchange = None
        elif reason == "ProposePendingWithdrawal":
            self._requests.withdrawal = None

    def restore_from_hub(self) -> ChannelState:
        """Adopt the hub's latest double-signed state when this wallet has none (a new device).

        Both signatures must recover over the returned state; the hub cannot invent a state the
        user never signed. Refuses to go backwards from a state the store already holds."""
        row = self.hub.latest_update()
        state = ChannelState.from_json(row["state"])
        if (state.contract_address, state.user) != (self.contract_address, self.user):
            raise ProposalRejected("wrong_channel", "the hub returned another channel's state")
        assert_channel_signer(state, hub_address=self.hub_address, signer="hub")
        assert_channel_signer(state, hub_address=self.hub_address, signer="user")
        if state.tx_count_global < self.state.tx_count_global:
            raise ProposalRejected("tx_count_global", "the hub's latest state is older than ours")
        with self._lock:
            self._adopt(state, row.get("reason") or "Restore", row.get("args") or {})
        return state

    # ---- sync ----------------------------------------------------------------------------

    def sync(self) -> list[ChannelState]:
        """Fetch and apply everything the hub has after our latest state. Returns the states
        that became double-signed."""
        data = self.hub.sync(self.state.tx_count_global, self.record.last_thread_update_id)
        return self.apply_sync(data, _from_http_sync=True)

    def apply_sync(self, data: Any, *, _from_http_sync: bool = False, _depth: int = 0) -> list[ChannelState]:
        """Apply a sync result (`{status, updates}`) from any route or push."""
        sync = Sync.from_json(data)
        self.status = sync.status
        adopted: list[ChannelState] = []
        to_post: list[dict[str, Any]] = []
        with self._lock:
            for update in sync.channel_updates:
                prev = self.state
                if update.tx_count is not None and update.tx_count <= prev.tx_count_global:
                    continue  # already ours (or an older copy)
                if update.tx_count is not None and update.tx_count > prev.tx_count_global + 1:
                    if not _from_http_sync and _depth == 0:
                        log.info("gap before txCount %s; resyncing", update.tx_count)
                        return adopted + self.sync()
                    break
                if update.is_double_signed:
                    self._adopt_agreed(prev, update)
                    adopted.append(self.state)
                    continue
                if self.status != "CS_OPEN":
                    log.warning("channel status %s: not countersigning %s", self.status, update.reason)
                    break
                request = self._countersign(prev, update)
                if request is None:
                    break
                to_post.append(request)
                if update.sig_hub is None:
                    break  # an unsigned proposal is last; the hub countersigns it next
                adopted.append(self.state)
            if to_post:
                response = self.hub.post_updates(to_post, self.record.last_thread_update_id)
                if isinstance(response, Mapping) and response.get("error"):
                    raise HubError(200, str(response.get("code") or "update_error"),
                                   str(response["error"]), response)
                inner = response.get("updates") if isinstance(response, Mapping) else None
                if inner is not None and _depth < 4:
                    adopted += self.apply_sync(inner, _from_http_sync=_from_http_sync,
                                               _depth=_depth + 1)
        return adopted

    def _regenerate(self, prev: ChannelState, update: ChannelUpdate) -> ChannelState:
        """The state `update` produces on top of `prev`, for an update both parties signed."""
        args = update.typed_args()
        if isinstance(args, ConfirmPendingArgs):
            return check_invariants(prev, core_transitions.confirm_pending(prev), update.reason)
        if isinstance(args, EmptyChannelArgs):
            event = self.chain.did_empty_channel(args.transaction_hash, self.user) if self.chain else None
            if event is None:
                raise ProposalRejected("policy_unconfirmed_on_chain",
                                       "cannot rebuild an EmptyChannel state without its event")
            return apply_update(prev, update.reason, args, now=_FAR_PAST, event=event)
        rate = getattr(args, "exchange_rate", None)
        return apply_update(
            prev,
            update.reason,
            args,
            now=_FAR_FUTURE if isinstance(args, InvalidationArgs) else _FAR_PAST,
            hub_rate=HubRate(rate=rate, retrieved_at=_FAR_PAST) if rate else None,
            invalidated_withdrawal=withdrawal_args_or_none(self.record.pending_withdrawal),
        )

    def _adopt_agreed(self, prev: ChannelState, update: ChannelUpdate) -> None:
        try:
            expected = self._regenerate(prev, update)
            state = expected.replace(sig_hub=update.sig_hub, sig_user=update.sig_user)
            assert_channel_signer(state, hub_address=self.hub_address, signer="hub")
            assert_channel_signer(state, hub_address=self.hub_address, signer="user")
        except UpdateRejected as exc:
            raise self._reject(ProposalRejected(exc.code, exc.message, reason=update.reason)) from exc
        self._adopt(state, update.reason, update.args)

    def _context(self, prev: ChannelState, update: ChannelUpdate) -> PolicyContext:
        event = None
        onchain_txg = None
        args: UpdateArgs | None
        try:
            args = update.typed_args()
        except UpdateRejected:
            args = None  # the policy reports the parse error
        if self.chain is not None:
            if isinstance(args, ConfirmPendingArgs):
                event = self.chain.did_update_channel(args.transaction_hash, self.user)
            elif isinstance(args, EmptyChannelArgs):
                event = self.chain.did_empty_channel(args.transaction_hash, self.user)  # type: ignore[assignment]
            elif isinstance(args, InvalidationArgs):
                onchain_txg = self.chain.channel_details(self.user).tx_count_global
        rate = None
        if update.reason in ("Exchange", "ProposePendingWithdrawal"):
            rate = self.reference_rate()
        return PolicyContext(
            now=self.now(),
            hub_address=self.hub_address,
            reference_rate=rate,
            deposit=self._requests.deposit,
            exchange=self._requests.exchange,
            withdrawal=self._requests.withdrawal,
            event=event,
            onchain_tx_count_global=onchain_txg,
            pending_withdrawal=withdrawal_args_or_none(self.record.pending_withdrawal),
        )

    def _reject(self, exc: ProposalRejected) -> ProposalRejected:
        log.warning("not countersigning: %s", exc)
        self.rejections.append(exc)
        return exc

    def _countersign(self, prev: ChannelState, update: ChannelUpdate) -> dict[str, Any] | None:
        """Decide, sign, (for a user deposit) go on-chain, persist; the request to post."""
        decision = self.policy.evaluate(prev, update, self._context(prev, update))
        if not decision.accept or decision.state is None:
            self._reject(ProposalRejected(decision.code, decision.message, reason=update.reason))
            return None
        signed = self.key.sign_state(decision.state)
        if update.sig_hub is not None:
            signed = signed.replace(sig_hub=update.sig_hub)
            if update.reason == "ProposePendingDeposit" and update.args.get("sigUser"):
                self._send_user_deposit(signed)
            self._adopt(signed, update.reason, update.args)
        assert signed.sig_user is not None
        return update.to_request(tx_count=signed.tx_count_global, sig_user=signed.sig_user,
                                 sig_hub=update.sig_hub)

    def _send_user_deposit(self, state: ChannelState) -> None:
        if self.chain is None:
            raise ChainError("a user deposit is sent on-chain by the user: configure `chain`")
        tx_hash = self.chain.user_authorized_update(state)
        log.info("userAuthorizedUpdate %s for txCount %s", tx_hash, state.tx_count_global)

    def _post_own(self, reason: str, args: UpdateArgs, state: ChannelState) -> list[ChannelState]:
        """Post an update the user proposes (signed by us only); the hub's countersigned copy
        comes back in the response sync."""
        assert state.sig_user is not None
        response = self.hub.post_updates(
            [{"reason": reason, "args": args.to_json(), "txCount": state.tx_count_global,
              "sigUser": state.sig_user}],
            self.record.last_thread_update_id,
        )
        if isinstance(response, Mapping) and response.get("error"):
            raise HubError(200, str(response.get("code") or "update_error"), str(response["error"]),
                           response)
        return self.apply_sync(response.get("updates") if isinstance(response, Mapping) else None)

    def wait_for(self, predicate: Callable[[ChannelState], bool], *, timeout: float = 120.0,
                 interval: float = 1.0) -> ChannelState:
        """Sync until `predicate(state)` holds; TimeoutError otherwise."""
        deadline = self._clock() + timeout
        while True:
            if predicate(self.state):
                return self.state
            if self._clock() >= deadline:
                raise TimeoutError(f"channel did not reach the expected state: {self.state!r}")
            self._sleep(interval)
            self.sync()

    # ---- flows ---------------------------------------------------------------------------

    def deposit(self, *, amount_wei: int = 0, amount_token: int = 0, wait: bool = True,
                timeout: float = 180.0) -> ChannelState:
        """Deposit into the channel: sign the request, let the hub propose, countersign, send
        `userAuthorizedUpdate` ourselves (approving the token if needed), then (wait=True) sync
        until the hub's ConfirmPending is countersigned."""
        if amount_wei < 0 or amount_token < 0 or amount_wei + amount_token == 0:
            raise ValueError("deposit a positive amount")
        if self.chain is None:
            raise ChainError("deposits need `chain` (the user pays for userAuthorizedUpdate)")
        start = self.state.tx_count_global
        sig = self.key.sign_deposit_request(amount_wei=amount_wei, amount_token=amount_token)
        self._requests.deposit = DepositRequest(amount_wei, amount_token)
        self.apply_sync(self.hub.request_deposit(
            deposit_wei=amount_wei, deposit_token=amount_token, sig_user=sig,
            last_chan_tx=start, last_thread_update_id=self.record.last_thread_update_id,
        ))
        if not wait:
            return self.state
        return self.wait_for(lambda s: s.tx_count_global >= start + 2 and not s.has_pending_ops,
                             timeout=timeout)

    def exchange(self, *, wei_to_sell: int = 0, tokens_to_sell: int = 0) -> ChannelState:
        """Swap in the channel at the hub's rate (checked against `reference_rate`)."""
        if (wei_to_sell > 0) == (tokens_to_sell > 0):
            raise ValueError("sell either wei or tokens")
        start = self.state.tx_count_global
        self._requests.exchange = ExchangeRequest(wei_to_sell, tokens_to_sell)
        self.apply_sync(self.hub.request_exchange(
            wei_to_sell=wei_to_sell, tokens_to_sell=tokens_to_sell, last_chan_tx=start))
        if self.state.tx_count_global == start:
            raise self._last_rejection_or(SpokeError("the hub proposed no exchange"))
        return self.state

    def withdraw(self, *, recipient: str | None = None, amount_wei: int = 0, amount_token: int = 0,
                 tokens_to_sell: int = 0, wei_to_sell: int = 0, exchange_rate: str | None = None,
                 wait: bool = True, timeout: float = 180.0) -> ChannelState:
        """Withdraw to `recipient` (default: the user): `amount_wei`/`amount_token` leave the
        channel, `tokens_to_sell`/`wei_to_sell` are exchanged first (their proceeds leave too)."""
        request = WithdrawalRequest(
            recipient=parse_address(recipient or self.user, "recipient"),
            withdrawal_wei_user=amount_wei, withdrawal_token_user=amount_token,
            tokens_to_sell=tokens_to_sell, wei_to_sell=wei_to_sell,
        )
        start = self.state.tx_count_global
        self._requests.withdrawal = request
        rate = exchange_rate or self.reference_rate().rate
        self.apply_sync(self.hub.request_withdrawal({
            "recipient": request.recipient,
            "exchangeRate": rate,
            "withdrawalWeiUser": str(amount_wei),
            "withdrawalTokenUser": str(amount_token),
            "tokensToSell": str(tokens_to_sell),
            "weiToSell": str(wei_to_sell),
        }, last_chan_tx=start))
        if self.state.tx_count_global == start:
            raise self._last_rejection_or(SpokeError("the hub proposed no withdrawal"))
        if not wait:
            return self.state
        return self.wait_for(lambda s: s.tx_count_global >= start + 2 and not s.has_pending_ops,
                             timeout=timeout)

    def _last_rejection_or(self, exc: SpokeError) -> SpokeError:
        return self.rejections[-1] if self.rejections else exc

    def buy(self, payments: Sequence[PaymentRequest], *, meta: Mapping[str, Any] | None = None) -> PurchaseResult:
        """`POST payments/purchase`: one user→hub Payment per item, chained by txCount."""
        if not payments:
            raise ValueError("a purchase needs at least one payment")
        current = self.state
        now = self.now()
        items: list[dict[str, Any]] = []
        for p in payments:
            if p.type not in PAYMENT_TYPES:
                raise ValueError(f"unsupported payment type {p.type!r}")
            recipient = ZERO_ADDRESS if p.type == "PT_LINK" else parse_address(p.recipient, "recipient")
            if p.type == "PT_LINK" and not str(p.meta.get("secret", "")).startswith("0x"):
                raise ValueError("a link payment needs meta['secret'] as 0x-hex")
            args = PaymentArgs("hub", p.amount_wei, p.amount_token)
            current = self.key.sign_state(apply_update(current, "Payment", args, now=now))
            items.append({
                "recipient": recipient,
                "amount": {"amountWei": str(p.amount_wei), "amountToken": str(p.amount_token)},
                "meta": dict(p.meta),
                "type": p.type,
                "update": {"reason": "Payment", "args": args.to_json(),
                           "txCount": current.tx_count_global, "sigUser": current.sig_user},
            })
        response = self.hub.purchase(meta=meta or {}, payments=items)
        self.apply_sync(response.get("sync"))
        if self.state.tx_count_global < current.tx_count_global:
            raise SpokeError(f"the hub did not countersign the purchase {response.get('purchaseId')}")
        return PurchaseResult(purchase_id=str(response.get("purchaseId")), state=self.state)

    def pay(self, recipient: str, *, amount_wei: int = 0, amount_token: int = 0,
            payment_type: str = "PT_CHANNEL", meta: Mapping[str, Any] | None = None,
            purchase_meta: Mapping[str, Any] | None = None) -> PurchaseResult:
        """Pay one recipient through the hub."""
        return self.buy([PaymentRequest(recipient, amount_wei, amount_token, payment_type,
                                        dict(meta or {}))], meta=purchase_meta)

    def pay_invoice(self, invoice: str, *, payment_type: str = "PT_CHANNEL") -> PurchaseResult:
        """Pay what is still due on an invoice (its id or checkout URL) from this channel: the
        remaining amount, in the invoice's asset, to its receiving address, with
        `meta.invoiceId` (a merchant without a channel is credited custodially)."""
        due = self.hub.invoice_payable(invoice)
        if not due.get("payable"):
            raise SpokeError(f"invoice {due.get('id')} is not payable (status {due.get('status')})")
        amount = int(due["amount_remaining"])
        wei, token = (0, amount) if due["asset"] == "token" else (amount, 0)
        return self.pay(str(due["pay_to"]), amount_wei=wei, amount_token=token,
                        payment_type=payment_type, meta=dict(due["payment_meta"]))

    def pay_link(self, *, amount_wei: int = 0, amount_token: int = 0, secret: str | None = None,
                 meta: Mapping[str, Any] | None = None) -> PurchaseResult:
        """A link payment: the hub holds the amount until someone redeems `secret`."""
        secret = secret or generate_secret()
        result = self.buy([PaymentRequest(ZERO_ADDRESS, amount_wei, amount_token, "PT_LINK",
                                          {**dict(meta or {}), "secret": secret})])
        return PurchaseResult(result.purchase_id, result.state, secret)

    def redeem(self, secret: str) -> dict[str, Any]:
        """Redeem a link into this channel; returns `{purchaseId, amount}`."""
        response = self.hub.redeem(secret, last_chan_tx=self.state.tx_count_global,
                                   last_thread_update_id=self.record.last_thread_update_id)
        self.apply_sync(response.get("sync"))
        return {"purchaseId": response.get("purchaseId"), "amount": response.get("amount")}

    def request_collateral(self) -> list[ChannelState]:
        return self.apply_sync(self.hub.request_collateralization(
            last_chan_tx=self.state.tx_count_global))

    def invalidate_expired(self) -> ChannelState:
        """Invalidate our latest state's pending operations once its timeout has passed (by block
        time) and the contract never saw it (`CU_INVALID_TIMEOUT`, as the Connext client does)."""
        if self.chain is None:
            raise ChainError("checking that an update never reached the chain needs `chain`")
        prev = self.state
        if not prev.has_pending_ops or prev.timeout == 0:
            raise SpokeError("nothing to invalidate")
        if self.chain.channel_details(self.user).tx_count_global >= prev.tx_count_global:
            raise SpokeError("the pending update reached the chain; wait for ConfirmPending")
        withdrawal = withdrawal_args_or_none(self.record.pending_withdrawal)
        args = InvalidationArgs(prev.tx_count_global, "CU_INVALID_TIMEOUT",
                                "timed out without reaching the chain", withdrawal)
        new = apply_update(prev, "Invalidation", args, now=self.now(), invalidated_withdrawal=withdrawal)
        self._post_own("Invalidation", args, self.key.sign_state(new))
        return self.state

    # ---- live updates --------------------------------------------------------------------

    def ws_url(self) -> str:
        parts = urlsplit(self.hub.hub_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        return urlunsplit((scheme, parts.netloc, "/ws/channel/", "", ""))

    def handle_push(self, message: str | bytes) -> list[ChannelState]:
        """Apply one `/ws/channel/` message. Expected shapes (each with an integer `seq`, +1 per
        message on a connection): `{seq, type:'channel', update:{...}}`, `{seq, sync:{status,
        updates}}` or `{seq, status, updates}`. A gap in `seq` or anything unparseable → a full
        HTTP sync."""
        try:
            data = json.loads(message)
        except ValueError:
            return self.sync()
        if not isinstance(data, Mapping):
            return self.sync()
        seq = data.get("seq")
        gap = isinstance(seq, int) and self._ws_seq is not None and seq != self._ws_seq + 1
        if isinstance(seq, int):
            self._ws_seq = seq
        if gap:
            return self.sync()
        if isinstance(data.get("sync"), Mapping):
            return self.apply_sync(data["sync"])
        if "updates" in data:
            return self.apply_sync(data)
        if data.get("type") in ("channel", "channel_update") and isinstance(
                data.get("update"), Mapping):
            # The hub pushes `{type: 'channel_update', seq, update}`: one sync item.
            return self.apply_sync({"status": self.status,
                                    "updates": [{"type": "channel", "update": data["update"]}]})
        return []

    def watch(self, stop: threading.Event, *, poll_interval: float = 2.0,
              reconnect_after: float = 30.0) -> None:
        """Follow the channel until `stop` is set: WebSocket pushes on `/ws/channel/` (auth
        headers on the handshake), a full sync after every (re)connect, and polling every
        `poll_interval` seconds while the socket is down."""
        from websockets.exceptions import WebSocketException
        from websockets.sync.client import connect

        while not stop.is_set():
            try:
                with connect(self.ws_url(), additional_headers=self.hub.auth_headers(),
                             open_timeout=5, proxy=None) as ws:
                    self._ws_seq = None
                    self._safe(self.sync)
                    while not stop.is_set():
                        try:
                            message = ws.recv(timeout=poll_interval)
                        except TimeoutError:
                            continue
                        self._safe(lambda m=message: self.handle_push(m))  # type: ignore[misc]
            except (OSError, WebSocketException) as exc:
                log.info("channel socket unavailable (%s); polling", exc)
                deadline = self._clock() + reconnect_after
                while not stop.is_set() and self._clock() < deadline:
                    self._safe(self.sync)
                    stop.wait(poll_interval)

    def _safe(self, fn: Callable[[], object]) -> None:
        try:
            fn()
        except (SpokeError, UpdateRejected) as exc:
            log.warning("sync failed: %s", exc)

    # ---- leaving without the hub ---------------------------------------------------------

    def export_exit_args(self) -> dict[str, Any]:
        """The latest double-signed, timeout-0 state as the named arguments of
        `startExitWithUpdate` / `emptyChannelWithChallenge` (ABI order)."""
        if self.record.exitable is None:
            raise NoExitableState("no double-signed state with timeout 0 yet")
        return exit_args(self.record.exitable)

    def start_exit(self) -> str:
        """Start a unilateral exit: `startExitWithUpdate` with our exitable state if it is newer
        than the contract's, else `startExit`. Returns the tx hash."""
        chain = self._need_chain()
        onchain = chain.channel_details(self.user)
        if onchain.status != "Open":
            # The hub (or an earlier call) started it: answer with `empty_channel()` instead.
            raise ChainError(f"the channel is already in {onchain.status} on chain")
        exitable = self.record.exitable
        if exitable is not None and exitable.tx_count_global > onchain.tx_count_global:
            return chain.start_exit_with_update(exitable)
        return chain.start_exit(self.user)

    def empty_channel(self) -> str:
        """Finish an exit: challenge the hub's exit with our newer state while the challenge
        period runs, else `emptyChannel` (after the closing time, or as the non-initiator)."""
        chain = self._need_chain()
        onchain = chain.channel_details(self.user)
        exitable = self.record.exitable
        if (
            onchain.status == "ChannelDispute"
            and onchain.exit_initiator != self.user
            and exitable is not None
            and exitable.tx_count_global > onchain.tx_count_global
            and chain.block_time() < onchain.closing_time
        ):
            return chain.empty_channel_with_challenge(exitable)
        return chain.empty_channel(self.user)

    def _need_chain(self) -> ChannelManagerClient:
        if self.chain is None:
            raise ChainError("this needs `chain`")
        return self.chain


# A wallet is the channel plus its key; the name reads better in application code.
Wallet = Channel
