"""The link services on channel links, called directly: a PT_LINK's delivery and its refusals,
redemption into a channel (paid at once or pending, the collateral it asks for, completion),
and the way back to the sender's channel. Channels are written directly (tests/linkpay/helpers.py
`channel_at`: double-signed states with the hub's balances); the hub signs and pays for real."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from hub.channels.errors import ChannelError
from hub.channels.models import ChannelUpdate, ProposedUpdate
from hub.channels.records import channel_state
from hub.core import UpdateRejected
from hub.ledger.models import LedgerEntry
from hub.ledger.services import account_balance
from linkpay import conf
from linkpay.errors import REDEEMED_MESSAGE, LinkError, LinkRateLimited
from linkpay.models import Link
from linkpay.secret import secret_new
from linkpay.services import (
    link_cancel,
    link_claim_onchain,
    link_create_from_payment,
    link_expire,
    link_redeem,
    link_redemption_complete,
    link_redemptions_complete,
)
from payments.events.models import Event
from payments.merchants.services import merchant_create
from tests.chain_env import ChainEnv
from tests.linkpay.helpers import channel_at, deliver, link_entries
from tests.linkpay.secret_scan import register
from tests.payments.conftest import random_address

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


def refusal(call: Any, kind: type[Exception] = LinkError) -> Any:
    with pytest.raises(kind) as refused:
        call()
    return refused.value


def proposals(user: str) -> list[tuple[str, str]]:
    """(depositWeiHub, depositTokenHub) of every open collateral proposal in `user`'s channel."""
    return [(p.args["depositWeiHub"], p.args["depositTokenHub"]) for p in ProposedUpdate.objects.filter(
        channel__user=user, status="open", reason="ProposePendingDeposit")]


# --- delivery ---------------------------------------------------------------------------------

def test_a_link_payment_holds_its_one_asset_with_its_note_and_expiry(hub_chain: ChainEnv) -> None:
    sender = random_address()
    before = timezone.now()
    secret, link = deliver(sender, token=7, meta={"note": "x" * 500, "expiresIn": 7200})
    assert secret is not None
    assert (link.funding, link.sender, link.asset, link.amount, link.note, link.merchant_id, link.status) == (
        "channel", sender, "token", 7, "x" * 500, None, "open")
    assert link.secret_hash == hashlib.sha256(secret.encode()).hexdigest() and link.payment is not None
    assert before + timedelta(seconds=7200) <= link.expires_at <= timezone.now() + timedelta(seconds=7200)
    assert link_entries(link) == [(7, f"link {link.public_id} held")]
    assert account_balance("hub:link_float", "token") == -7
    event = Event.objects.get()
    assert (event.type, event.merchant_id, event.idempotency_key, event.data["object"]["id"]) == (
        "link.created", None, f"link.created:{link.public_id}", link.public_id)
    _, wei = deliver(sender, wei=3)
    assert (wei.asset, wei.amount, wei.note) == ("wei", 3, "")
    assert before + timedelta(seconds=conf.LINK_DEFAULT_TTL_SECONDS) <= wei.expires_at


def test_a_link_from_a_merchants_address_is_the_merchants(hub_chain: ChainEnv) -> None:
    address = random_address()
    merchant = merchant_create(name="m", addresses=[address])
    _, link = deliver(address, wei=5)
    assert link.merchant_id == merchant.pk
    assert Event.objects.get().merchant_id == merchant.pk


def test_a_link_made_from_a_secret_hash_stores_that_hash(hub_chain: ChainEnv) -> None:
    secret = register(secret_new())
    hashed = hashlib.sha256(secret.encode()).hexdigest()
    _, link = deliver(random_address(), wei=5, secret=None, meta={"secretHash": hashed})
    assert link.secret_hash == hashed


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"recipient": "0x" + "11" * 20}, "recipient is the zero address"),
    ({"secret": None}, "needs meta.secret or meta.secretHash"),
    ({"secret": None, "meta": {"secretHash": "AB" * 32}}, "meta.secretHash is the SHA-256"),
    ({"secret": "0x1234"}, "meta.secret must be 32..256"),
    ({"wei": 1}, "one asset"),
    ({"meta": {"note": "x" * 501}}, "meta.note"),
    ({"meta": {"note": 5}}, "meta.note"),
    ({"meta": {"expiresIn": 59}}, "a link expires in 60.."),
])
def test_a_bad_link_payment_is_refused_and_nothing_is_held(
        hub_chain: ChainEnv, kwargs: dict[str, Any], words: str) -> None:
    exc = refusal(lambda: deliver(random_address(), **{"token": 1, **kwargs}), UpdateRejected)
    assert exc.code == "bad_args" and words in exc.message, exc.message
    assert not Link.objects.exists() and not LedgerEntry.objects.exists()


