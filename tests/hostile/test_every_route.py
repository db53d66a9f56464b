"""Every route in the URL configuration, sent a corpus of hostile input (tests/hostile/routes.py)
by a caller holding every credential it could need: a signed-in merchant owner (dashboard), a
signed-in operator (admin), a merchant secret key (/api/v1) and a hub signature (/api/hub).

Pass: no answer is a 5xx, and no table gains or loses a row (every input is invalid, so nothing
may be written). The routes come from walking the resolver, so a new route is covered without
anyone listing it here."""

from __future__ import annotations

import logging
import sys
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field

import pytest
from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.test import Client
from eth_account import Account

from hub.rates.models import GasPrice
from ops.models import GlobalSwitches
from payments import conf as payments_conf
from payments.apikeys.services import api_key_create
from payments.audit.models import AuditLog
from payments.invoices.services import invoice_create
from payments.merchants.models import Membership
from payments.webhooks.services import endpoint_create
from tests.chain_env import ChainEnv
from tests.dashboard.helpers import make_payment, make_team, sign_in
from tests.hostile.routes import (
    FIELDS,
    Body,
    Route,
    all_routes,
    fill,
    form_bodies,
    form_field_names,
    hostile_paths,
    json_bodies,
    queries,
)
from tests.hub.api.user_sim import UserSim

pytestmark = [pytest.mark.django_db(transaction=True)]

# The JSON corpus goes to routes that read JSON; HTML form routes get the form corpus (and a
# few JSON bodies). Sending every body to every admin page would take minutes for no new
# code path: the admin's views are the same few classes for every model.
ADMIN_BODIES = ("form digits", "form invalid_utf8")
PAGE_JSON_BODIES = ("json nested arrays 200 KB", "json invalid UTF-8", "json 300 KB", "json nul")
API_FORM_BODIES = ("form nul", "form garbage", "multipart broken", "text/plain", "xml")


@dataclass
class World:
    operator: Client
    owner: Client
    headers: dict[str, str]
    existing: dict[str, str]  # path values naming real objects (for GETs)
    missing: dict[str, str]  # well-formed values naming nothing (for writes)


@dataclass
class Tally:
    routes: int = 0
    requests: int = 0
    inputs: Counter[str] = field(default_factory=Counter)
    seconds: Counter[str] = field(default_factory=Counter)  # per first path segment
    failures: list[str] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)


def make_world(hub_chain: ChainEnv) -> World:
    team = make_team("Hostile shop")
    owner = Client(raise_request_exception=False)
    sign_in(owner, team.owner)
    operator_user = get_user_model().objects.create_superuser("operator", "op@example.com",
                                                              "operator-password-long-1")
    operator = Client(raise_request_exception=False)
    operator.force_login(operator_user)
    key = api_key_create(merchant_id=team.merchant.pk, kind="secret", name="hostile")
    hub_user = UserSim(Account.create(), hub_chain.deployment.channel_manager)
    hub_user.login()
    # The collateral route reads no body field but the optional sync parameters, so a body whose
    # fields are all null is a valid request for collateral, which proposes a deposit. Propose it
    # now: while a proposal is open, a further request changes nothing.
    proposed = hub_user.post(f"channel/{hub_user.address}/request-collateralization", {})
    assert proposed.status_code == 200 and proposed.json()["updates"], proposed.content
    payment = make_payment(team.address, wei=10**18, meta={"invoiceId": "inv_" + "0" * 24})
    invoice = invoice_create(merchant_id=team.merchant.pk, amount=10**77 - 1, asset="wei")
    endpoint = endpoint_create(merchant_id=team.merchant.pk, url="https://example.com/hook",
                               event_types=["*"])
    membership = Membership.objects.get(merchant=team.merchant, user=team.owner)
    common = {"user": hub_user.address, "sender": hub_user.address, "receiver": "0x" + "cd" * 20,
              "which": "active", "tx_count": "1", "app_label": "payments", "url": "nothing"}
    existing = {**common, "payment_id": str(payment.pk), "invoice_id": invoice.public_id,
                "endpoint_id": endpoint.public_id, "key_id": key.api_key.public_id,
                "membership_id": str(membership.pk), "object_id": "1", "id": invoice.public_id,
                "public_id": "lnk_" + "0" * 24}
    missing = {**common, "payment_id": "999999", "invoice_id": "inv_" + "0" * 24,
               "endpoint_id": "we_" + "0" * 24, "key_id": "key_" + "0" * 24, "delivery_id": "whd_" + "0" * 24,
               "membership_id": "999999", "object_id": "999999", "id": "inv_" + "0" * 24,
               "public_id": "lnk_" + "0" * 24, "link_id": "lnk_" + "0" * 24,
               "purchase_id": "pur_" + "0" * 32, "withdrawal_id": "999999"}
    headers = {"Authorization": f"Bearer {key.plaintext}", **hub_user.headers}
    return World(operator, owner, headers, existing, missing)


# Rows that valid reactions to the corpus add, each for a reason that is not a write of the
# input: sessions come and go with the sign-in and sign-out pages; refused sign-ins and operator
# POSTs are audited by design; GET gasPrice/estimate caches the node's fee; the global switches
# row is created on first read, and the admin's form for it is all check boxes, so any body is
# a valid one (one admin LogEntry).
NOT_COMPARED = {Session, AuditLog, GasPrice, GlobalSwitches, LogEntry}


