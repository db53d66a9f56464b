"""The transactional tests' reset (tests/fast_flush.py) leaves every table as migrate left it:
rows of append-only tables (whose guards refuse a DELETE) and rows that foreign keys point at
are gone; the content types and permissions are the same rows as before."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import IntegrityError, connection

from hub.ledger.models import LedgerEntry
from hub.ledger.services import post


@pytest.mark.django_db(transaction=True)
def test_the_reset_empties_every_table_but_the_content_types_and_permissions() -> None:
    kept = (list(ContentType.objects.order_by("pk").values_list("pk", "app_label", "model")),
            list(Permission.objects.order_by("pk").values_list("pk", "codename")))
    assert kept[0] and kept[1]
    post([("test:a", "wei", 5), ("test:b", "wei", -5)], memo="append-only rows")
    user = get_user_model().objects.create_user("someone", password="pw-long-enough-1")
    group = Group.objects.create(name="group")
    group.permissions.add(Permission.objects.first())
    user.groups.add(group)
    with pytest.raises(IntegrityError, match="append-only"):  # the guard holds outside the reset
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM hub_ledgerentry")

    call_command("flush", verbosity=0, interactive=False, reset_sequences=False)

    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    with connection.cursor() as cursor:
        filled = []
        for table in tables:
            cursor.execute(f'SELECT EXISTS (SELECT 1 FROM "{table}")')
            if cursor.fetchone()[0]:
                filled.append(table)
        cursor.execute("SHOW session_replication_role")
        role = cursor.fetchone()[0]
    assert sorted(filled) == ["auth_permission", "django_content_type"]
    assert LedgerEntry.objects.count() == 0
    assert (list(ContentType.objects.order_by("pk").values_list("pk", "app_label", "model")),
            list(Permission.objects.order_by("pk").values_list("pk", "codename"))) == kept
    assert role == "origin"  # the triggers are on again after the reset's transaction
