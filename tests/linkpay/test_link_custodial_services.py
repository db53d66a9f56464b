"""The link services on merchant (custodial) links, called directly: creation from several
receiving addresses, the exact refusals, the on-chain claim and its outcome callback, and the
way back to the custodial accounts. The claim's transaction is only recorded (the test's
transaction never commits, so the outbox never sends it); its outcome is given to the callback."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from hub.chain.models import ChainTransaction
from hub.channels.errors import ChannelError
from hub.core import UpdateRejected
from hub.ledger.models import LedgerEntry
from hub.ledger.services import account_balance
from linkpay import conf
from linkpay.errors import LinkError
from linkpay.models import Link
from linkpay.services import (
    IssuedLink,
    link_cancel,
    link_claim_onchain,
    link_create_custodial,
    link_expire,
    link_onchain_claim_completed,
    links_expire_due,
)
from payments.errors import PaymentsError
from payments.events.models import Event
from payments.merchants.services import merchant_create
from tests.chain_env import ChainEnv
from tests.linkpay.secret_scan import register
from tests.payments.conftest import Shop, credit_custodial, random_address

pytestmark = pytest.mark.django_db


def issue(merchant_id: int, amount: int, asset: str = "wei", **kwargs: Any) -> IssuedLink:
    issued = link_create_custodial(merchant_id=merchant_id, amount=amount, asset=asset, **kwargs)
    register(issued.secret)
    return issued


def postings(link: Link) -> list[list[tuple[str, str, int, str]]]:
    """Every posting that touched the link's account, in order, each as its sorted entries."""
    ids = list(LedgerEntry.objects.filter(account=link.ledger_account).order_by("id")
               .values_list("posting", flat=True))
    return [sorted((e.account, e.asset, int(e.amount), e.memo) for e in LedgerEntry.objects.filter(posting=p))
            for p in ids]


def refusal(call: Any, kind: type[Exception] = PaymentsError) -> Any:
    with pytest.raises(kind) as refused:
        call()
    return refused.value


# --- create ---------------------------------------------------------------------------------------

def test_a_link_is_funded_from_the_merchants_addresses_in_order_skipping_those_without_balance() -> None:
    first, overdrawn, empty, last = (random_address() for _ in range(4))
    merchant = merchant_create(name="multi", addresses=[first, overdrawn, empty, last])
    credit_custodial(first, "token", 1)  # exactly one base unit still counts
    credit_custodial(overdrawn, "token", -5)
    credit_custodial(last, "token", 40)
    before = timezone.now()
    issued = issue(merchant.pk, 41, "token", note="n", expires_in=3600)  # exactly the balance
    link = Link.objects.get(pk=issued.link.pk)
    assert issued.link.pk == link.pk and link.secret_hash == hashlib.sha256(issued.secret.encode()).hexdigest()
    assert (link.funding, link.sender, link.merchant_id, link.asset, link.amount, link.note, link.status) == (
        "custodial", first, merchant.pk, "token", 41, "n", "open")
    assert link.debits == {first: "1", last: "40"}
    assert before + timedelta(seconds=3600) <= link.expires_at <= timezone.now() + timedelta(seconds=3600)
    funded = f"link {link.public_id} funded from custodial balance"
    assert sorted((e.account, e.asset, int(e.amount)) for e in LedgerEntry.objects.filter(memo=funded)) == sorted([
        (f"custodial:{first}", "token", -1), (f"custodial:{last}", "token", -40), ("hub:link_float", "token", 41)])
    assert postings(link) == [sorted([(link.ledger_account, "token", 41, f"link {link.public_id} held"),
                                      ("hub:link_float", "token", -41, f"link {link.public_id} held")])]
    assert [account_balance(f"custodial:{a}", "token") for a in (first, overdrawn, empty, last)] == [0, -5, 0, 0]
    event = Event.objects.get()
    assert (event.type, event.merchant_id, event.idempotency_key) == (
        "link.created", merchant.pk, f"link.created:{link.public_id}")
    assert event.data["object"]["id"] == link.public_id and event.data["object"]["status"] == "open"


def test_the_sender_is_the_first_address_debited() -> None:
    empty, funded = random_address(), random_address()
    merchant = merchant_create(name="m", addresses=[empty, funded])
    credit_custodial(funded, "wei", 10)
    link = issue(merchant.pk, 4).link
    assert (link.sender, link.debits) == (funded, {funded: "4"})
    assert account_balance(f"custodial:{funded}", "wei") == 6


