"""Form fields shared by the dashboard and the admin."""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms.fields import InvalidJSONInput, JSONString

from ops import jsonbody


class JSONFormField(forms.JSONField):
    """Django's JSONField decoded by ops.jsonbody: its own decode lets ValueError (a number past
    4300 digits) and RecursionError (deep nesting) escape as a 500, on input and again when an
    invalid form is shown back."""

    def to_python(self, value: Any) -> Any:
        if self.disabled:
            return value
        if value in self.empty_values:
            return None
        if isinstance(value, list | dict | int | float | JSONString):
            return value
        try:
            converted = jsonbody.loads(str(value))
        except jsonbody.JsonBodyError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid",
                                        params={"value": value}) from None
        return JSONString(converted) if isinstance(converted, str) else converted

    def bound_data(self, data: Any, initial: Any) -> Any:
        if self.disabled:
            return initial
        if data is None:
            return None
        try:
            return jsonbody.loads(str(data))
        except jsonbody.JsonBodyError:
            return InvalidJSONInput(data)
