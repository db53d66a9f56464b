"""Dashboard sign-in: login throttling (threat W3) and TOTP second factors (threat W5).

Throttling counts failed attempts (wrong password or wrong code) per account and per client IP
in fixed one-hour windows in the shared cache (Redis). Past the limit, attempts are refused
before the password is checked, so an attacker gets at most ACCOUNT_FAILURES_PER_HOUR password
evaluations per window on one account: at most twice that in any rolling hour, well under ASVS
2.2.1's 100."""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Any

import pyotp
from django.core.cache import cache
from django.db import transaction

from payments.dashboard.models import MerchantSecurity, TotpDevice
from payments.merchants.models import Membership

ACCOUNT_FAILURES_PER_HOUR = 10
IP_FAILURES_PER_HOUR = 50
WINDOW_SECONDS = 3600
TOTP_STEP_SECONDS = 30
TOTP_DRIFT_STEPS = 1  # accept the previous and next 30 s step (clock skew)
ISSUER = "Spoke"


# --- throttling ---------------------------------------------------------------------------------

def _window(now: float) -> int:
    return int(now // WINDOW_SECONDS)


def _account_key(username: str, window: int) -> str:
    digest = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    return f"dash:signin:acct:{digest}:{window}"


def _ip_key(ip: str | None, window: int) -> str:
    return f"dash:signin:ip:{ip or '-'}:{window}"


@dataclass(frozen=True)
class Throttle:
    allowed: bool
    retry_after: int  # seconds until the window ends (when refused)


def signin_throttle(*, username: str, ip: str | None, now: float | None = None) -> Throttle:
    """Whether a sign-in attempt for `username` from `ip` may be evaluated at all."""
    now = time.time() if now is None else now
    window = _window(now)
    counts = cache.get_many([_account_key(username, window), _ip_key(ip, window)])
    account = int(counts.get(_account_key(username, window)) or 0)
    per_ip = int(counts.get(_ip_key(ip, window)) or 0)
    if account >= ACCOUNT_FAILURES_PER_HOUR or per_ip >= IP_FAILURES_PER_HOUR:
        return Throttle(False, int((window + 1) * WINDOW_SECONDS - now) + 1)
    return Throttle(True, 0)


def signin_failure_record(*, username: str, ip: str | None, now: float | None = None) -> None:
    window = _window(time.time() if now is None else now)
    for key in (_account_key(username, window), _ip_key(ip, window)):
        cache.add(key, 0, timeout=WINDOW_SECONDS + 60)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=WINDOW_SECONDS + 60)


# --- TOTP ---------------------------------------------------------------------------------------

def totp_new_secret() -> str:
    return pyotp.random_base32()  # 160 bits from `secrets`


def totp_provisioning_uri(secret: str, user: Any) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.get_username(), issuer_name=ISSUER)


def _matching_step(secret: str, code: str, now: float, after_step: int) -> int | None:
    """The time step (newer than `after_step`) whose code is `code`, or None."""
    code = "".join(code.split())
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = int(now // TOTP_STEP_SECONDS)
    for step in range(current - TOTP_DRIFT_STEPS, current + TOTP_DRIFT_STEPS + 1):
        if step > after_step and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


@transaction.atomic
def totp_verify(*, user_id: int, code: str, now: float | None = None) -> bool:
    """Accept `code` once: the device row is locked and its last used step moved forward, so
    the same code (or an older one) is refused afterwards, even by a concurrent request."""
    device = TotpDevice.objects.select_for_update().filter(user_id=user_id).first()
    if device is None:
        return False
    step = _matching_step(device.secret, code, time.time() if now is None else now,
                          device.last_used_step)
    if step is None:
        return False
    device.last_used_step = step
    device.save(update_fields=["last_used_step"])
    return True


@transaction.atomic
def totp_enroll(*, user: Any, secret: str, code: str, now: float | None = None) -> TotpDevice | None:
    """Confirm a new authenticator with its first code (which is then used up); replaces an
    existing one. None when the code does not match."""
    step = _matching_step(secret, code, time.time() if now is None else now, after_step=0)
    if step is None:
        return None
    device, _ = TotpDevice.objects.update_or_create(
        user=user, defaults={"secret": secret, "last_used_step": step})
    return device


def totp_enabled(user: Any) -> bool:
    return TotpDevice.objects.filter(user=user).exists()


def totp_required_for(user: Any) -> bool:
    """True when any merchant the user belongs to requires a second factor."""
    merchant_ids = Membership.objects.filter(user=user).values("merchant_id")
    return MerchantSecurity.objects.filter(merchant_id__in=merchant_ids, totp_required=True).exists()


@transaction.atomic
def totp_disable(*, user: Any) -> bool:
    deleted, _ = TotpDevice.objects.filter(user=user).delete()
    return bool(deleted)