def test_one_unit_above_the_balance_is_refused_with_the_available_amount(shop: Shop) -> None:
    other = random_address()
    credit_custodial(shop.address, "wei", 7)
    credit_custodial(other, "wei", -3)  # not the merchant's: not counted either way
    exc = refusal(lambda: issue(shop.merchant.pk, 8))
    assert (exc.code, exc.param, exc.message) == ("balance_insufficient", "amount", "the custodial balance is 7 wei")
    assert not Link.objects.exists() and account_balance(f"custodial:{shop.address}", "wei") == 7


def test_an_expiry_outside_its_bounds_is_refused_and_its_bounds_are_accepted(
        shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conf, "LINK_MIN_TTL_SECONDS", 100)
    monkeypatch.setattr(conf, "LINK_MAX_TTL_SECONDS", 200)
    credit_custodial(shop.address, "wei", 10)
    for bad in (99, 201, True, "150", 150.0):
        exc = refusal(lambda bad=bad: issue(shop.merchant.pk, 1, expires_in=bad))
        assert (exc.code, exc.param, exc.message) == (
            "parameter_invalid", "expires_in", "a link expires in 100..200 seconds"), bad
    assert not Link.objects.exists()
    for ttl in (100, 200):
        before = timezone.now()
        link = issue(shop.merchant.pk, 1, expires_in=ttl).link
        assert before + timedelta(seconds=ttl) <= link.expires_at <= timezone.now() + timedelta(seconds=ttl)


def test_the_default_expiry_is_the_configured_one(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conf, "LINK_DEFAULT_TTL_SECONDS", 5000)
    credit_custodial(shop.address, "wei", 10)
    before = timezone.now()
    link = issue(shop.merchant.pk, 1).link
    assert before + timedelta(seconds=5000) <= link.expires_at <= timezone.now() + timedelta(seconds=5000)


def test_a_merchant_without_receiving_addresses_is_refused() -> None:
    merchant = merchant_create(name="none")
    exc = refusal(lambda: issue(merchant.pk, 1))
    assert (exc.code, exc.param) == ("receiving_address_missing", None)
    assert exc.message == "the merchant has no receiving address"


# --- claim on-chain ----------------------------------------------------------------------------

def guess_ip() -> str:
    return f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250)}"


def test_a_claim_records_the_wei_payout_and_moves_the_link_to_redeeming(hub_chain: ChainEnv, shop: Shop) -> None:
    credit_custodial(shop.address, "wei", 100)
    issued = issue(shop.merchant.pk, 60, expires_in=3600)
    to = random_address()
    before = timezone.now()
    claimed = link_claim_onchain(link_public_id=issued.link.public_id, secret=issued.secret, to=to.upper().replace("0X", "0x"))
    link = Link.objects.get(pk=issued.link.pk)
    tx = ChainTransaction.objects.get()
    assert claimed.pk == link.pk and claimed.chain_transaction_id == tx.pk
    assert (link.status, link.redeemer, link.payout, link.chain_transaction_id, link.claim_attempts) == (
        "redeeming", to, "onchain", tx.pk, 1)
    assert before <= link.claimed_at <= timezone.now() and link.completed_at is None
    assert (tx.purpose, tx.to, tx.data, int(tx.value), tx.idempotency_key, tx.on_complete) == (
        "link_claim", to, "0x", 60, f"link-claim:{link.public_id}:1",
        "linkpay.services.link_onchain_claim_completed")
    assert account_balance(link.ledger_account, "wei") == 60  # held until the payout is confirmed
    again = refusal(lambda: link_claim_onchain(link_public_id=link.public_id, secret=issued.secret, to=to), LinkError)
    assert (again.code, again.status) == ("link_redeemed", 400)


