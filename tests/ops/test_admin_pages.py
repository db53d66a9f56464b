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


def test_the_channel_ledger_shows_amounts_with_the_one_formatter() -> None:
    from hub.channels.admin import ChannelAdmin
    from hub.channels.models import Channel
    from hub.ledger.services import post

    channel_id = 987654  # the ledger is keyed by the channel id alone
    post([(f"channel:{channel_id}:balance_wei_hub", "wei", 122000000000000300),
          ("hub:reserve:wei", "wei", -122000000000000300),
          (f"channel:{channel_id}:balance_token_user", "token", 25 * 10**17),
          ("hub:reserve:token", "token", -25 * 10**17)])
    shown = str(ChannelAdmin(Channel, admin.site).ledger(Channel(pk=channel_id)))
    assert "balance_wei_hub=<span" in shown and ">≈ 0.122 ETH</span>" in shown
    assert 'title="0.1220000000000003 ETH = 122000000000000300 wei"' in shown
    assert ">2.5 SPD</span>" in shown and "balance_token_user=" in shown and "balance_wei_user" not in shown
    assert str(ChannelAdmin(Channel, admin.site).ledger(Channel(pk=channel_id + 1))) == "—"
