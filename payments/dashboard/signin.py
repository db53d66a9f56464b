"""Sign-in (dashboard and operator admin): login throttling (threat W3) and TOTP second factors
(threat W5).

Throttling slows the attacker down without locking the owner out. Failed attempts (wrong password
or wrong code) are counted per account and per client IP. The first few are free; after that each
further attempt must wait an exponentially growing delay after the previous failure (2 s, 4 s,
8 s, ... capped). An attempt inside the delay is refused before the password is evaluated, and
only one attempt per delay is evaluated even when many arrive at once. A correct sign-in clears
the account's count, so the real owner waits at most the current (short, growing) delay, never a
fixed hour; an attacker spread over many addresses still gets only a few guesses per hour on one
account (ASVS 2.2.1: far fewer than 100), and one address guessing many accounts is slowed by the
per-IP count."""

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

ACCOUNT_FREE_FAILURES = 5
ACCOUNT_MAX_DELAY = 15 * 60
IP_FREE_FAILURES = 20
IP_MAX_DELAY = 3600
BASE_DELAY = 2  # seconds after the first counted failure; doubles with each further one
STATE_TTL = 24 * 3600  # failures are forgotten a day after the last one
TOTP_STEP_SECONDS = 30
TOTP_DRIFT_STEPS = 1  # accept the previous and next 30 s step (clock skew)
ISSUER = "Spoke"


def clock() -> float:
    """The clock back-off delays and codes are judged by (tests replace it)."""
    return time.time()


# --- throttling ---------------------------------------------------------------------------------

def _account_key(username: str) -> str:
    digest = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    return f"signin:acct:{digest}"


def _ip_key(ip: str | None) -> str:
    return f"signin:ip:{ip or '-'}"


def backoff_delay(failures: int, *, free: int, cap: int) -> int:
    """Seconds to wait after the last failure once `failures` were counted (0 while free)."""
    if failures < free:
        return 0
    return min(cap, BASE_DELAY * 2 ** min(failures - free, 30))


@dataclass(frozen=True)
class Throttle:
    allowed: bool
    retry_after: int  # seconds until the next attempt may be evaluated (when refused)


def _state(key: str) -> tuple[int, float]:
    values = cache.get_many([f"{key}:n", f"{key}:last"])
    return int(values.get(f"{key}:n") or 0), float(values.get(f"{key}:last") or 0.0)


def signin_throttle(*, username: str, ip: str | None, now: float | None = None,
                    stage: str = "password") -> Throttle:
    """Whether a sign-in attempt for `username` from `ip` may be evaluated now. When it may and
    the account or address is in back-off, this attempt takes the one slot of the current delay
    for its `stage` (password or code; atomically, in Redis), so a burst of concurrent guesses
    gets one evaluation, not many."""
    now = clock() if now is None else now
    waits = []
    claims = []
    for key, free, cap in ((_account_key(username), ACCOUNT_FREE_FAILURES, ACCOUNT_MAX_DELAY),
                           (_ip_key(ip), IP_FREE_FAILURES, IP_MAX_DELAY)):
        failures, last = _state(key)
        delay = backoff_delay(failures, free=free, cap=cap)
        if delay:
            waits.append(max(0, int(last + delay - now + 0.999)))
            claims.append(f"{key}:claim:{stage}:{failures}:{last}")
    if any(waits):
        return Throttle(False, max(1, max(waits)))
    for claim in claims:
        if not cache.add(claim, 1, timeout=STATE_TTL):
            return Throttle(False, BASE_DELAY)  # another attempt is being evaluated right now
    return Throttle(True, 0)


def signin_failure_record(*, username: str, ip: str | None, now: float | None = None) -> None:
    now = clock() if now is None else now
    for key in (_account_key(username), _ip_key(ip)):
        cache.add(f"{key}:n", 0, timeout=STATE_TTL)
        try:
            cache.incr(f"{key}:n")
        except ValueError:  # expired between add and incr
            cache.set(f"{key}:n", 1, timeout=STATE_TTL)
        cache.touch(f"{key}:n", STATE_TTL)
        cache.set(f"{key}:last", now, timeout=STATE_TTL)


def signin_success_record(*, username: str) -> None:
    """The account's owner got in: the attacker's failures no longer delay them. The address's
    count stays (a shared address may still be guessing other accounts)."""
    key = _account_key(username)
    cache.delete_many([f"{key}:n", f"{key}:last"])


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
    step = _matching_step(device.secret, code, clock() if now is None else now,
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
    step = _matching_step(secret, code, clock() if now is None else now, after_step=0)
    if step is None:
        return None
    device, _ = TotpDevice.objects.update_or_create(
        user=user, defaults={"secret": secret, "last_used_step": step})
    return device


def totp_enabled(user: Any) -> bool:
    return TotpDevice.objects.filter(user=user).exists()


def totp_required_for(user: Any) -> bool:
    """True for operator (staff) accounts, which open the admin, and when any merchant the user
    belongs to requires a second factor."""
    if getattr(user, "is_staff", False) or getattr(user, "is_superuser", False):
        return True
    merchant_ids = Membership.objects.filter(user=user).values("merchant_id")
    return MerchantSecurity.objects.filter(merchant_id__in=merchant_ids, totp_required=True).exists()


@transaction.atomic
def totp_disable(*, user: Any) -> bool:
    deleted, _ = TotpDevice.objects.filter(user=user).delete()
    return bool(deleted)
