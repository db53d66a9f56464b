from __future__ import annotations

from django import forms

from payments.dashboard.forms import ASSET_CHOICES


class LinkCreateForm(forms.Form):
    amount = forms.CharField(max_length=80, help_text="Held from your custodial balance until redeemed")
    asset = forms.ChoiceField(choices=ASSET_CHOICES)
    expires_in_days = forms.IntegerField(min_value=1, max_value=365, initial=30, label="Expires in (days)")
    note = forms.CharField(max_length=500, required=False, help_text="Shown to the recipient")