def test_a_hash_that_is_not_a_string_is_refused_as_a_hash(hub_chain: ChainEnv) -> None:
    from hub.purchases.models import Payment, Purchase

    purchase = Purchase.objects.create(id="pur_" + secrets.token_hex(16), sender=random_address(), meta={})
    payment = Payment.objects.create(purchase=purchase, sender=purchase.sender, recipient="0x" + "0" * 40,
                                     amount_wei=1, type="PT_LINK", meta={})
    exc = refusal(lambda: link_create_from_payment(payment=payment, secret=None, hashed=7), UpdateRejected)
    assert exc.code == "bad_args" and "secretHash" in exc.message
    assert not Link.objects.exists()


def test_a_secret_given_with_a_hash_is_the_links_secret(hub_chain: ChainEnv) -> None:
    from hub.purchases.models import Payment, Purchase

    secret = register(secret_new())
    purchase = Purchase.objects.create(id="pur_" + secrets.token_hex(16), sender=random_address(), meta={})
    payment = Payment.objects.create(purchase=purchase, sender=purchase.sender, recipient="0x" + "0" * 40,
                                     amount_wei=1, type="PT_LINK", meta={})
    link = link_create_from_payment(payment=payment, secret=secret, hashed="not a hash")
    assert link.secret_hash == hashlib.sha256(secret.encode()).hexdigest()


def test_a_secret_already_in_use_is_refused(hub_chain: ChainEnv) -> None:
    secret, _ = deliver(random_address(), wei=1)
    exc = refusal(lambda: deliver(random_address(), wei=2, secret=secret))
    assert (exc.code, exc.status) == ("secret_in_use", 400)
    assert Link.objects.count() == 1


# --- redeem -----------------------------------------------------------------------------------

def test_a_redeemer_with_collateral_is_paid_at_once(hub_chain: ChainEnv) -> None:
    secret, link = deliver(random_address(), token=5)
    channel = channel_at(token_hub=5, wei_hub=9)  # exactly the amount
    before = timezone.now()
    result = link_redeem(secret=secret, redeemer=channel.user)
    stored = Link.objects.get(pk=link.pk)
    payment = ChannelUpdate.objects.get(channel=channel, reason="Payment")
    assert (result.pending, result.link.pk, result.update) == (False, link.pk, payment)
    assert (stored.status, stored.redeemer, stored.payout, stored.redemption_update_id) == (
        "redeemed", channel.user, "channel", payment.pk)
    assert before <= stored.claimed_at <= stored.completed_at <= timezone.now()
    assert payment.args == {"recipient": "user", "amountWei": "0", "amountToken": "5"}
    channel.refresh_from_db()
    state = channel_state(channel, channel.user)
    assert (state.balance_token_hub, state.balance_token_user, state.balance_wei_hub) == (0, 6, 9)
    memo = f"link {link.public_id} redeemed"
    assert link_entries(link) == [(5, f"link {link.public_id} held"), (-5, memo)]
    assert LedgerEntry.objects.get(account="hub:link_float", memo=memo).amount == 5
    event = Event.objects.get(type="link.redeemed")
    assert (event.idempotency_key, event.data["object"]["status"]) == (f"link.redeemed:{link.public_id}", "redeemed")
    assert proposals(channel.user) == []
    again = refusal(lambda: link_redeem(secret=secret, redeemer=channel.user))
    assert (again.code, again.status, again.message) == ("link_redeemed", 400, REDEEMED_MESSAGE)


def test_a_redeemed_link_is_never_paid_again_by_the_completion(hub_chain: ChainEnv) -> None:
    secret, link = deliver(random_address(), token=5)
    channel = channel_at(token_hub=5)
    link_redeem(secret=secret, redeemer=channel.user)
    channel_at(token_hub=5, user=channel.signer, tx_count=3)  # type: ignore[attr-defined]
    assert link_redemption_complete(link_id=link.pk) is False  # however much the hub holds now
    assert ChannelUpdate.objects.filter(channel=channel, reason="Payment").count() == 1


