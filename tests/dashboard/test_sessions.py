"""Signed-in sessions end after 30 minutes without activity and 12 hours after signing in;
background polling is not activity."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.test import Client

from payments.dashboard.sessions import SESSION_LAST_SEEN, SESSION_SIGNED_IN_AT
from tests.dashboard.helpers import make_team, sign_in

pytestmark = pytest.mark.django_db


def signed_in_client() -> Client:
    client = Client()
    sign_in(client, make_team("Session shop").owner)
    return client


def backdate(client: Client, **seconds_ago: float) -> None:
    session = client.session
    now = time.time()
    for key, ago in seconds_ago.items():
        session[key] = now - ago
    session.save()


def test_a_session_idle_for_thirty_one_minutes_is_signed_out() -> None:
    client = signed_in_client()
    backdate(client, **{SESSION_LAST_SEEN: 31 * 60})
    response = client.get("/dashboard/payments/")
    assert response.status_code == 302 and response["Location"].startswith("/dashboard/login/")
    backdate(client, **{SESSION_LAST_SEEN: 0})  # the old session is gone, not just this request
    assert client.get("/dashboard/").status_code == 302


def test_a_session_used_within_thirty_minutes_stays_and_the_clock_restarts() -> None:
    client = signed_in_client()
    backdate(client, **{SESSION_LAST_SEEN: 29 * 60})
    assert client.get("/dashboard/payments/").status_code == 200
    assert time.time() - client.session[SESSION_LAST_SEEN] < 60


def test_a_session_is_signed_out_twelve_hours_after_sign_in_however_active() -> None:
    client = signed_in_client()
    backdate(client, **{SESSION_SIGNED_IN_AT: 12 * 3600 + 1, SESSION_LAST_SEEN: 10})
    response = client.get("/dashboard/")
    assert response.status_code == 302 and response["Location"].startswith("/dashboard/login/")


def test_live_update_polling_does_not_keep_an_idle_session_alive() -> None:
    client = signed_in_client()
    backdate(client, **{SESSION_LAST_SEEN: 20 * 60})
    assert client.get("/dashboard/events.json").status_code == 200
    assert time.time() - client.session[SESSION_LAST_SEEN] > 19 * 60
    backdate(client, **{SESSION_LAST_SEEN: 31 * 60})
    assert client.get("/dashboard/events.json").status_code == 302


def test_the_session_cookie_lasts_twelve_hours_not_two_weeks() -> None:
    client = signed_in_client()
    assert settings.SESSION_COOKIE_AGE == 12 * 3600
    assert client.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == 12 * 3600


def test_in_place_refreshes_after_live_events_are_not_activity() -> None:
    client = signed_in_client()
    backdate(client, **{SESSION_LAST_SEEN: 20 * 60})
    assert client.get("/dashboard/", HTTP_HX_REQUEST="true").status_code == 200
    assert time.time() - client.session[SESSION_LAST_SEEN] > 19 * 60
    assert client.get("/dashboard/").status_code == 200  # a click is
    assert time.time() - client.session[SESSION_LAST_SEEN] < 60


def test_a_page_view_within_the_last_seen_granularity_writes_no_session() -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = signed_in_client()
    assert client.get("/dashboard/payments/").status_code == 200  # the merchant is now in the session
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/dashboard/payments/").status_code == 200
        assert client.get("/dashboard/").status_code == 200
    writes = [q["sql"] for q in queries.captured_queries if "django_session" in q["sql"]
              and not q["sql"].startswith("SELECT")]
    assert writes == []
