"""The dashboard's link pages (/dashboard/links/): list, create (the URL with its secret and the QR
are shown once), cancel."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from hub.channels.errors import ChannelError
from linkpay import conf as link_conf
from linkpay.dashboard import forms, services
from linkpay.models import Link
from linkpay.selectors import links_for_merchant
from linkpay.serializers import link_path
from payments.dashboard.money import Money, parse_human
from payments.dashboard.once import once_only, show_once_pop, show_once_stash
from payments.dashboard.qr import qr_svg_inline
from payments.dashboard.views.base import dash_of, dashboard_view, no_store, page, paginate
from payments.errors import PaymentsError


def _list(request: HttpRequest, form: forms.LinkCreateForm, status: int = 200, error: str = "") -> HttpResponse:
    status_filter = request.GET.get("status", "")
    if status_filter not in Link.Status.values:
        status_filter = ""
    rows = links_for_merchant(dash_of(request).merchant_id, status=status_filter or None).order_by("-id")
    page_obj, query = paginate(request, rows)
    for link in page_obj:
        link.money = Money(int(link.amount), link.asset)
    return page(request, "dashboard/links.html", {
        "form": form, "page_obj": page_obj, "query": query, "status_filter": status_filter,
        "statuses": Link.Status.choices, "error": error}, status=status)


@never_cache
@dashboard_view("links")
def links_view(request: HttpRequest) -> HttpResponse:
    return _list(request, forms.LinkCreateForm())


@require_POST
@dashboard_view("links", "write")
@once_only("payments:dashboard:links")
def link_create_view(request: HttpRequest) -> HttpResponse:
    """Creates the link once per form token, then redirects to the page that shows the secret
    URL; the URL waits in the session for that one page view (never cached, never again)."""
    form = forms.LinkCreateForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            issued = services.link_create_by(
                request, merchant_id=dash_of(request).merchant_id,
                amount=parse_human(d["amount"], d["asset"]), asset=d["asset"],
                expires_in=d["expires_in_days"] * 86400, note=d["note"])
        except PaymentsError as exc:
            form.add_error("amount" if exc.param == "amount" else None, exc.human_message)
        else:
            base = link_conf.LINK_PUBLIC_BASE_URL or request.build_absolute_uri("/").rstrip("/")
            show_once_stash(request, "link", link_id=issued.link.public_id,
                            url=f"{base}{link_path(issued.link)}#{issued.secret}")
            return redirect("payments:dashboard:link_created")
    return _list(request, form, status=400)


@never_cache
@dashboard_view("links", "write")
def link_created_view(request: HttpRequest) -> HttpResponse:
    """The new link's URL and QR, once: a reload finds nothing stashed and shows the list."""
    shown = show_once_pop(request, "link")
    link = None if shown is None else Link.objects.filter(
        merchant_id=dash_of(request).merchant_id, public_id=shown["link_id"]).first()
    if shown is None or link is None:
        return redirect("payments:dashboard:links")
    return no_store(page(request, "dashboard/link_created.html", {
        "link": link, "money": Money(int(link.amount), link.asset), "url": shown["url"],
        "qr": qr_svg_inline(shown["url"])}))


@require_POST
@dashboard_view("links", "write")
@once_only("payments:dashboard:links")
def link_cancel_view(request: HttpRequest, link_id: str) -> HttpResponse:
    try:
        services.link_cancel_by(request, merchant_id=dash_of(request).merchant_id, link_id=link_id)
    except (ChannelError, PaymentsError) as exc:  # LinkError is a ChannelError
        # (an unbound form cannot carry an error: this used to be a 500)
        if exc.status == 404:
            raise Http404("no such link") from None
        return _list(request, forms.LinkCreateForm(), status=400, error=f"{link_id}: {exc.message}")
    messages.success(request, f"Link {link_id} cancelled: its URL no longer works and the amount is back "
                              "in your custodial balance.")
    return redirect("payments:dashboard:links")
