"""Once-only form tokens and once-only secrets for the dashboard's money and key actions.

Every form that moves money, issues a secret or changes who may do so carries a hidden random
token, issued when the page is rendered. The POST consumes it with one atomic Redis DEL before the
action runs: a resubmitted form (reload, back button, double click, a replayed request) finds it
gone and is answered with the page the first submission led to, never executed twice. Actions
answer with a redirect (post/redirect/get); a secret to show once (an API key, a link URL, an
invitation link) rides in the session and is popped by the page that shows it."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.functional import SimpleLazyObject

FIELD = "form_token"
TOKEN_TTL = 12 * 3600  # a form left open longer than a session is refused (reload to retry)
DONE_TTL = 12 * 3600
SESSION_ONCE = "dashboard_show_once"


def _key(request: HttpRequest, token: str) -> str:
    return f"dash:form:{request.user.pk}:{token}"


def form_token_issue(request: HttpRequest) -> str:
    token = secrets.token_urlsafe(18)
    cache.set(_key(request, token), 1, timeout=TOKEN_TTL)
    return token


def form_token_lazy(request: HttpRequest) -> Any:
    """For the template context: a token is issued only when a page renders a form with it."""
    return SimpleLazyObject(lambda: form_token_issue(request))


def form_token_consume(request: HttpRequest, token: str) -> bool:
    """True exactly once per issued token (of this user), however many requests race."""
    if not token or len(token) > 64 or not token.replace("-", "").replace("_", "").isalnum():
        return False
    return bool(cache.delete(_key(request, token)))


def once_only(fallback: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """A POST runs only with an unused form token. A resubmission is redirected to where the first
    submission went (or to `fallback`, a URL name, when that is unknown) and changes nothing."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method != "POST":
                return view(request, *args, **kwargs)
            token = request.POST.get(FIELD, "")
            done_key = f"{_key(request, token[:64])}:done"
            if not form_token_consume(request, token):
                done = cache.get(done_key) if token else None
                if done:
                    messages.info(request, "That form was already submitted; it was not run again.")
                    return redirect(done)
                messages.error(request, "That form was already submitted or has expired; nothing "
                                        "was done. Check the page, then try again.")
                return redirect(fallback, **kwargs) if _takes(fallback, kwargs) else redirect(fallback)
            response = view(request, *args, **kwargs)
            if 300 <= response.status_code < 400 and response.get("Location"):
                cache.set(done_key, response["Location"], timeout=DONE_TTL)
            return response

        return wrapped

    return decorate


def _takes(name: str, kwargs: dict[str, Any]) -> bool:
    from django.urls import NoReverseMatch, reverse

    if not kwargs:
        return False
    try:
        reverse(name, kwargs=kwargs)
    except NoReverseMatch:
        return False
    return True


def show_once_stash(request: HttpRequest, kind: str, **values: Any) -> None:
    """Keep a secret for the next page (after the redirect) to show once."""
    request.session[SESSION_ONCE] = {"kind": kind, **values}


def show_once_pop(request: HttpRequest, kind: str) -> dict[str, Any] | None:
    stashed = request.session.get(SESSION_ONCE)
    if not stashed or stashed.get("kind") != kind:
        return None
    del request.session[SESSION_ONCE]
    return dict(stashed)
