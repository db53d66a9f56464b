from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments and merchants"

    def ready(self) -> None:
        from payments import checks, hub_hooks, tasks  # noqa: F401 - deploy checks; actors sent by name

        hub_hooks.register()  # merchants' payment events and invoices; merchant balances settle only
