"""Loaded by the worker and the scheduler (django_dramatiq / dramatiq_crontab look for `tasks`)."""

from hub.purchases.actors import (
    collateralize_recipients,
    sweep_optimistic_payments,
)

__all__ = ["collateralize_recipients", "sweep_optimistic_payments"]
