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
