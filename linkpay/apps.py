from django.apps import AppConfig


class LinkpayConfig(AppConfig):
    name = "linkpay"
    verbose_name = "Link payments"

    def ready(self) -> None:
        from hub.purchases.types import PaymentType
        from hub.purchases.types import register as register_payment_type
        from linkpay import admin, tasks  # noqa: F401 - tasks: actors sent by name
        from linkpay.api import issue_refund_link
        from linkpay.services import deliver_link
        from payments.events.catalogue import register
        from payments.refunds.execution import issue_refund_links_with

        register_payment_type(PaymentType("PT_LINK", deliver=deliver_link))  # a payment into a new link
        issue_refund_links_with(issue_refund_link)  # refunds the payer's channel cannot take
        for name, text in [
            ("created", "A link was created and its amount is held."),
            ("redeemed", "A link was redeemed (paid out to its redeemer)."),
            ("cancelled", "A link was cancelled; its amount went back to the sender."),
            ("expired", "A link expired unredeemed; its amount went back to the sender."),
        ]:
            register(f"link.{name}", object="link", serializer="linkpay.serializers.LinkSerializer",
                     description=text)
