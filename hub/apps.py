from django.apps import AppConfig


class HubConfig(AppConfig):
    name = "hub"
    verbose_name = "Channel hub"

    def ready(self) -> None:
        from hub.channels import events

        events.register()

        from hub.disputes import events as dispute_events

        dispute_events.register()

        from hub.threads import events as thread_events

        thread_events.register()  # after the disputes: it wraps their DidEmptyChannel handler

        from hub import tasks  # noqa: F401 - declares the actors that services send by name (ops.jobs)
        from hub.chain.health import chain_checks
        from ops.health import register_checks

        register_checks(chain_checks)

        from hub.checkout import events as checkout_events
        from hub.checkout.health import checkout_checks
        from hub.checkout.pause import on_switches_saved
        from ops.services import on_switches_changed

        checkout_events.register()
        register_checks(checkout_checks)
        on_switches_changed(on_switches_saved)  # the kill switch pauses the Checkout contract