def test_a_wei_link_is_paid_in_wei(hub_chain: ChainEnv) -> None:
    secret, _ = deliver(random_address(), wei=4)
    channel = channel_at(wei_hub=4, token_hub=4)
    assert link_redeem(secret=secret, redeemer=channel.user).pending is False
    channel.refresh_from_db()
    state = channel_state(channel, channel.user)
    assert (state.balance_wei_hub, state.balance_wei_user, state.balance_token_hub) == (0, 4, 4)


def test_a_short_redeemer_is_pending_and_wei_collateral_is_asked_for_exactly_the_shortfall(
        hub_chain: ChainEnv) -> None:
    secret, link = deliver(random_address(), wei=5)
    channel = channel_at(wei_hub=4, token_hub=100)  # one wei short
    before = timezone.now()
    result = link_redeem(secret=secret, redeemer=channel.user.upper().replace("0X", "0x"))
    stored = Link.objects.get(pk=link.pk)
    assert (result.pending, result.update, result.link.pk) == (True, None, link.pk)
    assert (stored.status, stored.redeemer, stored.payout, stored.redemption_update_id, stored.completed_at) == (
        "redeeming", channel.user, "channel", None, None)
    assert before <= stored.claimed_at <= timezone.now()
    assert link_entries(link) == [(5, f"link {link.public_id} held")]
    assert not Event.objects.filter(type="link.redeemed").exists()
    assert proposals(channel.user) == [("1", "0")]
    # the same redeemer again: the same pending redemption; anyone else: redeemed
    assert link_redeem(secret=secret, redeemer=channel.user).pending is True
    assert Link.objects.get(pk=link.pk).claimed_at == stored.claimed_at
    other = channel_at(wei_hub=10)
    assert refusal(lambda: link_redeem(secret=secret, redeemer=other.user)).code == "link_redeemed"


def test_wei_collateral_covers_every_pending_channel_redemption_of_the_redeemer_only(
        hub_chain: ChainEnv) -> None:
    channel = channel_at(wei_hub=4, token_hub=0)
    user = channel.user
    elsewhere = channel_at(wei_hub=0)
    links = {name: deliver(random_address(), **amount) for name, amount in (
        ("paid", {"wei": 2}), ("first", {"wei": 3}), ("second", {"wei": 4}), ("token", {"token": 50}),
        ("other", {"wei": 100}), ("onchain", {"wei": 1000}))}
    assert link_redeem(secret=links["paid"][0], redeemer=user).pending is False  # the hub holds 2 more
    link_redeem(secret=links["first"][0], redeemer=user)
    assert proposals(user) == [("1", "0")]
    link_redeem(secret=links["other"][0], redeemer=elsewhere.user)
    link_claim_onchain(link_public_id=links["onchain"][1].public_id, secret=links["onchain"][0], to=user)
    ProposedUpdate.objects.update(status="expired")  # the first proposal lapsed unsigned
    link_redeem(secret=links["token"][0], redeemer=user)
    assert [int(t) >= 50 for w, t in proposals(user)] == [True]  # the token collateral, asked for on its own
    ProposedUpdate.objects.update(status="expired")
    link_redeem(secret=links["second"][0], redeemer=user)
    assert proposals(user) == [("5", "0")]  # 3 + 4 pending, less the 2 the hub holds


def test_token_collateral_is_asked_for_the_redeemers_pending_token_redemptions(hub_chain: ChainEnv) -> None:
    unit = 10**18  # above the policy's floor (10 tokens): the redemptions set the target
    user = channel_at(token_hub=0, wei_hub=0).user
    first, second, wei = deliver(random_address(), token=30 * unit), deliver(random_address(), token=40 * unit), \
        deliver(random_address(), wei=5)
    link_redeem(secret=wei[0], redeemer=user)
    ProposedUpdate.objects.update(status="expired")
    link_redeem(secret=first[0], redeemer=user)
    assert proposals(user) == [("0", str(30 * unit))]
    ProposedUpdate.objects.update(status="expired")
    link_redeem(secret=second[0], redeemer=user)
    assert proposals(user) == [("0", str(70 * unit))]


def test_a_redeemer_without_a_channel_is_asked_to_take_the_wei_collateral(hub_chain: ChainEnv) -> None:
    secret, _link = deliver(random_address(), wei=7)
    user = random_address()
    assert link_redeem(secret=secret, redeemer=user).pending is True
    assert proposals(user) == [("7", "0")]


