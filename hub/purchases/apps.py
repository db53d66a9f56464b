from django.apps import AppConfig


class PurchasesConfig(AppConfig):
    name = "payments.purchases"
    label = "purchases"
    verbose_name = "Purchases and payments"

    def ready(self) -> None:
        from payments.purchases import admin  # noqa: F401
