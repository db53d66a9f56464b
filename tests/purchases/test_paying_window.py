"""Whether a channel's user is paying right now (`_recipient_is_paying`, the delivery yield's
judge): a Payment of the user's own within DELIVERY_YIELD_MS, or within twice the gap between
their last two payments when that is longer, at most five pauses; times `pauses`. The channel's
history is written directly with times minutes apart (a ten-minute pause), so no step of the
test is near an edge."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from hub.channels.models import Channel, ChannelUpdate
from hub.core import ZERO_ROOT
from hub.purchases.services import _recipient_is_paying

pytestmark = pytest.mark.django_db

HUB = "0x" + "4b" * 20
PAUSE_MS = 600_000  # ten minutes


@pytest.fixture(autouse=True)
def _pause(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.DELIVERY_YIELD_MS = PAUSE_MS
    # the states below are written with their times (a state's row never changes afterwards)
    monkeypatch.setattr(ChannelUpdate._meta.get_field("created_at"), "auto_now_add", False)


def history(*updates: tuple[str, str, float]) -> Channel:
    """A channel whose updates are (who, reason, minutes ago), oldest first."""
    user = "0x" + secrets.token_hex(20)
    channel = Channel.objects.create(contract="0x" + "cc" * 20, user=user)
    now = timezone.now()
    latest = None
    for count, (who, reason, minutes) in enumerate(updates, start=1):
        latest = ChannelUpdate.objects.create(
            channel=channel, reason=reason, originator=user if who == "user" else HUB,
            recipient=user, tx_count_global=count, tx_count_chain=1, thread_root=ZERO_ROOT,
            state_hash="0x" + "00" * 32, sig_hub="0x", sig_user="0x",
            created_at=now - timedelta(minutes=minutes))
    if latest is not None:
        Channel.objects.filter(pk=channel.pk).update(latest_update=latest)
    return channel


def paying(channel: Channel, *, head: bool, pauses: int = 1) -> bool:
    """Judged with the head loaded with the channel (as the purchase's lock loads it) or not."""
    rows = Channel.objects.select_related("latest_update") if head else Channel.objects.all()
    return _recipient_is_paying(rows.get(pk=channel.pk), pauses=pauses)


@pytest.mark.parametrize("head", [True, False])
def test_a_payment_of_the_users_own_within_the_pause_makes_them_paying(head: bool) -> None:
    assert paying(history(("user", "Payment", 9)), head=head)
    assert not paying(history(("user", "Payment", 11)), head=head)
    # the hub's payments and the user's other updates are not paying
    assert not paying(history(("hub", "Payment", 1)), head=head)
    assert not paying(history(("user", "Exchange", 1)), head=head)
    assert paying(history(("user", "Payment", 5), ("hub", "Payment", 1)), head=head)
    assert paying(history(("user", "Payment", 5), ("user", "Exchange", 1)), head=head)
    assert not paying(history(), head=head)


@pytest.mark.parametrize("head", [True, False])
def test_a_slower_payers_window_is_twice_their_last_gap_at_most_five_pauses(head: bool) -> None:
    # last two payments 12 minutes apart: a 24-minute window
    assert paying(history(("user", "Payment", 32), ("user", "Payment", 20)), head=head)
    assert not paying(history(("user", "Payment", 27), ("user", "Payment", 25)), head=head)
    # 3 minutes apart: the window stays one pause
    assert not paying(history(("user", "Payment", 14), ("user", "Payment", 11)), head=head)
    assert paying(history(("user", "Payment", 12), ("user", "Payment", 9)), head=head)
    # the gap between the last two counts, not an older one
    assert not paying(history(("user", "Payment", 100), ("user", "Payment", 14),
                              ("user", "Payment", 12)), head=head)
    # an hour apart: capped at five pauses (50 minutes)
    assert paying(history(("user", "Payment", 100), ("user", "Payment", 45)), head=head)
    assert not paying(history(("user", "Payment", 200), ("user", "Payment", 55)), head=head)


@pytest.mark.parametrize("head", [True, False])
def test_pauses_stretch_every_window(head: bool) -> None:
    assert paying(history(("user", "Payment", 25)), head=head, pauses=3)
    assert not paying(history(("user", "Payment", 31)), head=head, pauses=3)
    assert paying(history(("user", "Payment", 200), ("user", "Payment", 140)), head=head, pauses=3)
    assert not paying(history(("user", "Payment", 400), ("user", "Payment", 155)), head=head,
                      pauses=3)


def test_only_the_last_sixteen_updates_are_read() -> None:
    hub_payments = [("hub", "Payment", 1.0)] * 15
    assert paying(history(("user", "Payment", 2), *hub_payments), head=False)
    assert not paying(history(("user", "Payment", 2), ("hub", "Payment", 1.5), *hub_payments),
                      head=False)


def test_nobody_is_paying_without_a_pause_or_a_history(settings: Any) -> None:
    channel = history(("user", "Payment", 0.5))
    settings.DELIVERY_YIELD_MS = 0
    assert not paying(channel, head=True) and not paying(channel, head=False)
    settings.DELIVERY_YIELD_MS = PAUSE_MS
    assert not _recipient_is_paying(Channel(contract="0x" + "cc" * 20, user=HUB))


@pytest.mark.parametrize("head", [True, False])
def test_a_slower_payers_window_is_twice_their_last_gap_not_three_times(head: bool) -> None:
    # 12 minutes apart, the last one 28 minutes ago: past the 24-minute window (not 36)
    assert not paying(history(("user", "Payment", 40), ("user", "Payment", 28)), head=head)
    assert paying(history(("user", "Payment", 35), ("user", "Payment", 23)), head=head)