def test_no_wei_collateral_is_asked_for_beyond_the_hubs_reserve(hub_chain: ChainEnv) -> None:
    from hub.chain.channel_manager import hub_reserves

    reserve = hub_reserves()[0]
    at_reserve, above = (channel_at(wei_hub=0) for _ in range(2))
    secret, _ = deliver(random_address(), wei=reserve)
    link_redeem(secret=secret, redeemer=at_reserve.user)
    assert proposals(at_reserve.user) == [(str(reserve), "0")]
    secret, _ = deliver(random_address(), wei=reserve + 1)
    assert link_redeem(secret=secret, redeemer=above.user).pending is True
    assert proposals(above.user) == []


def test_a_redemption_is_refused_when_the_redeemers_channel_is_not_open(hub_chain: ChainEnv) -> None:
    secret, link = deliver(random_address(), token=1)
    channel = channel_at(token_hub=5, status="channel_dispute")
    exc = refusal(lambda: link_redeem(secret=secret, redeemer=channel.user), ChannelError)
    assert (exc.code, exc.status) == ("channel_not_open", 409)
    assert Link.objects.get(pk=link.pk).status == "open"


def test_a_redemption_at_the_expiry_instant_is_refused_and_just_before_is_accepted(hub_chain: ChainEnv) -> None:
    secret, link = deliver(random_address(), token=1, meta={"expiresIn": 600})
    channel = channel_at(token_hub=5)
    exc = refusal(lambda: link_redeem(secret=secret, redeemer=channel.user, now=link.expires_at))
    assert (exc.code, exc.status) == ("link_expired", 410)
    link_redeem(secret=secret, redeemer=channel.user, now=link.expires_at - timedelta(microseconds=1))
    assert Link.objects.get(pk=link.pk).status == "redeemed"


def test_a_redemption_of_a_cancelled_link_is_refused(hub_chain: ChainEnv) -> None:
    sender = channel_at(token_hub=10)
    secret, link = deliver(sender.user, token=3)
    link_cancel(link_public_id=link.public_id, sender=sender.user)
    exc = refusal(lambda: link_redeem(secret=secret, redeemer=channel_at(token_hub=5).user))
    assert (exc.code, exc.status) == ("link_cancelled", 410)


def test_bad_redemption_requests_are_refused_with_their_codes(hub_chain: ChainEnv) -> None:
    user = channel_at(token_hub=5).user
    for secret in (None, "", "   ", 5):
        exc = refusal(lambda s=secret: link_redeem(secret=s, redeemer=user), UpdateRejected)  # type: ignore[misc]
        assert (exc.code, exc.message) == ("bad_args", "secret is required")
    exc = refusal(lambda: link_redeem(secret=secret_new(), redeemer="0x12"), UpdateRejected)
    assert exc.code == "bad_args" and exc.message.startswith("redeemer is not an address")


def test_unknown_secrets_count_against_the_redeemer_and_the_ip(
        hub_chain: ChainEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conf, "LINK_GUESS_LIMIT", 2)
    secret, link = deliver(random_address(), token=1)
    ip = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250)}"
    guesser = random_address()
    for _ in range(2):
        exc = refusal(lambda: link_redeem(secret=secret_new(), redeemer=guesser))
        assert (exc.code, exc.status) == ("link_not_found", 404)
    assert isinstance(refusal(lambda: link_redeem(secret=secret, redeemer=guesser)), LinkRateLimited)
    for _ in range(2):
        refusal(lambda: link_redeem(secret=secret_new(), redeemer=random_address(), ip=ip))
    assert isinstance(refusal(lambda: link_redeem(secret=secret, redeemer=random_address(), ip=ip)),
                      LinkRateLimited)
    # a right secret does not count: the redeemer's next guesses are still allowed
    channel = channel_at(token_hub=5)
    link_redeem(secret=secret, redeemer=channel.user)
    for _ in range(2):
        assert refusal(lambda: link_redeem(secret=secret_new(), redeemer=channel.user)).code == "link_not_found"
    assert Link.objects.get(pk=link.pk).redeemer == channel.user


# --- complete pending redemptions -------------------------------------------------------------

