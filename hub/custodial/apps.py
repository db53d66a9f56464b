from django.apps import AppConfig


class CustodialConfig(AppConfig):
    name = "hub.custodial"
    label = "custodial"
    verbose_name = "Custodial balances"

    def ready(self) -> None:
        from hub.custodial import admin  # noqa: F401
