"""The audit history's filters: who, what, when, which UserID, which job."""

from django import forms

from accounts.models import AuditAction
from accounts.params import IdField


class AuditFilterForm(forms.Form):
    """GET filters of the history and its exports; every field is optional."""

    who = forms.CharField(
        required=False,
        max_length=150,
        label="Who",
        help_text="A username: who acted, or who tried to sign in.",
    )
    action = forms.ChoiceField(
        required=False, choices=[("", "any"), *AuditAction.choices], label="Action"
    )
    date_from = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )
    user_id = forms.CharField(required=False, max_length=32, label="UserID")
    job = IdField(label="Job #")

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError("“From” is after “To”.")
        return cleaned

    def filters(self):
        """The filters given, as keyword arguments of selectors.audit_events."""
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}
