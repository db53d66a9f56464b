"""Create, authenticate, revoke and roll API keys.

Format: `sk_live_<prefix>_<secret>` (secret keys) and `rk_live_<prefix>_<secret>` (restricted and
read-only keys). The prefix (12 base-62 characters) finds the row; the secret (32 base-62
characters, ~190 bits) is checked against `secret_hash`, an HMAC-SHA256 keyed with a pepper
derived from SECRET_KEY. For keys of this entropy a keyed hash is enough (no slow hashing): the
hot path is one indexed lookup and one HMAC, and a database dump alone does not allow checking
guesses (threat W2)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from payments import conf
from payments.apikeys.models import ApiKey
from payments.errors import PaymentsError
from payments.merchants.permissions import ACCESS_LEVELS, RESOURCES, Access, access_allows

_ALPHABET = string.ascii_letters + string.digits
PREFIX_LENGTH = 12
SECRET_LENGTH = 32
KEY_PATTERN = re.compile(r"^(sk|rk)_live_([A-Za-z0-9]{12})_([A-Za-z0-9]{32})$")


def _random(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def _pepper() -> bytes:
    return hmac.new(settings.SECRET_KEY.encode(), b"spoke:api-key-pepper:v1", hashlib.sha256).digest()


def secret_hash(secret: str) -> str:
    return hmac.new(_pepper(), secret.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class IssuedKey:
    """A newly created key with its plaintext: returned once, never stored."""

    api_key: ApiKey
    plaintext: str


def key_allows(key: ApiKey, resource: str, access: Access) -> bool:
    if key.kind == ApiKey.Kind.SECRET:
        return True
    if key.kind == ApiKey.Kind.READ_ONLY:
        return access == "read"
    return access_allows(key.permissions.get(resource), access)


def _clean_permissions(permissions: dict[str, str] | None) -> dict[str, str]:
    if permissions is None:
        return {}
    if not isinstance(permissions, dict):
        raise PaymentsError("parameter_invalid", "restricted keys list resources with read or write",
                            param="permissions")
    for resource, access in permissions.items():
        if resource not in RESOURCES:
            raise PaymentsError("permission_unknown",
                                f"unknown permission {str(resource)[:64]!r}; resources are {', '.join(RESOURCES)}",
                                param="permissions")
        if access not in ACCESS_LEVELS:
            raise PaymentsError(
                "parameter_invalid",
                f"permissions map resources ({', '.join(RESOURCES)}) to read or write",
                param="permissions",
            )
    return dict(permissions)


def _grants(kind: str, permissions: dict[str, str]) -> dict[str, str]:
    if kind == ApiKey.Kind.SECRET:
        return dict.fromkeys(RESOURCES, "write")
    if kind == ApiKey.Kind.READ_ONLY:
        return dict.fromkeys(RESOURCES, "read")
    return permissions


def api_key_create(*, merchant_id: int, kind: str, name: str = "",
                   permissions: dict[str, str] | None = None,
                   created_by: ApiKey | None = None) -> IssuedKey:
    """A new key; its plaintext is in the result and nowhere else. A key creating another may
    not grant more than it holds itself."""
    with transaction.atomic():
        if kind not in ApiKey.Kind.values:
            raise PaymentsError("parameter_invalid", "kind is secret, restricted or read_only", param="kind")
        perms = _clean_permissions(permissions) if kind == ApiKey.Kind.RESTRICTED else {}
        if created_by is not None:
            for resource, access in _grants(kind, perms).items():
                if not key_allows(created_by, resource, access):  # type: ignore[arg-type]
                    raise PaymentsError("permission_denied",
                                        "a key cannot create a key with more access than its own",
                                        param="permissions")
        prefix, secret = _random(PREFIX_LENGTH), _random(SECRET_LENGTH)
        key = ApiKey.objects.create(merchant_id=merchant_id, kind=kind, name=name[:100],
                                    permissions=perms, prefix=prefix, secret_hash=secret_hash(secret))
        scheme = "sk" if kind == ApiKey.Kind.SECRET else "rk"
        return IssuedKey(key, f"{scheme}_live_{prefix}_{secret}")


def api_key_authenticate(presented: str, *, now: datetime | None = None) -> ApiKey | None:
    """The live key matching `presented`, or None (unknown, wrong secret, revoked or expired).

    Records the use at most once per API_KEY_LAST_USED_RESOLUTION_SECONDS."""
    match = KEY_PATTERN.match(presented or "")
    if match is None:
        return None
    scheme, prefix, secret = match.groups()
    key = ApiKey.objects.select_related("merchant").filter(prefix=prefix).first()
    if key is None or not hmac.compare_digest(key.secret_hash, secret_hash(secret)):
        return None
    if (scheme == "sk") != (key.kind == ApiKey.Kind.SECRET):
        return None
    now = now or timezone.now()
    if key.revoked_at is not None or (key.expires_at is not None and key.expires_at <= now):
        return None
    resolution = timedelta(seconds=conf.API_KEY_LAST_USED_RESOLUTION_SECONDS)
    if key.last_used_at is None or key.last_used_at <= now - resolution:
        ApiKey.objects.filter(pk=key.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - resolution)
        ).update(last_used_at=now)
        key.last_used_at = now
    return key


def api_key_revoke(*, merchant_id: int, key_id: str) -> ApiKey:
    """Revoke now; the next request with it gets 401. Idempotent."""
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().get(merchant_id=merchant_id, public_id=key_id)
        if key.revoked_at is None:
            key.revoked_at = timezone.now()
            key.save(update_fields=["revoked_at"])
        return key


def api_key_roll(*, merchant_id: int, key_id: str, overlap_seconds: int | None = None,
                 now: datetime | None = None, rolled_by: ApiKey | None = None) -> IssuedKey:
    """A new key with the same kind and permissions; the old one stays valid for
    `overlap_seconds` (default API_KEY_ROLL_OVERLAP_SECONDS; 0 = revoked at once). A key rolling
    another may not obtain more access than its own, as when creating one (permission_denied)."""
    with transaction.atomic():
        now = now or timezone.now()
        overlap = conf.API_KEY_ROLL_OVERLAP_SECONDS if overlap_seconds is None else overlap_seconds
        if overlap < 0 or overlap > 7 * 24 * 3600:
            raise PaymentsError("parameter_invalid", "the overlap is 0..604800 seconds",
                                param="expires_in_seconds")
        old = ApiKey.objects.select_for_update().get(merchant_id=merchant_id, public_id=key_id)
        if old.revoked_at is not None or (old.expires_at is not None and old.expires_at <= now):
            raise PaymentsError("api_key_not_rollable", "this key is revoked or expired")
        if hasattr(old, "rolled_to"):
            raise PaymentsError("api_key_not_rollable", "this key was already rolled")
        issued = api_key_create(merchant_id=merchant_id, kind=old.kind, name=old.name,
                                permissions=old.permissions or None, created_by=rolled_by)
        issued.api_key.rolled_from = old
        issued.api_key.save(update_fields=["rolled_from"])
        if overlap == 0:
            old.revoked_at = now
        else:
            expiry = now + timedelta(seconds=overlap)
            old.expires_at = min(old.expires_at, expiry) if old.expires_at else expiry
        old.save(update_fields=["revoked_at", "expires_at"])
        return issued
