"""Every write to links: create (the amount is held), redeem or claim with the secret, complete
pending redemptions, cancel, expire. Each state change locks the link row and checks its status
first, so it happens exactly once however many requests or workers race; each posts its ledger
entries and records its domain event in the same transaction.

Ledger: a held link is the liability `link:<id>` balanced against `hub:link_float`. It is
released against `hub:link_float` when paid into a channel, moved to `hub:onchain_payouts` when
its on-chain claim is confirmed, and moved to the sender's `custodial:<address>` when it goes
back there. So `link:<id>` is the held amount while the link is open or being redeemed, 0 after.

Lock order: link row first, then channel rows (lowest id first, `lock_user_channels`), then custodial
advisory locks. Purchases insert links while holding channel locks but never lock an existing
link, so the two orders cannot deadlock."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from hub.chain.channel_manager import hub_reserves
from hub.chain.outbox import transaction_enqueue
from hub.channels.errors import ChannelError
from hub.channels.models import Channel, ChannelUpdate
from hub.channels.proposals import channel_propose_hub_deposit
from hub.channels.records import channel_find, channel_state
from hub.collateral.services import collateral_request
from hub.core import UpdateRejected, parse_address
from hub.core.state import ZERO_ADDRESS
from hub.custodial.services import custodial_account, lock_custodial, lock_custodial_accounts
from hub.ledger.services import post
from hub.purchases.models import Payment
from hub.purchases.services import hub_pays, lock_user_channels
from hub.purchases.types import PaymentRequest, Purchasing
from linkpay import conf, errors
from linkpay.models import Link
from linkpay.ratelimit import guess_reserve
from linkpay.secret import secret_acceptable, secret_hash, secret_matches, secret_new
from linkpay.serializers import link_data
from ops import clock
from ops.rows import rows_insert
from payments.balances.selectors import custodial_balance_by_address
from payments.errors import PaymentsError
from payments.events.services import event_record
from payments.merchants.selectors import merchant_addresses, merchant_for_address
from payments.settlements.services import erc20_transfer_data

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")

logger = logging.getLogger(__name__)

LINK_FLOAT = "hub:link_float"
ONCHAIN_PAYOUTS = "hub:onchain_payouts"  # the account custodial withdrawals pay out through
ON_CLAIM_COMPLETE = "linkpay.services.link_onchain_claim_completed"
Status = Link.Status


# --- helpers ----------------------------------------------------------------------------------

def _expiry(expires_in: Any, now: datetime) -> datetime:
    if expires_in is None:
        return now + timedelta(seconds=conf.LINK_DEFAULT_TTL_SECONDS)
    if isinstance(expires_in, bool) or not isinstance(expires_in, int) or not (
            conf.LINK_MIN_TTL_SECONDS <= expires_in <= conf.LINK_MAX_TTL_SECONDS):
        raise UpdateRejected("bad_args", f"a link expires in {conf.LINK_MIN_TTL_SECONDS}.."
                                         f"{conf.LINK_MAX_TTL_SECONDS} seconds")
    return now + timedelta(seconds=expires_in)


def _hold(link: Link) -> None:
    post([(link.ledger_account, link.asset, link.amount), (LINK_FLOAT, link.asset, -link.amount)],
         memo=f"link {link.public_id} held")


def _release(link: Link, memo: str) -> None:
    post([(link.ledger_account, link.asset, -link.amount), (LINK_FLOAT, link.asset, link.amount)],
         memo=memo)


def _event(link: Link, type_: str) -> None:
    event_record(type=type_, merchant_id=link.merchant_id, data={"object": link_data(link)},
                 idempotency_key=f"{type_}:{link.public_id}")


def _insert(**fields: Any) -> Link:
    try:
        with transaction.atomic():
            return Link.objects.create(**fields)
    except IntegrityError:
        # the only unique input is the secret's hash; never echo the secret itself
        raise errors.LinkError("secret_in_use", "this link secret is already in use", status=400) from None


def _refuse_unless_open(link: Link, now: datetime) -> None:
    """The same answer for everyone who shows the secret of a finished link."""
    if link.status in (Status.REDEEMED, Status.REDEEMING):
        raise errors.link_redeemed()
    if link.status == Status.CANCELLED:
        raise errors.link_cancelled()
    if link.status == Status.EXPIRED or link.expires_at <= now:
        raise errors.link_expired()  # an overdue link is not redeemable; the sweep returns it


# --- create -----------------------------------------------------------------------------------

def deliver_link(ctx: Purchasing, payment: Payment, req: PaymentRequest) -> None:
    """PT_LINK (hub/purchases/types.py): the hub holds the payment in a new link that whoever
    knows the payment's secret can redeem."""
    if req.recipient != ZERO_ADDRESS:
        raise UpdateRejected("bad_args", "a link payment's recipient is the zero address")
    hashed = payment.meta.get("secretHash") if not req.secret else None
    if not req.secret and not hashed:
        raise UpdateRejected("bad_args", "a link payment needs meta.secret or meta.secretHash")
    rows_insert([payment])
    link_create_from_payment(payment=payment, secret=req.secret, hashed=hashed)