def test_a_pending_redemption_is_paid_once_when_collateral_arrives(hub_chain: ChainEnv) -> None:
    channel = channel_at(wei_hub=0)
    secret, link = deliver(random_address(), wei=5)
    link_redeem(secret=secret, redeemer=channel.user)
    ProposedUpdate.objects.update(status="expired")
    assert link_redemption_complete(link_id=link.pk) is False  # still short: asks again
    assert proposals(channel.user) == [("5", "0")]
    channel_at(wei_hub=5, user=channel.signer, tx_count=2)  # type: ignore[attr-defined]
    assert link_redemption_complete(link_id=link.pk) is True
    stored = Link.objects.get(pk=link.pk)
    assert stored.status == "redeemed" and stored.redemption_update is not None
    channel.refresh_from_db()
    assert channel_state(channel, channel.user).balance_wei_user == 5
    assert link_entries(link) == [(5, f"link {link.public_id} held"), (-5, f"link {link.public_id} redeemed")]
    assert link_redemption_complete(link_id=link.pk) is False
    assert Event.objects.filter(type="link.redeemed").count() == 1


def test_a_collateral_request_after_the_commit_asks_only_for_what_is_still_short(hub_chain: ChainEnv) -> None:
    """A redemption asks for collateral after its transaction: by then a top-up may have landed,
    or the completion sweep may have paid the link. Either way nothing is short any more, and
    nothing is asked for."""
    from linkpay.services import _request_collateral

    channel = channel_at(wei_hub=0)
    secret, link = deliver(random_address(), wei=5)
    assert link_redeem(secret=secret, redeemer=channel.user).pending is True
    ProposedUpdate.objects.update(status="expired")
    channel_at(wei_hub=5, user=channel.signer, tx_count=2)  # type: ignore[attr-defined]
    _request_collateral(Link.objects.get(pk=link.pk))  # still pending, but exactly covered now
    assert proposals(channel.user) == []
    assert link_redemption_complete(link_id=link.pk) is True
    _request_collateral(Link.objects.get(pk=link.pk))  # paid: no redemption of this user is pending
    assert proposals(channel.user) == []


def test_a_token_collateral_request_for_a_link_already_paid_asks_for_no_target(hub_chain: ChainEnv) -> None:
    """Token collateral is asked for with the pending redemptions as its target; none pending
    (paid meanwhile) is no target at all, so the policy's usual step applies: a channel above
    the floor is not topped up by less than half its profile's target."""
    from hub.collateral.models import CollateralAssignment, CollateralProfile
    from linkpay.services import _request_collateral

    unit = 10**18
    channel = channel_at(token_hub=26 * unit)
    secret, link = deliver(random_address(), token=unit)
    assert link_redeem(secret=secret, redeemer=channel.user).pending is False  # the hub keeps 25
    profile = CollateralProfile.objects.create(name="steady", minimum_maintained_token=30 * unit,
                                               amount_to_collateralize_token=40 * unit)
    CollateralAssignment.objects.create(user=channel.user, profile=profile)
    _request_collateral(Link.objects.get(pk=link.pk))
    assert proposals(channel.user) == []  # 15 short of the target: below the step of 20


def test_the_completion_sweep_pays_pending_channel_redemptions_oldest_first(hub_chain: ChainEnv) -> None:
    funded = channel_at(token_hub=100, wei_hub=100)
    user = funded.user
    redeemed_secret, _ = deliver(random_address(), token=1)
    link_redeem(secret=redeemed_secret, redeemer=user)  # a channel payout already done
    onchain_secret, onchain = deliver(random_address(), wei=1)
    link_claim_onchain(link_public_id=onchain.public_id, secret=onchain_secret, to=user)
    # an on-chain payout to an address with a channel is never paid into that channel
    assert link_redemption_complete(link_id=onchain.pk) is False
    short = [channel_at(token_hub=0) for _ in range(3)]
    pending = []
    for who in short:
        secret, link = deliver(random_address(), token=3)
        link_redeem(secret=secret, redeemer=who.user)
        pending.append(link)
    assert link_redemptions_complete() == 0
    for who in short:
        channel_at(token_hub=3, user=who.signer, tx_count=2)  # type: ignore[attr-defined]
    assert link_redemptions_complete(limit=1) == 1
    assert [Link.objects.get(pk=k.pk).status for k in pending] == ["redeemed", "redeeming", "redeeming"]
    assert link_redemptions_complete() == 2 and link_redemptions_complete() == 0
    assert Link.objects.get(pk=onchain.pk).status == "redeeming"
    assert not ChannelUpdate.objects.filter(channel=funded, reason="Payment", args__amountWei="1").exists()


