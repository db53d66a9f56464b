"""The email outbox's actors: one message by id, and a periodic sweep of what is left unsent."""

from __future__ import annotations

import dramatiq
from dramatiq_crontab import interval

from payments.mail.services import email_send, emails_unsent


@dramatiq.actor(queue_name="default", max_retries=5, min_backoff=10_000, time_limit=60_000)
def send_email(email_id: int) -> None:
    email_send(email_id)


@interval(seconds=300)
@dramatiq.actor(queue_name="default", max_retries=0, time_limit=120_000)
def sweep_emails() -> None:
    for email_id in emails_unsent():
        email_send(email_id)