def link_create_from_payment(*, payment: Any, secret: str | None, hashed: object = None) -> Link:
    """Hold a PT_LINK payment (the payer's user→hub Payment is already recorded). Runs inside
    the purchase transaction. Optional `meta.expiresIn` (seconds) and `meta.note`.

    `hashed` instead of `secret`: the SHA-256 (64 lower-case hex) of a secret the payer keeps to
    itself (the Card: only the hash leaves the browser); the payer vouches for its strength."""
    if secret is None and isinstance(hashed, str) and _SHA256_HEX.fullmatch(hashed):
        stored_hash = hashed
    elif secret is None and hashed is not None:
        raise UpdateRejected("bad_args", "meta.secretHash is the SHA-256 of the secret, 64 lower-case hex digits")
    elif not secret_acceptable(secret):
        raise UpdateRejected("bad_args", "meta.secret must be 32..256 printable characters "
                                         "(at least 128 bits)")
    else:
        assert secret is not None
        stored_hash = secret_hash(secret)
    if payment.amount_wei and payment.amount_token:
        raise UpdateRejected("bad_args", "a link holds one asset: amountWei or amountToken")
    asset, amount = ((Link.Asset.TOKEN, payment.amount_token) if payment.amount_token
                     else (Link.Asset.WEI, payment.amount_wei))
    note = payment.meta.get("note", "")
    if not isinstance(note, str) or len(note) > 500:
        raise UpdateRejected("bad_args", "meta.note is a string of at most 500 characters")
    merchant = merchant_for_address(payment.sender)
    link = _insert(
        secret_hash=stored_hash, funding=Link.Funding.CHANNEL, sender=payment.sender,
        merchant=merchant, payment=payment, asset=asset, amount=amount, note=note,
        expires_at=_expiry(payment.meta.get("expiresIn"), clock.now()),
    )
    _hold(link)
    _event(link, "link.created")
    return link


@dataclass(frozen=True)
class IssuedLink:
    link: Link
    secret: str  # shown once, to the creator; stored nowhere


def link_create_custodial(*, merchant_id: int, amount: int, asset: str, expires_in: int | None = None,
                          note: str = "") -> IssuedLink:
    """A link funded from the merchant's custodial balance, with a Spoke-generated secret
    (256 bits). Refused (PaymentsError balance_insufficient) above the balance."""
    with transaction.atomic():
        if asset not in Link.Asset.values:
            raise PaymentsError("parameter_invalid", "asset is wei or token", param="asset")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise PaymentsError("amount_invalid", "amount is a positive integer of base units", param="amount")
        addresses = merchant_addresses(merchant_id)
        if not addresses:
            raise PaymentsError("receiving_address_missing", "the merchant has no receiving address")
        try:
            expires_at = _expiry(expires_in, clock.now())
        except UpdateRejected as exc:
            raise PaymentsError("parameter_invalid", exc.message, param="expires_in") from None
        # both lock kinds that guard custodial accounts (merchant platform and protocol withdrawals)
        lock_custodial_accounts(addresses)
        for address in sorted(addresses):
            lock_custodial(address)
        balances = custodial_balance_by_address(merchant_id, asset)
        available = sum(b for b in balances.values() if b > 0)
        if amount > available:
            raise PaymentsError("balance_insufficient", "the custodial balance is {amount}",
                                param="amount", amount=(available, asset))
        debits: dict[str, int] = {}
        remaining = amount
        for address, balance in balances.items():
            take = min(max(balance, 0), remaining)
            if take:
                debits[address] = take
                remaining -= take
        secret = secret_new()
        link = _insert(
            secret_hash=secret_hash(secret), funding=Link.Funding.CUSTODIAL, sender=next(iter(debits)),
            merchant_id=merchant_id, debits={a: str(v) for a, v in debits.items()}, asset=asset,
            amount=amount, note=note, expires_at=expires_at,
        )
        post([*((custodial_account(a), asset, -v) for a, v in debits.items()), (LINK_FLOAT, asset, amount)],
             memo=f"link {link.public_id} funded from custodial balance")
        _hold(link)
        _event(link, "link.created")
        return IssuedLink(link, secret)


