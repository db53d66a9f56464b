from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from ops.models import Alarm, GlobalSwitches, Heartbeat
from ops.services import alarm_acknowledge, switches_changed


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ("name", "beat_at")
    readonly_fields = ("name", "beat_at", "detail")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Alarm)
class AlarmAdmin(admin.ModelAdmin):
    list_display = ("kind", "key", "severity", "message", "occurrences", "raised_at", "acknowledged_at")
    list_filter = ("severity", "kind", ("acknowledged_at", admin.EmptyFieldListFilter))
    readonly_fields = [f.name for f in Alarm._meta.fields]
    actions = ["acknowledge"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Acknowledge selected alarms")
    def acknowledge(self, request: HttpRequest, queryset: QuerySet[Alarm]) -> None:
        for alarm in queryset:
            alarm_acknowledge(alarm_id=alarm.pk)


@admin.register(GlobalSwitches)
class GlobalSwitchesAdmin(admin.ModelAdmin):
    list_display = ("payments_enabled", "withdrawals_enabled", "threads_enabled", "updated_at")
    SWITCHES = ("payments_enabled", "withdrawals_enabled", "threads_enabled")

    def save_model(self, request: HttpRequest, obj: GlobalSwitches, form: Any, change: bool) -> None:
        """Leave the old and new value of every switch that changed for the admin's audit row
        (`request.audit_changes`, read by the admin site's audit wrapper)."""
        before = GlobalSwitches.objects.filter(pk=obj.pk).values(*self.SWITCHES).first() if change else None
        super().save_model(request, obj, form, change)
        request.audit_changes = {  # type: ignore[attr-defined]
            name: {"old": before[name] if before else None, "new": getattr(obj, name)}
            for name in self.SWITCHES
            if before is None or before[name] != getattr(obj, name)
        }
        if request.audit_changes:  # type: ignore[attr-defined]
            switches_changed(obj)  # e.g. the hub pauses the Checkout contract with payments

    SAID = {"payments_enabled": ("Payments", "merchants see a banner and checkout pages say payments are paused"),
            "withdrawals_enabled": ("Withdrawals", ""), "threads_enabled": ("Threads", "")}

    def message_user(self, request: HttpRequest, message: Any, level: int | str = messages.INFO,
                     extra_tags: str = "", fail_silently: bool = False) -> None:
        """After a save, say what the switches now are in plain words ("Saved. Payments: off —
        merchants see a banner …") instead of Django's "The global switches “global switches”
        was changed successfully."."""
        changes = getattr(request, "audit_changes", None)
        saved = GlobalSwitches.objects.order_by("pk").first()
        if level == messages.SUCCESS and changes is not None and saved is not None:
            parts = []
            for name, (label, when_off) in self.SAID.items():
                on = getattr(saved, name)
                note = f" ({when_off})" if not on and when_off else ""
                changed = " — changed" if name in changes else ""
                parts.append(f"{label}: {'on' if on else 'off'}{note}{changed}")
            message = "Switches saved. " + "; ".join(parts) + "."
        super().message_user(request, message, level, extra_tags, fail_silently)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not GlobalSwitches.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
