"""Loaded by the worker and the scheduler (django_dramatiq / dramatiq_crontab look for `tasks`)."""

from linkpay.actors import complete_link_redemptions, expire_links

__all__ = ["complete_link_redemptions", "expire_links"]