def test_a_token_claim_is_an_erc20_transfer_and_needs_the_token_configured(hub_chain: ChainEnv, shop: Shop, settings: Any) -> None:
    credit_custodial(shop.address, "token", 10**18)
    issued = issue(shop.merchant.pk, 3 * 10**17, "token")
    to = random_address()
    settings.TOKEN_ADDRESS = ""
    exc = refusal(lambda: link_claim_onchain(link_public_id=issued.link.public_id, secret=issued.secret, to=to),
                  ChannelError)
    assert (exc.code, exc.status) == ("token_not_configured", 503)
    assert Link.objects.get(pk=issued.link.pk).status == "open" and not ChainTransaction.objects.exists()
    token = random_address()
    settings.TOKEN_ADDRESS = token
    link_claim_onchain(link_public_id=issued.link.public_id, secret=issued.secret, to=to)
    tx = ChainTransaction.objects.get()
    transfer = "0xa9059cbb" + to[2:].rjust(64, "0") + format(3 * 10**17, "x").rjust(64, "0")
    assert (tx.purpose, tx.to, tx.data, int(tx.value), tx.on_complete) == (
        "link_claim", token, transfer, 0, "linkpay.services.link_onchain_claim_completed")
    assert Link.objects.get(pk=issued.link.pk).status == "redeeming"


def test_a_claim_with_a_wrong_secret_or_link_is_not_found_and_counts_against_the_ip(
        shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conf, "LINK_GUESS_LIMIT", 3)
    credit_custodial(shop.address, "wei", 100)
    issued = issue(shop.merchant.pk, 5)
    other = issue(shop.merchant.pk, 5)
    ip = guess_ip()
    for public_id, secret in ((issued.link.public_id, other.secret), ("lnk_" + "0" * 24, issued.secret),
                              (issued.link.public_id, 7)):
        exc = refusal(lambda p=public_id, s=secret: link_claim_onchain(  # type: ignore[misc]
            link_public_id=p, secret=s, to=random_address(), ip=ip), LinkError)
        assert (exc.code, exc.status) == ("link_not_found", 404)
    exc = refusal(lambda: link_claim_onchain(link_public_id=issued.link.public_id, secret=issued.secret,
                                             to=random_address(), ip=ip), LinkError)
    assert exc.code == "rate_limited"
    # the right secret from another ip; a right guess does not count
    for _ in range(4):
        with pytest.raises(UpdateRejected):
            link_claim_onchain(link_public_id=issued.link.public_id, secret=issued.secret, to="nope", ip=guess_ip())
    assert Link.objects.get(pk=issued.link.pk).status == "open"


def test_a_claim_to_a_bad_or_burn_address_is_refused_and_the_link_stays_open(shop: Shop) -> None:
    credit_custodial(shop.address, "wei", 100)
    issued = issue(shop.merchant.pk, 5)
    exc = refusal(lambda: link_claim_onchain(link_public_id=issued.link.public_id, secret=issued.secret,
                                             to="0x12"), UpdateRejected)
    assert exc.code == "bad_args" and exc.message.startswith("address is not an address")
    for burn, reason in (("0x" + "0" * 40, "the zero address"), ("0x" + "0" * 36 + "dEaD", "0x…dEaD is a burn")):
        exc = refusal(lambda b=burn: link_claim_onchain(  # type: ignore[misc]
            link_public_id=issued.link.public_id, secret=issued.secret, to=b), UpdateRejected)
        assert exc.code == "bad_args" and exc.message.startswith(reason), exc.message
    assert Link.objects.get(pk=issued.link.pk).status == "open" and not ChainTransaction.objects.exists()


def test_a_claim_at_the_expiry_instant_is_refused_and_just_before_it_is_accepted(hub_chain: ChainEnv, shop: Shop) -> None:
    credit_custodial(shop.address, "wei", 100)
    issued = issue(shop.merchant.pk, 5, expires_in=3600)
    at = issued.link.expires_at
    exc = refusal(lambda: link_claim_onchain(link_public_id=issued.link.public_id, secret=issued.secret,
                                             to=random_address(), now=at), LinkError)
    assert (exc.code, exc.status) == ("link_expired", 410)
    link_claim_onchain(link_public_id=issued.link.public_id, secret=issued.secret, to=random_address(),
                       now=at - timedelta(microseconds=1))
    assert Link.objects.get(pk=issued.link.pk).status == "redeeming"


def complete(tx: ChainTransaction, state: str) -> None:
    """What the outbox does when the transaction reaches `state`: record it, call back."""
    with transaction.atomic():
        ChainTransaction.objects.filter(pk=tx.pk).update(state=state)
        link_onchain_claim_completed(ChainTransaction.objects.get(pk=tx.pk))


