"""The audit history's filters: who, what, when, which UserID, which job."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import AuditAction
from accounts.params import IdField


class AuditFilterForm(forms.Form):
    """GET filters of the history and its exports; every field is optional."""

    who = forms.CharField(
        required=False,
        max_length=150,
        label=_("Who"),
        help_text=_("A username: who acted, or who tried to sign in."),
    )
    action = forms.ChoiceField(
        required=False,
        choices=[("", _("any")), *AuditAction.choices],
        label=_("Action"),
    )
    date_from = forms.DateField(
        required=False,
        label=pgettext_lazy("first day", "From"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = forms.DateField(
        required=False,
        label=pgettext_lazy("last day", "To"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    user_id = forms.CharField(required=False, max_length=32, label="UserID")
    job = IdField(label=_("Job #"))

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError(_("“From” is after “To”."), code="dates")
        return cleaned

    def filters(self):
        """The filters given, as keyword arguments of selectors.audit_events."""
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}
