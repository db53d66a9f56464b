"""Raise operator alarms from outside Django (the `./spoke up` launcher reports restarted
processes with it). Bumps the open alarm with the same kind and key, as every raise does.

    manage.py raise_alarm --kind K --key KEY --severity warning --message M [--detail JSON]
    manage.py raise_alarm --many '[{"kind": ..., "key": ..., "severity": ..., "message": ...,
                                    "detail": {...}}, ...]'   (one start-up for several)"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ops.models import Alarm
from ops.services import alarm_raise


class Command(BaseCommand):
    help = "Raise (or bump) an operator alarm."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--kind")
        parser.add_argument("--key", default="")
        parser.add_argument("--severity", default=Alarm.Severity.WARNING)
        parser.add_argument("--message")
        parser.add_argument("--detail", default="{}", help="a JSON object")
        parser.add_argument("--many", help="a JSON list of alarms (objects with the fields above)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["many"] is not None:
            alarms = _json(options["many"], list, "--many must be a JSON list")
        else:
            alarms = [{"kind": options["kind"], "key": options["key"], "severity": options["severity"],
                       "message": options["message"],
                       "detail": _json(options["detail"], dict, "--detail must be a JSON object")}]
        checked = [_checked(alarm) for alarm in alarms]  # all valid, or none raised
        for alarm in checked:
            raised = alarm_raise(**alarm)
            self.stdout.write(f"alarm {raised.pk} ({raised.occurrences}x)")


def _json(text: str, kind: type, error: str) -> Any:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise CommandError(error) from exc
    if not isinstance(value, kind):
        raise CommandError(error)
    return value


def _checked(alarm: Any) -> dict[str, Any]:
    if not isinstance(alarm, dict):
        raise CommandError("each alarm is a JSON object")
    kind, key, message = alarm.get("kind"), alarm.get("key", ""), alarm.get("message")
    severity, detail = alarm.get("severity", Alarm.Severity.WARNING), alarm.get("detail", {})
    if not isinstance(kind, str) or not kind or not isinstance(message, str) or not message:
        raise CommandError("an alarm needs a kind and a message")
    if not isinstance(key, str) or severity not in Alarm.Severity.values or not isinstance(detail, dict):
        raise CommandError("key is a string, severity warning or critical, detail an object")
    return {"kind": kind, "key": key, "message": message, "severity": severity, "detail": detail}
