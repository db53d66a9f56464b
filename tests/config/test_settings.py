"""Start-up configuration: clear one-line errors, and production settings that pass
`check --deploy` without a single warning."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STRONG_KEY = "k3y-" + "x7Qp9LmZ2vB8nR4tY6wE1uI0oP5aS3dF" * 2


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in {
        "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "HUB_PRIVATE_KEY_FILE", "CHAIN_ID"}}
    base.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=base, capture_output=True, text=True,
        timeout=120, check=False,
    )


def production(**extra: str) -> dict[str, str]:
    return {"DEBUG": "false", "SECRET_KEY": STRONG_KEY, "ALLOWED_HOSTS": "pay.example.com",
            "HUB_PRIVATE_KEY_FILE": "/run/secrets/hub.key", **extra}


def test_production_without_secret_key_refuses_to_start_with_one_line() -> None:
    env = production()
    del env["SECRET_KEY"]
    result = run_manage("check", **env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "spoke: configuration error: SECRET_KEY is required but not set"
    ]


def test_production_with_a_weak_secret_key_refuses_to_start() -> None:
    result = run_manage("check", **production(SECRET_KEY="short"))
    assert result.returncode == 2
    assert "SECRET_KEY" in result.stderr
    assert "short" not in result.stderr  # the value is never echoed


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "mysql://root@localhost/spoke"),
        ("DATABASE_URL", "postgres://user:s3cret@host:notaport/db"),
        ("DATABASE_REPLICA_URL", "mysql://user:s3cret@replica/spoke"),
        ("REDIS_URL", "http://127.0.0.1:6379"),
        ("ETH_RPC_URL", "ftp://node"),
        ("CHAIN_ID", "thirty-one"),
        ("CONFIRMATIONS", "-1"),
        ("CHANNEL_MANAGER_ADDRESS", "0x1234"),
        ("TOKEN_ADDRESS", "not-an-address"),
        ("DEBUG", "maybe"),
    ],
)
def test_malformed_variable_stops_start_up_naming_it(variable: str, value: str) -> None:
    result = run_manage("check", **{variable: value})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"spoke: configuration error: {variable} ")
    assert "s3cret" not in result.stderr


def test_production_settings_pass_check_deploy_without_warnings() -> None:
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **production())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_warns_when_private_webhook_destinations_are_allowed_in_production() -> None:
    result = run_manage("check", "--deploy", "--fail-level", "WARNING",
                        **production(WEBHOOKS_ALLOW_PRIVATE_DESTINATIONS="true"))
    assert result.returncode != 0
    assert "payments.W001" in result.stdout + result.stderr


def test_development_defaults_need_no_configuration() -> None:
    result = run_manage("check")
    assert result.returncode == 0, result.stderr


def test_a_read_replica_takes_the_dashboards_heavy_reads_and_nothing_else() -> None:
    script = ("from django.conf import settings; from ops.replica import reading_alias; "
              "r = settings.DATABASES['replica']; "
              "print(reading_alias(), r['HOST'], r['NAME'], r['TEST']['MIRROR'])")
    result = run_manage("shell", "-c", script,
                        DATABASE_REPLICA_URL="postgres://reader@replica.internal:5432/spoke")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == ["replica", "replica.internal", "spoke", "default"]
    without = run_manage("shell", "-c", "from ops.replica import reading_alias; print(reading_alias())")
    assert without.stdout.splitlines()[-1] == "default"
