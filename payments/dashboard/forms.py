"""Dashboard forms: parse and validate input; amounts are typed in human units."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hub.purchases.models import Payment
from payments.dashboard.selectors import PAYMENT_STATUS_CHOICES
from payments.invoices.models import Invoice
from payments.merchants.models import Membership, Merchant
from payments.merchants.permissions import RESOURCES
from payments.refunds.models import Refund
from payments.settlements.models import Settlement

META_KEY = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
PAYMENT_SORTS = ("created", "amount", "status")
ASSET_CHOICES = [("wei", "ETH"), ("token", "SPD (token)")]


class SignInForm(forms.Form):
    username = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}))
    password = forms.CharField(max_length=200, strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class TotpForm(forms.Form):
    code = forms.CharField(label="6-digit code", max_length=12, widget=forms.TextInput(attrs={
        "autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*", "autofocus": True}))


EARLIEST_DAY = date(2000, 1, 1)


class DateRangeMixin(forms.Form):
    start = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        latest = timezone.localdate() + timedelta(days=366)
        for name in ("start", "end"):
            # a far date would overflow the day arithmetic of the filters (year 9999 + 1 day)
            if data.get(name) and not EARLIEST_DAY <= data[name] <= latest:
                self.add_error(name, _("Choose a date between 2000-01-01 and %(latest)s.")
                               % {"latest": latest.isoformat()})
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise forms.ValidationError(_("The start date is after the end date."))
        return data


class OverviewRangeForm(forms.Form):
    """The overview's period: a preset number of days ending today, or custom dates (both
    given, at most MAX_DAYS days, not before 2000 nor more than a year ahead)."""

    range = forms.ChoiceField(required=False, label=_("Period"), choices=[
        ("7", _("Last 7 days")), ("30", _("Last 30 days")), ("90", _("Last 90 days")), ("custom", _("Custom"))])
    start = forms.DateField(required=False, label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        from payments.dashboard.overview import MAX_DAYS

        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if data.get("range") == "custom" or (not data.get("range") and (start or end)):
            if not start or not end:
                raise forms.ValidationError(_("Give both dates of a custom period."))
            latest = timezone.localdate() + timedelta(days=366)
            if start < EARLIEST_DAY or end > latest:
                raise forms.ValidationError(_("Choose dates between 2000-01-01 and %(latest)s."),
                                            params={"latest": latest.isoformat()})
            if start > end:
                raise forms.ValidationError(_("The start date is after the end date."))
            if (end - start).days + 1 > MAX_DAYS:
                raise forms.ValidationError(_("A period is at most %(days)s days."), params={"days": MAX_DAYS})
            data["range"] = "custom"
        return data


class PaymentFilterForm(DateRangeMixin):
    q = forms.CharField(required=False, label="Search", max_length=100,
                        widget=forms.TextInput(attrs={"placeholder": "pay_…, payer address, purchase or invoice id", "type": "search"}))
    meta = forms.CharField(required=False, label=_("Metadata"), max_length=200,
                           help_text=_("key=value for an exact field, or any text in the metadata"),
                           widget=forms.TextInput(attrs={"placeholder": "orderId=1042", "type": "search",
                                                         "spellcheck": "false"}))
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *PAYMENT_STATUS_CHOICES])
    type = forms.ChoiceField(required=False, choices=[("", "Any type"), *Payment.Type.choices])
    asset = forms.ChoiceField(required=False, choices=[("", "Any asset"), *ASSET_CHOICES])
    # the column to sort by (a whitelist; "-" first is newest/largest first)
    sort = forms.ChoiceField(required=False, widget=forms.HiddenInput, choices=[
        ("", "")] + [(f"{sign}{name}", f"{sign}{name}") for name in PAYMENT_SORTS for sign in ("", "-")])

    def clean_meta(self) -> tuple[str, str] | str:
        """("key", "value") for key=value (a key of letters, digits and _ . -), else the text."""
        text = self.cleaned_data["meta"].strip()
        if any(ord(c) < 32 or 0xD800 <= ord(c) <= 0xDFFF for c in text):
            raise forms.ValidationError(_("The metadata search holds characters it cannot search for."))
        key, sep, value = text.partition("=")
        if sep:
            if not META_KEY.fullmatch(key.strip()):
                raise forms.ValidationError(_("A metadata key is 1 to 64 letters, digits, “_”, “.” or “-”."))
            return (key.strip(), value.strip())
        return text


class InvoiceFilterForm(DateRangeMixin):
    q = forms.CharField(required=False, label="Search", max_length=200,
                        widget=forms.TextInput(attrs={"placeholder": "inv_…, order id or description", "type": "search"}))
    state = forms.ChoiceField(required=False, choices=[("", "Any state"), *Invoice.State.choices])
    asset = forms.ChoiceField(required=False, choices=[("", "Any asset"), *ASSET_CHOICES])


class RefundFilterForm(DateRangeMixin):
    state = forms.ChoiceField(required=False, label=_("State"), choices=[("", _("Any state")), *Refund.State.choices])


class SettlementFilterForm(DateRangeMixin):
    state = forms.ChoiceField(required=False, label=_("State"),
                              choices=[("", _("Any state")), *Settlement.State.choices])


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
    """A key's kind and, for a restricted key, each resource's access (none, read or write): the
    same vocabulary as the API's `permissions`."""

    name = forms.CharField(max_length=100, required=False, label=_("Name"))
    kind = forms.ChoiceField(label=_("Kind"), choices=[
        ("secret", _("Secret (full access)")), ("restricted", _("Restricted (the permissions below)")),
        ("read_only", _("Read-only"))])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for resource in RESOURCES:
            self.fields[f"perm_{resource}"] = forms.ChoiceField(
                required=False, label=resource.replace("_", " ").capitalize(),
                choices=[("", _("None")), ("read", _("Read")), ("write", _("Write"))])

    def permission_fields(self) -> list[Any]:
        return [self[f"perm_{r}"] for r in RESOURCES]

    def main_fields(self) -> list[Any]:
        return [self["name"], self["kind"]]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        permissions = {r: data[f"perm_{r}"] for r in RESOURCES if data.get(f"perm_{r}")}
        if data.get("kind") == "restricted" and not permissions:
            raise forms.ValidationError(_("Give a restricted key at least one permission."))
        data["permissions"] = permissions if data.get("kind") == "restricted" else None
        return data


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


class TimeZoneForm(forms.Form):
    time_zone = forms.CharField(max_length=64, label=_("Time zone"),
                                help_text=_("An IANA name such as Europe/Berlin; the dashboard shows times and days in it"),
                                widget=forms.TextInput(attrs={"list": "time-zones", "spellcheck": "false"}))

    def clean_time_zone(self) -> str:
        import zoneinfo

        name = self.cleaned_data["time_zone"].strip()
        if name not in zoneinfo.available_timezones():
            raise forms.ValidationError(_("Unknown time zone; choose one from the list, e.g. Europe/Berlin or UTC."))
        return name


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