# --- redeem into a channel (the Connext client's redeem) ---------------------------------------

@dataclass(frozen=True)
class Redemption:
    link: Link
    pending: bool  # accepted, paid when the hub has collateral in the redeemer's channel
    update: ChannelUpdate | None


def link_redeem(*, secret: Any, redeemer: str, ip: str | None = None,
                now: datetime | None = None) -> Redemption:
    """Pay the link named by `secret` into `redeemer`'s channel: a hub→redeemer Payment now, or,
    when the hub's balance there is short, an accepted pending redemption (collateral is
    requested; `link_redemptions_complete` pays it when collateral arrives). At most one
    redeemer per link. Unknown secrets count against the guess limit of `redeemer` and `ip`."""
    redeemer = parse_address(redeemer, "redeemer")
    reservation = guess_reserve(address=redeemer, ip=ip)
    if not isinstance(secret, str) or not secret.strip():
        raise UpdateRejected("bad_args", "secret is required")
    link_pk = Link.objects.filter(secret_hash=secret_hash(secret)).values_list("pk", flat=True).first()
    if link_pk is None:
        raise errors.link_not_found()  # the reservation stays: a failed guess
    reservation.release()
    result = _redeem_into_channel(link_pk, redeemer, now or clock.now())
    if result.pending:
        _request_collateral(result.link)
    return result


def _redeem_into_channel(link_pk: int, redeemer: str, now: datetime) -> Redemption:
    with transaction.atomic():
        link = Link.objects.select_for_update().get(pk=link_pk)
        retry = (link.status == Status.REDEEMING and link.payout == Link.Payout.CHANNEL
                 and link.redeemer == redeemer)
        if not retry:
            _refuse_unless_open(link, now)
        channel = lock_user_channels([redeemer])[redeemer]
        if channel.status != Channel.Status.OPEN:
            raise ChannelError("channel_not_open", "the redeemer's channel is not open", status=409)
        if not retry:
            link.status, link.redeemer, link.payout = Status.REDEEMING, redeemer, Link.Payout.CHANNEL
            link.claimed_at = timezone.now()
            link.save(update_fields=["status", "redeemer", "payout", "claimed_at"])
        paid = _pay_redeemer(link, channel)
        return Redemption(link, pending=not paid, update=link.redemption_update if paid else None)


def _pay_redeemer(link: Link, channel: Channel) -> bool:
    """Inside the caller's transaction, with the link and the channel locked."""
    prev = channel_state(channel, link.redeemer)
    paid = hub_pays(channel, prev, link.amount_wei, link.amount_token,
                     memo=f"link {link.public_id} redeemed")
    if paid is None:
        return False
    link.status, link.redemption_update, link.completed_at = Status.REDEEMED, paid.update, timezone.now()
    link.save(update_fields=["status", "redemption_update", "completed_at"])
    _release(link, memo=f"link {link.public_id} redeemed")
    _event(link, "link.redeemed")
    return True


