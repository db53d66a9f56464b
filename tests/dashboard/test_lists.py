"""Payments: search in the metadata (JSONB containment or text) and sorting by whitelisted
columns; refunds and settlements: filters. Hostile values are refused with 400, never a 500;
settlement pages link the transaction to the deployment's explorer; invoices can be voided."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from hub.chain.models import ChainTransaction
from payments import conf
from payments.audit.models import AuditLog
from payments.dashboard.toasts import toast_for
from payments.errors import PaymentsError
from payments.invoices.models import Invoice
from payments.invoices.services import invoice_apply_payment, invoice_create
from payments.refunds.models import Refund
from payments.settlements.models import Settlement
from tests.dashboard.helpers import make_payment, make_team, post_form, sign_in

pytestmark = pytest.mark.django_db
ETH = 10**18


def client_for(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    sign_in(client, user)
    return client


@pytest.fixture
def shop():  # type: ignore[no-untyped-def]
    team = make_team("Bakery", roles=("staff", "manager"))
    now = timezone.now()
    team.a = make_payment(team.address, wei=ETH, created_at=now - timedelta(hours=3),  # type: ignore[attr-defined]
                          meta={"orderId": "1042", "customer": {"email": "ada@example.com"}})
    team.b = make_payment(team.address, wei=3 * ETH, created_at=now - timedelta(hours=2),  # type: ignore[attr-defined]
                          meta={"orderId": 1043, "note": "50% off_sale"})
    team.c = make_payment(team.address, wei=2 * ETH, created_at=now - timedelta(hours=1),  # type: ignore[attr-defined]
                          meta={"orderId": "2001"})
    return team


def ids(response) -> list[int]:  # type: ignore[no-untyped-def]
    return [p.pk for p in response.context["listed"].rows]


def test_metadata_key_value_is_a_containment_match_of_strings_and_numbers(shop) -> None:  # type: ignore[no-untyped-def]
    client = client_for(shop.owner)
    assert ids(client.get("/dashboard/payments/", {"meta": "orderId=1042"})) == [shop.a.pk]
    assert ids(client.get("/dashboard/payments/", {"meta": "orderId=1043"})) == [shop.b.pk]  # stored as a number
    assert ids(client.get("/dashboard/payments/", {"meta": "orderId=104"})) == []  # exact, not a prefix


def test_metadata_text_search_matches_anywhere_and_escapes_wildcards(shop) -> None:  # type: ignore[no-untyped-def]
    client = client_for(shop.owner)
    assert ids(client.get("/dashboard/payments/", {"meta": "ADA@example"})) == [shop.a.pk]
    assert ids(client.get("/dashboard/payments/", {"meta": "50% off_"})) == [shop.b.pk]
    assert ids(client.get("/dashboard/payments/", {"meta": "%"})) == [shop.b.pk]  # a literal %, not a wildcard
    assert ids(client.get("/dashboard/payments/", {"meta": "_"})) == [shop.b.pk]


@pytest.mark.parametrize(("sort", "order"), [
    ("amount", "a c b"), ("-amount", "b c a"), ("created", "a b c"), ("-created", "c b a"), ("", "c b a")])
def test_payments_sort_by_whitelisted_columns(shop, sort: str, order: str) -> None:  # type: ignore[no-untyped-def]
    response = client_for(shop.owner).get("/dashboard/payments/", {"sort": sort} if sort else {})
    assert response.status_code == 200
    assert ids(response) == [getattr(shop, name).pk for name in order.split()]


def test_sort_headers_link_to_the_other_direction_and_say_which_is_active(shop) -> None:  # type: ignore[no-untyped-def]
    page = client_for(shop.owner).get("/dashboard/payments/", {"sort": "amount", "status": "completed"}).content.decode()
    assert 'aria-sort="ascending"' in page and 'href="?sort=-amount&amp;status=completed"' in page
    assert 'aria-sort="none"' in page


@pytest.mark.parametrize("params", [
    {"sort": "sender"}, {"sort": "-id; DROP TABLE payments"}, {"sort": "meta__orderId"}, {"sort": "?"},
    {"meta": "order id=1"}, {"meta": "=1"}, {"meta": "k" * 65 + "=1"}, {"meta": "x" * 201},
    {"meta": "a\x01b"}, {"start": "9999-12-31"}, {"end": "9999-12-31"},
    {"start": "0001-01-01"}, {"status": "everything"}, {"start": "2026-02-30"},
])
def test_hostile_list_parameters_are_refused_with_400(shop, params: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    client = client_for(shop.owner)
    response = client.get("/dashboard/payments/", params)
    assert response.status_code == 400
    assert response.context["listed"].rows == []


@pytest.mark.parametrize("path", ["/dashboard/refunds/", "/dashboard/settlements/"])
@pytest.mark.parametrize("params", [{"state": "nope"}, {"start": "9999-12-31"}, {"end": "1900-01-01"},
                                    {"start": "2026-01-05", "end": "2026-01-01"}])
def test_hostile_filters_of_refunds_and_settlements_are_400(shop, path: str, params: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    assert client_for(shop.owner).get(path, params).status_code == 400


def test_refunds_filter_by_state_and_date(shop) -> None:  # type: ignore[no-untyped-def]
    m = shop.merchant
    ok = Refund.objects.create(merchant=m, payment_id=shop.a.pk, amount=ETH // 10, asset="wei",
                               recipient=shop.a.sender, state="succeeded", reason="duplicate")
    failed = Refund.objects.create(merchant=m, payment_id=shop.b.pk, amount=ETH // 10, asset="wei",
                                   recipient=shop.b.sender, state="failed", reason="duplicate")
    Refund.objects.filter(pk=failed.pk).update(created_at=timezone.now() - timedelta(days=20))
    client = client_for(shop.owner)
    assert [r.pk for r in client.get("/dashboard/refunds/", {"state": "succeeded"}).context["page_obj"]] == [ok.pk]
    start = (timezone.localdate() - timedelta(days=25)).isoformat()
    end = (timezone.localdate() - timedelta(days=15)).isoformat()
    assert [r.pk for r in client.get("/dashboard/refunds/", {"start": start, "end": end}).context["page_obj"]] == [failed.pk]


def _settlement(shop, tx_hash: str = "0x" + "ab" * 32) -> Settlement:  # type: ignore[no-untyped-def]
    tx = ChainTransaction.objects.create(purpose="settlement", idempotency_key=f"s-{tx_hash}", sender="0x" + "11" * 20,
                                         to="0x" + "22" * 20, state="confirmed", tx_hash=tx_hash, block_number=77)
    return Settlement.objects.create(merchant=shop.merchant, asset="wei", amount=ETH // 2, payout_address="0x" + "22" * 20,
                                     state="paid", chain_transaction=tx, completed_at=timezone.now())


def test_the_settlement_page_links_its_transaction_to_the_explorer(shop, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    settlement = _settlement(shop)
    client = client_for(shop.users["staff"])
    monkeypatch.setattr(conf, "EXPLORER_TX_URL", "https://explorer.example/tx/{tx}")
    page = client.get(f"/dashboard/settlements/{settlement.public_id}/").content.decode()
    assert f'href="https://explorer.example/tx/0x{"ab" * 32}"' in page and "block 77" in page
    assert f'href="/dashboard/settlements/{settlement.public_id}/"' in client.get("/dashboard/settlements/").content.decode()
    monkeypatch.setattr(conf, "EXPLORER_TX_URL", "")
    page = client.get(f"/dashboard/settlements/{settlement.public_id}/").content.decode()
    assert "0x" + "ab" * 32 in page and 'id="explorer-link"' not in page


def test_settlements_filter_by_state(shop) -> None:  # type: ignore[no-untyped-def]
    paid = _settlement(shop)
    client = client_for(shop.owner)
    assert [s.pk for s in client.get("/dashboard/settlements/", {"state": "paid"}).context["page_obj"]] == [paid.pk]
    assert list(client.get("/dashboard/settlements/", {"state": "failed"}).context["page_obj"]) == []


@pytest.mark.parametrize("bad", ["set_nope", "x" * 41, "a\u00e9"])
def test_another_or_malformed_settlement_id_is_404(shop, bad: str) -> None:  # type: ignore[no-untyped-def]
    other = make_team("Other")
    theirs = _settlement(other)
    client = client_for(shop.owner)
    assert client.get(f"/dashboard/settlements/{theirs.public_id}/").status_code == 404
    assert client.get(f"/dashboard/settlements/{bad}/").status_code == 404


def test_an_open_invoice_is_voided_and_then_refuses_payments(shop) -> None:  # type: ignore[no-untyped-def]
    invoice = invoice_create(merchant_id=shop.merchant.pk, amount=ETH, asset="wei")
    client = client_for(shop.users["staff"])  # staff may write invoices
    path = f"/dashboard/invoices/{invoice.public_id}/"
    page = client.get(path).content.decode()
    assert 'id="void-form"' in page and 'id="checkout-url"' in page and f"/pay/{invoice.public_id}" in page
    assert post_form(client, path, path + "void/").status_code == 302
    invoice.refresh_from_db()
    assert invoice.state == Invoice.State.VOID
    assert AuditLog.objects.filter(action="invoice.voided", target=f"invoice:{invoice.public_id}").count() == 1
    with pytest.raises(PaymentsError) as refused:
        invoice_apply_payment(invoice_id=invoice.public_id, merchant_id=shop.merchant.pk, payment_id=shop.a.pk,
                              amount=ETH, asset="wei", paid_at=timezone.now())
    assert refused.value.code == "invoice_not_payable"


def test_a_partly_paid_invoice_cannot_be_voided_and_shows_what_remains(shop) -> None:  # type: ignore[no-untyped-def]
    invoice = invoice_create(merchant_id=shop.merchant.pk, amount=ETH, asset="wei")
    invoice_apply_payment(invoice_id=invoice.public_id, merchant_id=shop.merchant.pk, payment_id=shop.a.pk,
                          amount=ETH // 4, asset="wei", paid_at=timezone.now())
    client = client_for(shop.owner)
    path = f"/dashboard/invoices/{invoice.public_id}/"
    page = client.get(path).content.decode()
    assert 'id="void-form"' not in page
    assert 'id="invoice-remaining">0.75 ETH' in page and shop.a.public_id in page
    response = post_form(client, "/dashboard/invoices/new/", path + "void/")
    assert response.status_code == 409 and 'id="void-error"' in response.content.decode()
    invoice.refresh_from_db()
    assert invoice.state == Invoice.State.PARTIALLY_PAID


def test_a_toast_names_the_amount_and_links_to_the_object(shop) -> None:  # type: ignore[no-untyped-def]
    from payments.hub_hooks import payment_event_data

    toast = toast_for("payment.succeeded", payment_event_data(shop.a))
    assert toast == {"text": "New payment: 1 ETH", "url": f"/dashboard/payments/{shop.a.public_id}/"}
    invoice = invoice_create(merchant_id=shop.merchant.pk, amount=ETH // 4, asset="wei")
    from payments.invoices.serializers import invoice_data

    assert toast_for("invoice.paid", {"object": invoice_data(invoice)}) == {
        "text": "Invoice paid: 0.25 ETH", "url": f"/dashboard/invoices/{invoice.public_id}/"}
    assert toast_for("invoice.paid", {"object": {"id": "javascript:alert(1)", "amount": "x"}}) == {
        "text": "Invoice paid", "url": ""}


def test_an_overpaid_invoice_refunds_its_excess_in_one_click_once(shop) -> None:  # type: ignore[no-untyped-def]
    invoice = invoice_create(merchant_id=shop.merchant.pk, amount=ETH, asset="wei")
    invoice_apply_payment(invoice_id=invoice.public_id, merchant_id=shop.merchant.pk, payment_id=shop.b.pk,
                          amount=3 * ETH, asset="wei", paid_at=timezone.now())  # 2 ETH too much
    path = f"/dashboard/invoices/{invoice.public_id}/"
    staff = client_for(shop.users["staff"])  # staff may not move money back
    page = staff.get(path).content.decode()
    assert 'id="invoice-excess"' in page and 'id="refund-excess-form"' not in page
    assert post_form(staff, "/dashboard/invoices/new/", path + "refund-excess/").status_code == 403
    assert not Refund.objects.filter(payment_id=shop.b.pk).exists()

    owner = client_for(shop.owner)
    page = owner.get(path).content.decode()
    assert 'id="refund-excess-form"' in page and "Refund 2 ETH to the payers" in page  # the confirmation
    assert post_form(owner, path, path + "refund-excess/").status_code == 302
    refunds = list(Refund.objects.filter(payment_id=shop.b.pk))
    assert [(int(r.amount), r.reason) for r in refunds] == [(2 * ETH, "excess_payment")]
    audit = AuditLog.objects.get(action="invoice.excess_refunded", target=f"invoice:{invoice.public_id}")
    assert audit.detail["amount"] == str(2 * ETH)
    assert 'id="refund-excess-form"' not in owner.get(path).content.decode()
    again = post_form(owner, "/dashboard/invoices/new/", path + "refund-excess/")  # nothing left: refused, nothing written
    assert again.status_code == 409 and "no excess" in again.content.decode()
    assert Refund.objects.filter(payment_id=shop.b.pk).count() == 1


def test_the_payments_list_pages_by_time_without_gaps_or_repeats(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keyset pages (no OFFSET, no count): following "Older" from the first page and "Newer"
    back visits every payment once, in order, also among payments created at the same instant;
    newest or oldest first."""
    import re

    team = make_team("Many")
    now = timezone.now()
    made = [make_payment(team.address, token=ETH + i, created_at=now - timedelta(minutes=i // 3))
            for i in range(7)]  # three share each minute
    expected = [p.public_id for p in sorted(made, key=lambda p: (p.created_at, p.pk), reverse=True)]
    client = client_for(team.owner)
    from payments.dashboard.views import payments as payments_views

    monkeypatch.setattr(payments_views, "PAGE_SIZE", 2)
    for sort, order in (("", expected), ("created", expected[::-1])):
        pages, query = [], {"sort": sort} if sort else {}
        while True:
            response = client.get("/dashboard/payments/", query)
            assert response.status_code == 200
            pages.append([p.public_id for p in response.context["listed"].rows])
            older = re.search(r'href="\?([^"]*)" rel="next"', response.content.decode())
            if not older:
                break
            query = dict(part.split("=") for part in older.group(1).replace("&amp;", "&").split("&"))
        assert [pid for page in pages for pid in page] == order
        assert all(len(page) == 2 for page in pages[:-1])
        back = []
        while True:
            newer = re.search(r'href="\?([^"]*)" rel="prev"', response.content.decode())
            if not newer:
                break
            query = dict(part.split("=") for part in newer.group(1).replace("&amp;", "&").split("&"))
            response = client.get("/dashboard/payments/", query)
            back.insert(0, [p.public_id for p in response.context["listed"].rows])
        assert back == pages[:-1]
    by_amount = client.get("/dashboard/payments/", {"sort": "-amount", "page": "2"}).context["listed"]
    assert [p.public_id for p in by_amount.rows] == [p.public_id for p in made[::-1]][2:4]
    assert by_amount.previous_query == "page=1" and by_amount.next_query == "page=3"


@pytest.mark.parametrize("params", [
    {"sort": "amount", "page": "9" * 30}, {"sort": "status", "page": str(2**62)}, {"sort": "amount", "page": "-5"},
    {"page": "1e9"}, {"after": "pay_" + "0" * 24}, {"before": "x\x00y"}, {"after": "a" * 100000}])
def test_hostile_page_numbers_and_cursors_answer_a_page_not_a_500(shop, params) -> None:  # type: ignore[no-untyped-def]
    # a page number far past the end once overflowed PostgreSQL's bigint OFFSET (a 500)
    response = client_for(shop.owner).get("/dashboard/payments/", params)
    assert response.status_code == (400 if any("\x00" in v for v in params.values()) else 200)  # NUL: refused as bad input
    expected = [shop.a.pk, shop.c.pk, shop.b.pk] if params.get("page") == "-5" else []
    if "page" in params and params.get("sort"):
        assert ids(response) == expected
