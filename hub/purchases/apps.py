from django.apps import AppConfig


class PurchasesConfig(AppConfig):
    name = "hub.purchases"
    label = "purchases"
    verbose_name = "Purchases and payments"

    def ready(self) -> None:
        from hub.purchases import admin  # noqa: F401