def test_a_confirmed_payout_redeems_the_link_and_moves_the_hold_to_onchain_payouts(hub_chain: ChainEnv, shop: Shop) -> None:
    credit_custodial(shop.address, "wei", 100)
    issued = issue(shop.merchant.pk, 60)
    link_claim_onchain(link_public_id=issued.link.public_id, secret=issued.secret, to=random_address())
    tx = ChainTransaction.objects.get()
    before = timezone.now()
    complete(tx, "confirmed")
    link = Link.objects.get(pk=issued.link.pk)
    assert link.status == "redeemed" and before <= link.completed_at <= timezone.now()
    memo = f"link {link.public_id} paid on-chain"
    assert postings(link)[-1] == sorted([(link.ledger_account, "wei", -60, memo),
                                         ("hub:onchain_payouts", "wei", 60, memo)])
    assert account_balance(link.ledger_account, "wei") == 0
    event = Event.objects.get(type="link.redeemed")
    assert (event.merchant_id, event.data["object"]["status"]) == (shop.merchant.pk, "redeemed")
    complete(tx, "confirmed")  # a second callback changes nothing
    assert len(postings(link)) == 2 and Event.objects.filter(type="link.redeemed").count() == 1


def test_a_failed_payout_reopens_the_link_and_the_next_claim_is_a_new_transaction(
        hub_chain: ChainEnv, shop: Shop, caplog: pytest.LogCaptureFixture) -> None:
    credit_custodial(shop.address, "wei", 100)
    issued = issue(shop.merchant.pk, 60)
    link_claim_onchain(link_public_id=issued.link.public_id, secret=issued.secret, to=random_address())
    first = ChainTransaction.objects.get()
    with caplog.at_level("WARNING", logger="linkpay.services"):
        complete(first, "failed")
    assert [r.getMessage() for r in caplog.records if r.name == "linkpay.services"] == [
        f"on-chain payout of link {issued.link.public_id} failed; the link is open again"]  # for the operator
    link = Link.objects.get(pk=issued.link.pk)
    assert (link.status, link.redeemer, link.payout, link.chain_transaction_id, link.claimed_at,
            link.completed_at, link.claim_attempts) == ("open", "", "", None, None, None, 1)
    assert len(postings(link)) == 1 and account_balance(link.ledger_account, "wei") == 60
    assert not Event.objects.filter(type="link.redeemed").exists()
    to = random_address()
    link_claim_onchain(link_public_id=link.public_id, secret=issued.secret, to=to)
    second = ChainTransaction.objects.exclude(pk=first.pk).get()
    assert (second.idempotency_key, second.to) == (f"link-claim:{link.public_id}:2", to)
    complete(first, "failed")  # the old transaction's callback again: the link is not its any more
    link = Link.objects.get(pk=link.pk)
    assert (link.status, link.redeemer, link.chain_transaction_id, link.claim_attempts) == (
        "redeeming", to, second.pk, 2)


def test_a_callback_for_a_transaction_of_no_link_does_nothing(hub_chain: ChainEnv, shop: Shop) -> None:
    from hub.chain.outbox import transaction_enqueue

    with transaction.atomic():
        tx = transaction_enqueue(purpose="other", to=random_address(), data="0x", value=1, idempotency_key="x")
    complete(tx, "confirmed")
    assert not LedgerEntry.objects.exists() and not Event.objects.exists()


# --- cancel and expire -------------------------------------------------------------------------

def test_cancel_returns_each_debit_to_its_account_once() -> None:
    first, second = random_address(), random_address()
    merchant = merchant_create(name="m", addresses=[first, second])
    credit_custodial(first, "token", 30)
    credit_custodial(second, "token", 50)
    link = issue(merchant.pk, 70, "token").link
    before = timezone.now()
    cancelled = link_cancel(link_public_id=link.public_id, merchant_id=merchant.pk)
    stored = Link.objects.get(pk=link.pk)
    assert cancelled.status == stored.status == "cancelled"
    assert (stored.returned_to, stored.return_update_id) == ("custodial", None)
    assert before <= stored.completed_at <= timezone.now()
    memo = f"link {link.public_id} cancelled: returned to custodial balance"
    assert postings(stored)[-1] == sorted([(link.ledger_account, "token", -70, memo),
                                           (f"custodial:{first}", "token", 30, memo),
                                           (f"custodial:{second}", "token", 40, memo)])
    assert [account_balance(f"custodial:{a}", "token") for a in (first, second)] == [30, 50]
    event = Event.objects.get(type="link.cancelled")
    assert (event.merchant_id, event.idempotency_key, event.data["object"]["status"]) == (
        merchant.pk, f"link.cancelled:{link.public_id}", "cancelled")
    exc = refusal(lambda: link_cancel(link_public_id=link.public_id, merchant_id=merchant.pk), LinkError)
    assert (exc.code, exc.status) == ("link_cancelled", 410)
    assert account_balance(link.ledger_account, "token") == 0


