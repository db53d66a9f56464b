from django.apps import AppConfig


class LinkpayConfig(AppConfig):
    name = "linkpay"
    verbose_name = "Link payments"

    def ready(self) -> None:
        from linkpay import admin  # noqa: F401
