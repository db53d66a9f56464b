from django.apps import AppConfig


class CustodialConfig(AppConfig):
    name = "payments.custodial"
    label = "custodial"
    verbose_name = "Custodial balances"

    def ready(self) -> None:
        from payments.custodial import admin  # noqa: F401
