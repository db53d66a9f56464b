from django.apps import AppConfig


class LinkpayConfig(AppConfig):
    name = "linkpay"
    verbose_name = "Link payments"

    def ready(self) -> None:
        from linkpay import admin  # noqa: F401
        from payments.events.catalogue import register

        for name, text in [
            ("created", "A link was created and its amount is held."),
            ("redeemed", "A link was redeemed (paid out to its redeemer)."),
            ("cancelled", "A link was cancelled; its amount went back to the sender."),
            ("expired", "A link expired unredeemed; its amount went back to the sender."),
        ]:
            register(f"link.{name}", object="link", serializer="linkpay.serializers.LinkSerializer",
                     description=text)
