"""API keys (shown once, revoke, roll) and webhook endpoints with their delivery log."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from payments.apikeys.models import ApiKey
from payments.dashboard import forms, services
from payments.dashboard.once import once_only, show_once_pop, show_once_stash
from payments.dashboard.views.base import dash_of, dashboard_view, no_store, page, paginate
from payments.errors import PaymentsError
from payments.webhooks.selectors import deliveries_for_merchant, endpoints_for_merchant


def _keys_page(request: HttpRequest, form: forms.ApiKeyForm, *, status: int = 200) -> HttpResponse:
    keys = ApiKey.objects.filter(merchant_id=dash_of(request).merchant_id).order_by("-id")
    # a key issued by the POST before the redirect: shown on this one page view only
    shown = show_once_pop(request, "api_key") if dash_of(request).can("api_keys", "write") else None
    return no_store(page(request, "dashboard/api_keys.html",
                         {"keys": keys, "form": form, "issued": shown["plaintext"] if shown else None},
                         status=status))


@never_cache
@dashboard_view("api_keys")
def api_keys_view(request: HttpRequest) -> HttpResponse:
    return _keys_page(request, forms.ApiKeyForm())


@require_POST
@dashboard_view("api_keys", "write")
@once_only("payments:dashboard:api_keys")
def api_key_create_view(request: HttpRequest) -> HttpResponse:
    form = forms.ApiKeyForm(request.POST)
    if form.is_valid():
        try:
            issued = services.api_key_create_by(request, merchant_id=dash_of(request).merchant_id,
                                                kind=form.cleaned_data["kind"], name=form.cleaned_data["name"],
                                                permissions=form.cleaned_data["permissions"])
            show_once_stash(request, "api_key", plaintext=issued.plaintext)
            messages.success(request, f"Key {issued.api_key.display_prefix}… created.")
            return redirect("payments:dashboard:api_keys")
        except PaymentsError as exc:
            form.add_error(None, exc.message)
    return _keys_page(request, form, status=400)


@require_POST
@dashboard_view("api_keys", "write")
@once_only("payments:dashboard:api_keys")
def api_key_revoke_view(request: HttpRequest, key_id: str) -> HttpResponse:
    try:
        services.api_key_revoke_by(request, merchant_id=dash_of(request).merchant_id, key_id=key_id)
    except ApiKey.DoesNotExist:
        raise Http404("no such key") from None
    messages.success(request, "Key revoked: requests using it are refused from now on.")
    return redirect("payments:dashboard:api_keys")


@require_POST
@dashboard_view("api_keys", "write")
@once_only("payments:dashboard:api_keys")
def api_key_roll_view(request: HttpRequest, key_id: str) -> HttpResponse:
    try:
        issued = services.api_key_roll_by(request, merchant_id=dash_of(request).merchant_id, key_id=key_id)
    except ApiKey.DoesNotExist:
        raise Http404("no such key") from None
    except PaymentsError as exc:
        form = forms.ApiKeyForm()
        form.add_error(None, exc.message)
        return _keys_page(request, form, status=400)
    show_once_stash(request, "api_key", plaintext=issued.plaintext)
    messages.success(request, "Key rolled: copy the new key below and update your servers; the old key "
                              "keeps working only for the overlap period.")
    return redirect("payments:dashboard:api_keys")


def _with_last_attempt(deliveries: Any) -> Any:
    for d in deliveries:
        attempts = list(d.attempts.all())  # prefetched
        d.last_attempt = attempts[-1] if attempts else None
    return deliveries


def _webhooks_page(request: HttpRequest, form: forms.WebhookEndpointForm, status: int = 200) -> HttpResponse:
    dash = dash_of(request)
    return page(request, "dashboard/webhooks.html", {
        "endpoints": endpoints_for_merchant(dash.merchant_id), "form": form,
        "recent": _with_last_attempt(list(deliveries_for_merchant(dash.merchant_id)[:20]))}, status=status)


@never_cache
@dashboard_view("webhooks")
def webhooks_view(request: HttpRequest) -> HttpResponse:
    return _webhooks_page(request, forms.WebhookEndpointForm())


@require_POST
@dashboard_view("webhooks", "write")
@once_only("payments:dashboard:webhooks")
def webhook_create_view(request: HttpRequest) -> HttpResponse:
    form = forms.WebhookEndpointForm(request.POST)
    if form.is_valid():
        try:
            endpoint = services.webhook_endpoint_create_by(
                request, merchant_id=dash_of(request).merchant_id, url=form.cleaned_data["url"],
                event_types=form.cleaned_data["event_types"], description=form.cleaned_data["description"])
            messages.success(request, f"Endpoint {endpoint.public_id} added.")
            return redirect("payments:dashboard:webhook", endpoint_id=endpoint.public_id)
        except PaymentsError as exc:
            form.add_error("url" if exc.param == "url" else "event_types" if exc.param else None, exc.message)
    return _webhooks_page(request, form, status=400)


def _endpoint_or_404(request: HttpRequest, endpoint_id: str) -> Any:
    endpoint = endpoints_for_merchant(dash_of(request).merchant_id).filter(public_id=endpoint_id).first()
    if endpoint is None:
        raise Http404("no such endpoint")
    return endpoint


def _detail_page(request: HttpRequest, endpoint: Any, form: forms.WebhookEndpointEditForm | None = None,
                 status: int = 200) -> HttpResponse:
    dash = dash_of(request)
    page_obj, query = paginate(request, deliveries_for_merchant(dash.merchant_id, endpoint_id=endpoint.public_id), 25)
    _with_last_attempt(page_obj)
    if form is None:
        form = forms.WebhookEndpointEditForm(initial={
            "url": endpoint.url, "event_types": endpoint.event_types,
            "description": endpoint.description, "enabled": endpoint.enabled})
    # the signing secret is for owners and managers (write access), who configure receivers
    return page(request, "dashboard/webhook_detail.html", {
        "endpoint": endpoint, "page_obj": page_obj, "query": query, "form": form,
        "show_secret": dash.can("webhooks", "write") and request.GET.get("reveal") == "1"}, status=status)


@never_cache
@dashboard_view("webhooks")
def webhook_detail_view(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    return _detail_page(request, _endpoint_or_404(request, endpoint_id))


@require_POST
@dashboard_view("webhooks", "write")
@once_only("payments:dashboard:webhook")
def webhook_update_view(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint_or_404(request, endpoint_id)
    form = forms.WebhookEndpointEditForm(request.POST)
    if form.is_valid():
        try:
            services.webhook_endpoint_update_by(
                request, merchant_id=dash_of(request).merchant_id, endpoint_id=endpoint_id,
                url=form.cleaned_data["url"], event_types=form.cleaned_data["event_types"],
                description=form.cleaned_data["description"], enabled=form.cleaned_data["enabled"])
            messages.success(request, "Endpoint updated.")
            return redirect("payments:dashboard:webhook", endpoint_id=endpoint_id)
        except PaymentsError as exc:
            form.add_error("url" if exc.param == "url" else "event_types" if exc.param else None, exc.message)
    return _detail_page(request, endpoint, form, status=400)


@require_POST
@dashboard_view("webhooks", "write")
@once_only("payments:dashboard:webhooks")
def webhook_delete_view(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    _endpoint_or_404(request, endpoint_id)
    services.webhook_endpoint_delete_by(request, merchant_id=dash_of(request).merchant_id,
                                        endpoint_id=endpoint_id)
    messages.success(request, f"Endpoint {endpoint_id} deleted.")
    return redirect("payments:dashboard:webhooks")


@require_POST
@dashboard_view("webhooks", "write")
@once_only("payments:dashboard:webhook")
def webhook_rotate_view(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    _endpoint_or_404(request, endpoint_id)
    services.webhook_endpoint_rotate_secret_by(request, merchant_id=dash_of(request).merchant_id,
                                               endpoint_id=endpoint_id)
    messages.success(request, "New signing secret issued; the previous one keeps signing for 24 hours.")
    return redirect(reverse("payments:dashboard:webhook", kwargs={"endpoint_id": endpoint_id}) + "?reveal=1")


@require_POST
@dashboard_view("webhooks", "write")
@once_only("payments:dashboard:webhook")
def webhook_test_view(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    _endpoint_or_404(request, endpoint_id)
    delivery = services.webhook_endpoint_send_test_by(request, merchant_id=dash_of(request).merchant_id,
                                                      endpoint_id=endpoint_id)
    messages.success(request, f"Test event sent ({delivery.public_id}); see the delivery log below.")
    return redirect("payments:dashboard:webhook", endpoint_id=endpoint_id)


@require_POST
@dashboard_view("webhooks", "write")
@once_only("payments:dashboard:webhooks")
def webhook_redeliver_view(request: HttpRequest, delivery_id: str) -> HttpResponse:
    from payments.webhooks.models import WebhookDelivery

    try:
        delivery = services.webhook_redeliver_by(request, merchant_id=dash_of(request).merchant_id,
                                                 delivery_id=delivery_id)
    except WebhookDelivery.DoesNotExist:
        raise Http404("no such delivery") from None
    except PaymentsError as exc:
        messages.error(request, exc.message)
        endpoint = WebhookDelivery.objects.filter(
            public_id=delivery_id, endpoint__merchant_id=dash_of(request).merchant_id).values_list(
            "endpoint__public_id", flat=True).first()
        return redirect("payments:dashboard:webhook", endpoint_id=endpoint)
    messages.success(request, f"Delivery queued again as {delivery.public_id}.")
    return redirect("payments:dashboard:webhook", endpoint_id=delivery.endpoint.public_id)
