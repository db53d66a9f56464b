"""Dashboard forms: parse and validate input; amounts are typed in human units."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.utils import timezone

from hub.purchases.models import Payment
from payments.dashboard.selectors import PAYMENT_STATUS_CHOICES
from payments.invoices.models import Invoice
from payments.merchants.models import Membership, Merchant
from payments.refunds.models import Refund

ASSET_CHOICES = [("wei", "ETH"), ("token", "SPD (token)")]


class SignInForm(forms.Form):
    username = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}))
    password = forms.CharField(max_length=200, strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class TotpForm(forms.Form):
    code = forms.CharField(label="6-digit code", max_length=12, widget=forms.TextInput(attrs={
        "autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*", "autofocus": True}))


class DateRangeMixin(forms.Form):
    start = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise forms.ValidationError("The start date is after the end date.")
        return data


class PaymentFilterForm(DateRangeMixin):
    q = forms.CharField(required=False, label="Search", max_length=100,
                        widget=forms.TextInput(attrs={"placeholder": "pay_…, payer address, purchase or invoice id", "type": "search"}))
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *PAYMENT_STATUS_CHOICES])
    type = forms.ChoiceField(required=False, choices=[("", "Any type"), *Payment.Type.choices])
    asset = forms.ChoiceField(required=False, choices=[("", "Any asset"), *ASSET_CHOICES])


class InvoiceFilterForm(DateRangeMixin):
    q = forms.CharField(required=False, label="Search", max_length=200,
                        widget=forms.TextInput(attrs={"placeholder": "inv_…, order id or description", "type": "search"}))
    state = forms.ChoiceField(required=False, choices=[("", "Any state"), *Invoice.State.choices])
    asset = forms.ChoiceField(required=False, choices=[("", "Any asset"), *ASSET_CHOICES])


class InvoiceCreateForm(forms.Form):
    amount = forms.CharField(max_length=80, help_text="In ETH or SPD, e.g. 0.25")
    asset = forms.ChoiceField(choices=ASSET_CHOICES)
    description = forms.CharField(max_length=500, required=False)
    order_id = forms.CharField(max_length=200, required=False, label="Order id")
    expires_in_minutes = forms.IntegerField(min_value=1, max_value=7 * 24 * 60, initial=15, label="Expires in (minutes)")
    success_url = forms.URLField(
        required=False, max_length=2000, label="Return link", assume_scheme="https",
        help_text="Your shop's page the customer goes back to after paying, e.g. https://shop.example/thanks")

    def clean_success_url(self) -> str:
        value = str(self.cleaned_data.get("success_url") or "")
        if value and not value.lower().startswith(("https://", "http://")):
            raise forms.ValidationError("Enter an https:// or http:// address.")
        return value


class LinkCreateForm(forms.Form):
    amount = forms.CharField(max_length=80, help_text="Held from your custodial balance until redeemed")
    asset = forms.ChoiceField(choices=ASSET_CHOICES)
    expires_in_days = forms.IntegerField(min_value=1, max_value=365, initial=30, label="Expires in (days)")
    note = forms.CharField(max_length=500, required=False, help_text="Shown to the recipient")


class RefundForm(forms.Form):
    amount = forms.CharField(max_length=80, required=False, help_text="Leave empty to refund what is left")
    reason = forms.ChoiceField(choices=Refund.Reason.choices)


class SettlementRequestForm(forms.Form):
    asset = forms.ChoiceField(choices=ASSET_CHOICES)
    amount = forms.CharField(max_length=80, required=False, help_text="Leave empty to settle the whole balance")


class SettlementRuleForm(forms.Form):
    payout_address = forms.CharField(max_length=42, required=False, label="Payout address",
                                     widget=forms.TextInput(attrs={"placeholder": "0x…", "spellcheck": "false"}))
    threshold_wei = forms.CharField(max_length=80, required=False, label="Settle ETH when the balance reaches")
    threshold_token = forms.CharField(max_length=80, required=False, label="Settle SPD when the balance reaches")
    schedule = forms.ChoiceField(choices=Merchant.SettlementSchedule.choices)
    reauth = forms.CharField(max_length=200, required=False, strip=False, label="Your password or a 6-digit code",
                             help_text="Needed to change the payout address",
                             widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, required=False)
    kind = forms.ChoiceField(choices=[("secret", "Secret (full access)"), ("read_only", "Read-only")])


def _event_type_choices() -> list[tuple[str, str]]:
    from payments.events.catalogue import all_types

    return [("*", "All events"), *((t.type, t.type) for t in all_types())]


class WebhookEndpointForm(forms.Form):
    """The event picker offers the catalogue's types as checkboxes (or all events)."""

    url = forms.URLField(max_length=2000, label="Endpoint URL", assume_scheme="https")
    event_types = forms.MultipleChoiceField(choices=_event_type_choices, initial=["*"], label="Events",
                                            widget=forms.CheckboxSelectMultiple,
                                            help_text="Pick the events to send, or all events")
    description = forms.CharField(max_length=500, required=False)

    def clean_event_types(self) -> list[str]:
        chosen = list(self.cleaned_data["event_types"])
        return ["*"] if "*" in chosen else chosen


class WebhookEndpointEditForm(WebhookEndpointForm):
    enabled = forms.BooleanField(required=False, label="Enabled",
                                 help_text="A disabled endpoint gets no deliveries; pending ones are cancelled")


class InviteForm(forms.Form):
    email = forms.EmailField(max_length=254, help_text="We send the invitation link there; you also see it once")
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.STAFF)


class NewAccountForm(forms.Form):
    username = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autocomplete": "username"}))
    password = forms.CharField(max_length=200, strip=False, label="Choose a password",
                               widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password_again = forms.CharField(max_length=200, strip=False, label="The password again",
                                     widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password") and data.get("password") != data.get("password_again"):
            self.add_error("password_again", "The two passwords differ.")
        return data


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)


class ExportForm(DateRangeMixin):
    KINDS = [("payments", "Payments"), ("invoices", "Invoices"), ("settlements", "Settlements")]
    kind = forms.ChoiceField(choices=KINDS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        self.fields["start"].initial = today - timedelta(days=29)
        self.fields["end"].initial = today
