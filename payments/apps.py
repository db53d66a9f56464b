from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments and merchants"

    def ready(self) -> None:
        from hub.purchases.listeners import on_payments_settled
        from payments import checks  # noqa: F401 - registers the deploy checks
        from payments.settled import payments_created

        on_payments_settled(payments_created)  # events and invoices for merchants' payments
