"""Sending work to a Dramatiq actor by its name.

A service that schedules work does not import the module of the actor that will call it back
(that import is what tied services and actors into cycles): it names the actor. Every app
declares its actors when it is ready (its AppConfig imports its `tasks` module), so the name
resolves in the web process, the worker and the tests alike. Actor names are part of the
messages already queued: an actor keeps its name when its module moves."""

from __future__ import annotations

import dramatiq


def send(actor_name: str, *args: object, delay_ms: int | None = None) -> None:
    """Queue one call of `actor_name(*args)`, after `delay_ms` when given."""
    actor = dramatiq.get_broker().get_actor(actor_name)
    actor.send_with_options(args=args, delay=delay_ms or None)
