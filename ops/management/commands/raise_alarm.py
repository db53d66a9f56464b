"""Raise an operator alarm from outside Django (the `./spoke up` launcher reports a restarted
process with it). Bumps the open alarm with the same kind and key, as every raise does."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ops.models import Alarm
from ops.services import alarm_raise


class Command(BaseCommand):
    help = "Raise (or bump) an operator alarm."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--kind", required=True)
        parser.add_argument("--key", default="")
        parser.add_argument("--severity", default=Alarm.Severity.WARNING,
                            choices=[choice.value for choice in Alarm.Severity])
        parser.add_argument("--message", required=True)
        parser.add_argument("--detail", default="{}", help="a JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            detail = json.loads(options["detail"])
        except ValueError as exc:
            raise CommandError("--detail must be a JSON object") from exc
        if not isinstance(detail, dict):
            raise CommandError("--detail must be a JSON object")
        alarm = alarm_raise(kind=options["kind"], key=options["key"], message=options["message"],
                            severity=options["severity"], detail=detail)
        self.stdout.write(f"alarm {alarm.pk} ({alarm.occurrences}x)")