def test_cancel_finds_only_the_callers_own_link(shop: Shop, other_shop: Shop) -> None:
    credit_custodial(shop.address, "wei", 10)
    link = issue(shop.merchant.pk, 5).link
    for who in ({"merchant_id": other_shop.merchant.pk}, {"sender": other_shop.address},
                {"merchant_id": shop.merchant.pk + 10**6}):
        exc = refusal(lambda w=who: link_cancel(link_public_id=link.public_id, **w), LinkError)  # type: ignore[misc]
        assert (exc.code, exc.status) == ("link_not_found", 404), who
    with pytest.raises(ValueError):
        link_cancel(link_public_id=link.public_id)
    assert Link.objects.get(pk=link.pk).status == "open"
    # the sender's address in any case
    from eth_utils import to_checksum_address

    link_cancel(link_public_id=link.public_id, sender=to_checksum_address(shop.address))
    assert Link.objects.get(pk=link.pk).status == "cancelled"


def test_an_overdue_open_link_can_still_be_cancelled_but_not_one_being_claimed(hub_chain: ChainEnv, shop: Shop) -> None:
    credit_custodial(shop.address, "wei", 10)
    overdue, claimed = issue(shop.merchant.pk, 5), issue(shop.merchant.pk, 5)
    Link.objects.filter(pk=overdue.link.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert link_cancel(link_public_id=overdue.link.public_id, merchant_id=shop.merchant.pk).status == "cancelled"
    link_claim_onchain(link_public_id=claimed.link.public_id, secret=claimed.secret, to=random_address())
    exc = refusal(lambda: link_cancel(link_public_id=claimed.link.public_id, merchant_id=shop.merchant.pk),
                  LinkError)
    assert (exc.code, exc.status) == ("link_redeemed", 400)
    assert Link.objects.get(pk=claimed.link.pk).status == "redeeming"
    assert account_balance(f"custodial:{shop.address}", "wei") == 5


def test_expiry_is_due_at_the_expiry_instant_not_before(shop: Shop) -> None:
    credit_custodial(shop.address, "wei", 10)
    link = issue(shop.merchant.pk, 5, expires_in=3600).link
    at = link.expires_at
    assert link_expire(link_id=link.pk, now=at - timedelta(microseconds=1)) is False
    assert links_expire_due(now=at - timedelta(microseconds=1)) == 0
    assert links_expire_due(now=at) == 1
    stored = Link.objects.get(pk=link.pk)
    assert (stored.status, stored.returned_to) == ("expired", "custodial")
    assert link_expire(link_id=link.pk, now=at) is False  # once
    assert account_balance(f"custodial:{shop.address}", "wei") == 10
    assert Event.objects.get(type="link.expired").idempotency_key == f"link.expired:{link.public_id}"


def test_the_expiry_sweep_takes_the_most_overdue_first_and_ignores_other_statuses(hub_chain: ChainEnv, shop: Shop) -> None:
    credit_custodial(shop.address, "wei", 100)
    later, sooner, redeeming = (issue(shop.merchant.pk, 5, expires_in=ttl) for ttl in (7200, 3600, 1800))
    link_claim_onchain(link_public_id=redeeming.link.public_id, secret=redeeming.secret, to=random_address())
    at = timezone.now() + timedelta(hours=3)
    assert links_expire_due(now=at, limit=1) == 1
    statuses = dict(Link.objects.values_list("pk", "status"))
    assert [statuses[i.link.pk] for i in (later, sooner, redeeming)] == ["open", "expired", "redeeming"]
    assert links_expire_due(now=at) == 1 and Link.objects.get(pk=later.link.pk).status == "expired"
