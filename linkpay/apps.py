from django.apps import AppConfig


class LinkpayConfig(AppConfig):
    name = "linkpay"
    verbose_name = "Link payments"
