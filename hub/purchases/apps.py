from django.apps import AppConfig


class PurchasesConfig(AppConfig):
    name = "hub.purchases"
    label = "purchases"
    verbose_name = "Purchases and payments"

    def ready(self) -> None:
        from hub.purchases import admin, tasks  # noqa: F401 - tasks: actors sent by name
        from hub.purchases.services import register_payment_types

        register_payment_types()
