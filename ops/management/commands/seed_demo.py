"""Create the operator account and the demo data, idempotently (run by `./spoke up`)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

DEMO_HOOKS: list[str] = ["payments.demo.seed_demo_merchant"]  # callables(creds) -> dict of creds


class Command(BaseCommand):
    help = "Create the operator account and demo data (idempotent). Prints nothing secret."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--credentials-file", default=str(settings.DEVDATA_DIR / "credentials.json"))

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["credentials_file"])
        creds = json.loads(path.read_text()) if path.exists() else {}
        operator = creds.get("operator") or {
            "username": "operator",
            "password": secrets.token_urlsafe(12),
            "email": "operator@spoke.localhost",
        }
        with transaction.atomic():
            user_model = get_user_model()
            user, created = user_model.objects.get_or_create(
                username=operator["username"],
                defaults={"email": operator["email"], "is_staff": True, "is_superuser": True},
            )
            if created or not user.check_password(operator["password"]):
                user.set_password(operator["password"])
                user.is_staff = user.is_superuser = True
                user.save()
        creds["operator"] = operator
        from django.utils.module_loading import import_string

        for hook in DEMO_HOOKS:
            creds.update(import_string(hook)(creds) or {})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(creds, indent=2))
        path.chmod(0o600)
        self.stdout.write(f"demo data ready ({'created' if created else 'existing'} operator account)")