def _request_collateral(link: Link) -> None:
    """Ask for enough hub collateral in the redeemer's channel for every pending redemption
    there. Best effort: the sweep asks again until the redemption completes."""
    user = link.redeemer
    pending = Link.objects.filter(status=Status.REDEEMING, payout=Link.Payout.CHANNEL, redeemer=user)
    try:
        if link.asset == Link.Asset.TOKEN:
            total = int(pending.filter(asset=Link.Asset.TOKEN).aggregate(t=Sum("amount"))["t"] or 0)
            collateral_request(user=user, target=total)
            return
        total = int(pending.filter(asset=Link.Asset.WEI).aggregate(t=Sum("amount"))["t"] or 0)
        short = total - channel_state(channel_find(user), user).balance_wei_hub
        if short > 0 and hub_reserves()[0] >= short:
            channel_propose_hub_deposit(user=user, wei=short, token=0)
    except (ChannelError, UpdateRejected) as exc:
        logger.info("collateral for link %s not requested: %s", link.public_id, exc.code)
    except Exception:  # the chain may be unreachable; the redemption is accepted regardless
        logger.warning("collateral for link %s not requested", link.public_id, exc_info=True)


def link_redemption_complete(*, link_id: int) -> bool:
    """Pay a pending channel redemption if the redeemer's channel can take it now. Exactly once
    (the link row is locked and must still be REDEEMING)."""
    with transaction.atomic():
        link = Link.objects.select_for_update().filter(
            pk=link_id, status=Status.REDEEMING, payout=Link.Payout.CHANNEL).first()
        if link is None:
            return False
        channel = lock_user_channels([link.redeemer])[link.redeemer]
        paid = _pay_redeemer(link, channel)
    if not paid:
        _request_collateral(link)
    return paid


def link_redemptions_complete(*, limit: int = 200) -> int:
    done = 0
    rows = Link.objects.filter(status=Status.REDEEMING, payout=Link.Payout.CHANNEL).order_by("id")
    for link_id in rows.values_list("id", flat=True)[:limit]:
        if link_redemption_complete(link_id=link_id):
            done += 1
    return done


# --- claim to an address on-chain (the public page) -------------------------------------------

def link_claim_onchain(*, link_public_id: str, secret: Any, to: Any, ip: str | None = None,
                       now: datetime | None = None) -> Link:
    """Pay the link to Ethereum address `to` from the hub's wallet through the transaction
    outbox. At most one claim succeeds; a payout that fails on-chain reopens the link (exactly
    once, in the outbox's completion callback). Wrong secrets count against `ip`'s limit."""
    reservation = guess_reserve(ip=ip)
    link = Link.objects.filter(public_id=str(link_public_id)).first()
    if link is None or not isinstance(secret, str) or not secret_matches(secret, link.secret_hash):
        raise errors.link_not_found()
    reservation.release()
    address = parse_address(to, "address")
    if address in BURN_ADDRESSES:
        raise UpdateRejected("bad_args", f"{BURN_ADDRESSES[address]}: anything sent there is lost for "
                                         "good. Enter the address of your own wallet.")
    return _claim_onchain(link.pk, address, now or clock.now())


# Addresses nobody holds a key for: a claim to one would burn the money (refused, with the reason)
BURN_ADDRESSES = {
    "0x" + "0" * 40: "the zero address (0x000…000) belongs to nobody",
    "0x" + "0" * 36 + "dead": "0x…dEaD is a burn address that belongs to nobody",
}


def _claim_onchain(link_pk: int, to: str, now: datetime) -> Link:
    with transaction.atomic():
        link = Link.objects.select_for_update().get(pk=link_pk)
        _refuse_unless_open(link, now)
        link.claim_attempts += 1
        key = f"link-claim:{link.public_id}:{link.claim_attempts}"
        if link.asset == Link.Asset.TOKEN:
            if not settings.TOKEN_ADDRESS:
                raise ChannelError("token_not_configured", "token payouts are not configured", status=503)
            tx = transaction_enqueue(purpose="link_claim", to=settings.TOKEN_ADDRESS,
                                     data=erc20_transfer_data(to, link.amount), value=0,
                                     idempotency_key=key, on_complete=ON_CLAIM_COMPLETE)
        else:
            tx = transaction_enqueue(purpose="link_claim", to=to, data="0x", value=link.amount,
                                     idempotency_key=key, on_complete=ON_CLAIM_COMPLETE)
        link.status, link.redeemer, link.payout = Status.REDEEMING, to, Link.Payout.ONCHAIN
        link.chain_transaction, link.claimed_at = tx, timezone.now()
        link.save(update_fields=["status", "redeemer", "payout", "chain_transaction", "claim_attempts",
                                 "claimed_at"])
        return link


