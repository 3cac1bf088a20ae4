"""The upload form (a file and the encoding to read it with); the list's cursors."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.uploads.reader import ENCODINGS


class UploadForm(forms.Form):
    """A CSV or XLSX file and how to read a CSV (UTF-8/GB18030 detected by default)."""

    file = forms.FileField(
        label=_("CSV or XLSX file"),
        widget=forms.ClearableFileInput(
            attrs={"accept": ".csv,text/csv,.xlsx,.tsv,.txt"}
        ),
    )
    encoding = forms.ChoiceField(
        choices=list(ENCODINGS.items()),
        initial="auto",
        label=_("Encoding"),
        help_text=_("For a CSV: Detect reads UTF-8 (with or without BOM) and GB18030."),
    )


class UploadListForm(forms.Form):
    """The uploads list's cursors (an upload's id, newest first)."""

    after = forms.IntegerField(required=False, min_value=1)
    before = forms.IntegerField(required=False, min_value=1)
