"""Operational records: process heartbeats and alarms an operator must see."""

from __future__ import annotations

from django.db import models


class Heartbeat(models.Model):
    """The last time a background process proved it was alive (one row per process kind).

    The worker's row is written by a periodic actor that travels the real path
    scheduler → broker → worker, so a fresh row proves all three are working."""

    name = models.CharField(max_length=64, primary_key=True)
    beat_at = models.DateTimeField()
    detail = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"{self.name} @ {self.beat_at.isoformat()}"


class Alarm(models.Model):
    """Something an operator must look at (low reserve, reconciliation mismatch, reorg, ...).

    Alarms are raised once per (kind, key) while open and acknowledged by an operator."""

    class Severity(models.TextChoices):
        WARNING = "warning"
        CRITICAL = "critical"

    kind = models.CharField(max_length=64)
    key = models.CharField(max_length=200, blank=True, default="")
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.WARNING)
    message = models.TextField()
    detail = models.JSONField(default=dict, blank=True)
    raised_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now=True)
    occurrences = models.PositiveIntegerField(default=1)
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "key"],
                condition=models.Q(acknowledged_at__isnull=True),
                name="ops_alarm_one_open_per_kind_key",
            )
        ]
        ordering = ["-raised_at"]

    def __str__(self) -> str:
        return f"[{self.severity}] {self.kind}: {self.message}"


class GlobalSwitches(models.Model):
    """Run-time switches an operator flips in the admin (a single row)."""

    payments_enabled = models.BooleanField(default=True)
    withdrawals_enabled = models.BooleanField(default=True)
    threads_enabled = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "global switches"
        verbose_name_plural = "global switches"

    def __str__(self) -> str:
        return "Global switches"

    @classmethod
    def current(cls) -> GlobalSwitches:
        switches = cls.objects.order_by("pk").first()
        return switches or cls.objects.create()

    @classmethod
    def cached(cls, max_age: float = 2.0) -> GlobalSwitches:
        """The switches as read at most `max_age` seconds ago in this process (the hot path
        reads them on every payment; a flip takes effect within that delay)."""
        import time

        now = time.monotonic()
        hit = _SWITCH_CACHE.get("value")
        if hit is None or now - hit[0] > max_age:
            hit = (now, cls.current())
            _SWITCH_CACHE["value"] = hit
        return hit[1]


_SWITCH_CACHE: dict[str, tuple[float, GlobalSwitches]] = {}
