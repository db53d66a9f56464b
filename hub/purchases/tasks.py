"""Loaded by the worker and the scheduler (django_dramatiq / dramatiq_crontab look for `tasks`)."""

from hub.purchases.actors import (
    collateralize_recipients,
    deliver_held_payments,
    sweep_optimistic_payments,
)

__all__ = ["collateralize_recipients", "deliver_held_payments", "sweep_optimistic_payments"]