def link_onchain_claim_completed(tx: Any) -> None:
    """Outbox callback, once per transaction, inside the transaction recording its outcome."""
    link = Link.objects.select_for_update().filter(chain_transaction=tx).first()
    if link is None or link.status != Status.REDEEMING:
        return
    if tx.state == "confirmed":
        link.status, link.completed_at = Status.REDEEMED, timezone.now()
        link.save(update_fields=["status", "completed_at"])
        post([(link.ledger_account, link.asset, -link.amount), (ONCHAIN_PAYOUTS, link.asset, link.amount)],
             memo=f"link {link.public_id} paid on-chain")
        _event(link, "link.redeemed")
        return
    logger.warning("on-chain payout of link %s failed; the link is open again", link.public_id)
    link.status, link.redeemer, link.payout = Status.OPEN, "", ""
    link.chain_transaction, link.claimed_at = None, None
    link.save(update_fields=["status", "redeemer", "payout", "chain_transaction", "claimed_at"])


# --- back to the sender: cancel and expire ----------------------------------------------------

def _return_to_sender(link: Link, status: str) -> None:
    """Inside the caller's transaction with the link locked and OPEN."""
    if link.funding == Link.Funding.CUSTODIAL:
        lock_custodial_accounts(list(link.debits))
        post([(link.ledger_account, link.asset, -link.amount),
              *((custodial_account(a), link.asset, int(v)) for a, v in link.debits.items())],
             memo=f"link {link.public_id} {status}: returned to custodial balance")
        link.returned_to = "custodial"
    else:
        channel = lock_user_channels([link.sender])[link.sender]
        back = hub_pays(channel, channel_state(channel, link.sender), link.amount_wei,
                         link.amount_token, memo=f"link {link.public_id} returned")
        if back is not None:
            _release(link, memo=f"link {link.public_id} {status}: returned to channel")
            link.return_update, link.returned_to = back.update, "channel"
        else:
            # the hub cannot pay in the sender's channel now (short, or a timed operation):
            # the sender gets it as a custodial balance, which the client withdraws first
            lock_custodial(link.sender)
            post([(link.ledger_account, link.asset, -link.amount),
                  (custodial_account(link.sender), link.asset, link.amount)],
                 memo=f"link {link.public_id} {status}: returned to custodial balance")
            link.returned_to = "custodial"
    link.status, link.completed_at = status, timezone.now()
    link.save(update_fields=["status", "completed_at", "returned_to", "return_update"])
    _event(link, f"link.{status}")


def link_cancel(*, link_public_id: str, sender: str | None = None, merchant_id: int | None = None) -> Link:
    """The sender takes back an unredeemed link. Exactly once; a link that is being redeemed,
    redeemed, cancelled or expired is refused with the answer its secret would get."""
    with transaction.atomic():
        rows = Link.objects.select_for_update().filter(public_id=str(link_public_id))
        if merchant_id is not None:
            rows = rows.filter(merchant_id=merchant_id)
        elif sender is not None:
            rows = rows.filter(sender=sender.lower())
        else:
            raise ValueError("link_cancel needs the sender or the merchant")
        link = rows.first()
        if link is None:
            raise errors.LinkError("link_not_found", "no such link", status=404)
        if link.status != Status.OPEN:
            _refuse_unless_open(link, clock.now())
        _return_to_sender(link, Status.CANCELLED)
        return link


def link_expire(*, link_id: int, now: datetime | None = None) -> bool:
    """Return an overdue OPEN link to its sender. Exactly once (row lock + status check)."""
    now = now or clock.now()
    with transaction.atomic():
        link = Link.objects.select_for_update().filter(
            pk=link_id, status=Status.OPEN, expires_at__lte=now).first()
        if link is None:
            return False
        _return_to_sender(link, Status.EXPIRED)
        return True


def links_expire_due(*, now: datetime | None = None, limit: int = 500) -> int:
    now = now or clock.now()
    due = Link.objects.filter(status=Status.OPEN, expires_at__lte=now).order_by("expires_at")
    return sum(link_expire(link_id=pk, now=now) for pk in due.values_list("id", flat=True)[:limit])
