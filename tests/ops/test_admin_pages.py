"""Every admin page an operator can open renders (generated from the admin registry, so a newly
registered model is covered automatically)."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def registered() -> list[tuple[str, str]]:
    return sorted((m._meta.app_label, m._meta.model_name) for m in admin.site._registry)


@pytest.mark.parametrize(("app", "model"), registered())
def test_the_changelist_renders_for_an_operator(app: str, model: str) -> None:
    operator = get_user_model().objects.create_superuser("op", "op@example.com", "pw-long-enough-1")
    client = Client()
    client.force_login(operator)
    response = client.get(reverse(f"admin:{app}_{model}_changelist"))
    assert response.status_code == 200


def test_admin_needs_a_sign_in() -> None:
    response = Client().get(reverse("admin:index"))
    assert response.status_code == 302