# --- back to the sender -----------------------------------------------------------------------

def test_a_cancelled_link_goes_back_into_the_senders_channel(hub_chain: ChainEnv) -> None:
    sender = channel_at(token_hub=10)
    _, link = deliver(sender.user, token=4)
    before = timezone.now()
    link_cancel(link_public_id=link.public_id, sender=sender.user)
    stored = Link.objects.get(pk=link.pk)
    payment = ChannelUpdate.objects.get(channel=sender, reason="Payment")
    assert (stored.status, stored.returned_to, stored.return_update_id) == ("cancelled", "channel", payment.pk)
    assert before <= stored.completed_at <= timezone.now()
    assert payment.args == {"recipient": "user", "amountWei": "0", "amountToken": "4"}
    assert link_entries(link) == [(4, f"link {link.public_id} held"),
                                  (-4, f"link {link.public_id} cancelled: returned to channel")]
    assert account_balance("hub:link_float", "token") == 0
    assert Event.objects.get(type="link.cancelled").idempotency_key == f"link.cancelled:{link.public_id}"


def test_a_link_the_hub_cannot_pay_back_in_the_channel_goes_to_the_senders_custodial_balance(
        hub_chain: ChainEnv) -> None:
    sender = channel_at(wei_hub=2)
    _, link = deliver(sender.user, wei=3)
    Link.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert link_expire(link_id=link.pk) is True
    stored = Link.objects.get(pk=link.pk)
    assert (stored.status, stored.returned_to, stored.return_update_id) == ("expired", "custodial", None)
    assert stored.completed_at is not None
    memo = f"link {link.public_id} expired: returned to custodial balance"
    assert link_entries(link) == [(3, f"link {link.public_id} held"), (-3, memo)]
    assert account_balance(f"custodial:{sender.user}", "wei") == 3
    assert not ChannelUpdate.objects.filter(channel=sender, reason="Payment").exists()
    assert Event.objects.filter(type="link.expired").count() == 1


def test_a_link_of_a_sender_without_a_channel_state_goes_to_the_custodial_balance(hub_chain: ChainEnv) -> None:
    sender = random_address()
    _, link = deliver(sender, token=6)
    link_cancel(link_public_id=link.public_id, sender=sender)
    stored = Link.objects.get(pk=link.pk)
    assert (stored.status, stored.returned_to) == ("cancelled", "custodial")
    assert account_balance(f"custodial:{sender}", "token") == 6


def test_collateral_the_chain_cannot_be_asked_about_is_logged_and_the_redemption_stands(
        hub_chain: ChainEnv, settings: Any, caplog: pytest.LogCaptureFixture) -> None:
    from tests.chain_env import clear_chain_caches

    secret, link = deliver(random_address(), wei=5)
    user = channel_at(wei_hub=0).user
    clear_chain_caches()
    settings.ETH_RPC_URL = "http://127.0.0.1:9"  # nothing listens there: the reserve cannot be read
    with caplog.at_level("INFO", logger="linkpay.services"):
        assert link_redeem(secret=secret, redeemer=user).pending is True
    assert [(r.levelname, r.getMessage(), isinstance(r.exc_info, tuple)) for r in caplog.records
            if r.name == "linkpay.services"] == [
        ("WARNING", f"collateral for link {link.public_id} not requested", True)]
    assert proposals(user) == [] and Link.objects.get(pk=link.pk).status == "redeeming"


def test_collateral_refused_for_a_channel_no_longer_open_is_logged_with_its_code(
        hub_chain: ChainEnv, caplog: pytest.LogCaptureFixture) -> None:
    from hub.channels.models import Channel

    channel = channel_at(wei_hub=0)
    secret, link = deliver(random_address(), wei=5)
    link_redeem(secret=secret, redeemer=channel.user)
    ProposedUpdate.objects.update(status="expired")
    Channel.objects.filter(pk=channel.pk).update(status="channel_dispute")
    with caplog.at_level("INFO", logger="linkpay.services"):
        assert link_redemption_complete(link_id=link.pk) is False
    assert [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "linkpay.services"] == [
        ("INFO", f"collateral for link {link.public_id} not requested: channel_not_open")]
    assert Link.objects.get(pk=link.pk).status == "redeeming"
