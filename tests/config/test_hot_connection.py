"""The hot route's skipped health check (config/middleware.py: _with_recent_connection): a
connection that served a hot request less than a second ago is used without `SELECT 1`; when it
died meanwhile, the request gets a clean 503 `database_unavailable` (never a 500), the connection
is closed, and the next request connects again."""

from __future__ import annotations

import json
import time

import psycopg
import pytest
from django.db import DatabaseError, connection, transaction
from django.http import HttpResponse

from config.middleware import RECENT_CONNECTION, _with_recent_connection
from hub.channels.models import Channel

pytestmark = pytest.mark.django_db(transaction=True)


def query() -> HttpResponse:
    with transaction.atomic():
        return HttpResponse(str(Channel.objects.count()))


def kill_backend() -> None:
    pid = connection.connection.info.backend_pid
    params = connection.get_connection_params()
    params.pop("context", None)
    params.pop("cursor_factory", None)
    params.pop("prepare_threshold", None)
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    time.sleep(0.2)


def test_a_recently_used_connection_that_died_answers_503_then_reconnects() -> None:
    assert _with_recent_connection(query).status_code == 200  # opens the connection, marks it used
    connection.health_check_done = False  # as at the start of the next request
    kill_backend()
    response = _with_recent_connection(query)
    assert response.status_code == 503
    assert json.loads(response.content)["code"] == "database_unavailable"
    assert connection.connection is None  # closed: the next request connects again
    assert _with_recent_connection(query).status_code == 200  # connects again


def test_the_check_is_skipped_only_for_a_recent_connection() -> None:
    _with_recent_connection(query)
    connection.health_check_done = False
    _with_recent_connection(lambda: HttpResponse())
    assert connection.health_check_done  # skipped: marked done without a query
    connection.health_check_done = False
    connection.hot_used_at = time.monotonic() - RECENT_CONNECTION - 1  # idle: not skipped
    _with_recent_connection(lambda: HttpResponse())
    assert not connection.health_check_done


def test_a_database_error_on_a_live_connection_is_not_hidden() -> None:
    _with_recent_connection(query)
    connection.health_check_done = False

    def failing() -> HttpResponse:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1/0")
        return HttpResponse()

    with pytest.raises(DatabaseError):
        _with_recent_connection(failing)