def table_counts() -> dict[str, int]:
    return {m._meta.label: m._default_manager.count() for m in apps.get_models() if m not in NOT_COMPARED}


def send(client: Client, method: str, path: str, body: Body | None, headers: dict[str, str]) -> tuple[int, str]:
    """(status, the exception behind a 5xx if any)."""
    response = client.generic(method, path, body.data if body else b"",
                              content_type=body.content_type if body else "application/octet-stream",
                              headers=headers)
    try:
        if getattr(response, "streaming", False):
            b"".join(response.streaming_content)  # a CSV that fails half-way is a failure too
    except Exception as exc:
        return 500, f"{type(exc).__name__}: {str(exc)[:200]} (while streaming)"
    exc_info = getattr(response, "exc_info", None)
    if exc_info:
        tb = traceback.extract_tb(exc_info[2])
        where = next((f"{f.filename.split('/work/')[-1]}:{f.lineno}" for f in reversed(tb)
                      if ".venv" not in f.filename), "")
        return int(response.status_code), f"{exc_info[0].__name__}: {str(exc_info[1])[:200]} at {where}"
    return int(response.status_code), ""


def exercise(route: Route, world: World, tally: Tally) -> None:
    admin = route.template.startswith("admin/")
    client = world.operator if admin else world.owner
    read, write = fill(route, world.existing), fill(route, world.missing)
    if read is None or write is None:
        tally.unreachable.append(route.label)
        return
    (read_path, _), (write_path, write_values) = read, write
    tally.routes += 1

    def record(label: str, method: str, path: str, body: Body | None = None) -> None:
        tally.requests += 1
        tally.inputs[label] += 1
        started = time.monotonic()
        status, error = send(client, method, path, body, world.headers)
        tally.seconds[route.template.split("/")[0]] += time.monotonic() - started
        if status >= 500 and not (route.name == "healthz" and status == 503):  # 503: "unhealthy"
            tally.failures.append(f"{method} {path[:120]} [{label}] -> {status} {error}")

    first = client.get(read_path, headers=world.headers)
    tally.requests += 1
    if first.status_code >= 500 and not (route.name == "healthz" and first.status_code == 503):
        tally.failures.append(f"GET {read_path} [plain] -> {first.status_code}")
    html = (first.content.decode(errors="replace")
            if first.get("Content-Type", "").startswith("text/html") and not first.streaming else "")
    fields = form_field_names(html)
    # Pages answer HTML forms: the form corpus, and a few JSON bodies. The rest read JSON.
    json_corpus = json_bodies(FIELDS + fields)
    form_corpus = form_bodies(fields or FIELDS)
    if admin:
        bodies = [b for b in form_corpus + json_corpus if b.label in ADMIN_BODIES]
    elif html:
        bodies = form_corpus + [b for b in json_corpus if b.label in PAGE_JSON_BODIES]
    else:
        bodies = json_corpus + [b for b in form_corpus if b.label in API_FORM_BODIES]
    for label, query in queries(fields)[1:2] if admin else queries(fields):
        record(label, "GET", f"{read_path}?{query}")
    for n, (label, path) in enumerate(hostile_paths(route, write_values, short=admin)):
        record(label, "GET", path)
        if not admin and n < 3:
            record(label, "POST", path, json_corpus[0])
    for body in bodies:
        record(body.label, "POST", write_path, body)
    if not admin:
        for method in ("PUT", "PATCH", "DELETE"):
            record(f"{method} json", method, write_path, json_corpus[0])


@pytest.mark.timeout(900)  # ~2 minutes on an idle machine; several when the machine is shared
def test_no_route_answers_hostile_input_with_a_server_error_or_writes_anything(
        hub_chain: ChainEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    # One caller sends thousands of requests: the per-key rate limit would answer most of them
    # with 429 before they reach the code under test.
    monkeypatch.setattr(payments_conf, "API_RATE_BURST", 10**9)
    world = make_world(hub_chain)
    routes = all_routes()
    # Signing out ends the sessions the other routes need: those routes go last.
    routes.sort(key=lambda r: "logout" in r.name)
    before = table_counts()
    tally = Tally()
    started = time.monotonic()
    logging.disable(logging.CRITICAL)  # thousands of expected 4xx warnings; failures are collected
    try:
        for route in routes:
            exercise(route, world, tally)
    finally:
        logging.disable(logging.NOTSET)
    elapsed = time.monotonic() - started
    after = table_counts()
    per_surface = ", ".join(f"/{k} {v:.0f} s" for k, v in tally.seconds.most_common(6))
    summary = (f"hostile-input suite: {tally.routes} routes of {len(routes)} in the URL configuration, "
               f"{len(tally.inputs)} kinds of input, {tally.requests} requests in {elapsed:.0f} s "
               f"({per_surface}); "
               f"unreachable: {tally.unreachable}")
    sys.stdout.write("\n" + summary + "\n")
    assert tally.failures == [], summary + "\n" + "\n".join(tally.failures[:60])
    changed = {k: (before[k], after[k]) for k in before if before[k] != after.get(k)}
    assert changed == {}, summary
    assert tally.routes >= len(routes) - len(tally.unreachable) and tally.routes > 300
