"""The CSV upload form: a file and the encoding to read it with."""

from django import forms

from accounts.uploads.reader import ENCODINGS


class UploadForm(forms.Form):
    """A CSV file and how to read it (auto-detected UTF-8/GB18030 by default)."""

    file = forms.FileField(
        label="CSV file",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    encoding = forms.ChoiceField(
        choices=list(ENCODINGS.items()),
        initial="auto",
        help_text="Detect reads UTF-8 (with or without BOM) and GB18030.",
    )
