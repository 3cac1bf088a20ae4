"""Forms of the pages: field rules come from accounts.im.validation, nowhere else."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.im.validation import FieldError, clean_face_url, clean_nick, clean_user_id
from accounts.models import AccountState, JobSource, JobStatus, RemoteStatus
from accounts.params import BadParameter, IdField, parse_id
from accounts.selectors import DRIFTED, UNCHECKED

ANY = [("", _("any"))]


def _validated(check, value):
    try:
        return check(value)
    except FieldError as exc:
        raise forms.ValidationError(exc.for_people()) from None


class SingleImportForm(forms.Form):
    """One account for account_import, checked as IM would before any call."""

    # No max_length: IM counts UTF-8 bytes, and the validator says so.
    user_id = forms.CharField(
        label="UserID",
        help_text=_(
            "1–32 bytes: letters, digits and printable ASCII symbols, no spaces."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    nick = forms.CharField(
        label=_("Nickname"), required=False, help_text=_("Optional, up to 500 bytes.")
    )
    face_url = forms.CharField(
        label=_("Avatar URL"),
        required=False,
        help_text=_("Optional: an http:// or https:// address, up to 500 bytes."),
        widget=forms.URLInput(attrs={"placeholder": "https://"}),
    )

    def clean_user_id(self):
        return _validated(clean_user_id, self.cleaned_data["user_id"])

    def clean_nick(self):
        return _validated(clean_nick, self.cleaned_data["nick"])

    def clean_face_url(self):
        return _validated(clean_face_url, self.cleaned_data["face_url"])


class AccountFilterForm(forms.Form):
    """The accounts list's query string: search, filters and the page cursor."""

    q = forms.CharField(label="UserID", required=False, max_length=32)
    nick = forms.CharField(label=_("Nickname"), required=False, max_length=500)
    state = forms.ChoiceField(
        label=_("State"), choices=ANY + AccountState.choices, required=False
    )
    remote = forms.ChoiceField(
        label=_("In IM"),
        required=False,
        choices=ANY
        + [
            (RemoteStatus.IMPORTED, "Imported"),
            (RemoteStatus.NOT_IMPORTED, "NotImported"),
            (UNCHECKED, _("not checked")),
            (DRIFTED, _("drifted (imported here, not in IM)")),
        ],
    )
    source = forms.ChoiceField(
        label=_("Source"), choices=ANY + JobSource.choices, required=False
    )
    job = IdField(label=_("Job #"))
    after = forms.CharField(required=False, max_length=32)
    before = forms.CharField(required=False, max_length=32)

    def clean(self):
        data = super().clean()
        if self.searching:
            return data  # cursors are UserIDs
        for name in ("after", "before"):
            value = data.get(name)
            if value:
                data[name] = _cursor_id(self, name, value)
        return data

    @property
    def searching(self):
        """A UserID search (pages by UserID): a job's accounts page by account."""
        data = self.cleaned_data
        return bool(data.get("q")) and data.get("job") is None


def _cursor_id(form, name, value):
    try:
        return parse_id(value)
    except BadParameter:
        form.add_error(
            name, _("This page link is not valid: start again from the first page.")
        )
        return None


class JobFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), choices=ANY + JobStatus.choices, required=False
    )
    after = forms.CharField(required=False, max_length=19)
    before = forms.CharField(required=False, max_length=19)

    def clean(self):
        data = super().clean()
        for name in ("after", "before"):
            if data.get(name):
                data[name] = _cursor_id(self, name, data[name])
        return data


class CallPageForm(forms.Form):
    """The cursor of a job's call log, kept apart from the job's own parameters."""

    calls_after = forms.CharField(required=False, max_length=19)
    calls_before = forms.CharField(required=False, max_length=19)

    def clean(self):
        data = super().clean()
        for name in ("calls_after", "calls_before"):
            if data.get(name):
                data[name] = _cursor_id(self, name, data[name])
        return data
