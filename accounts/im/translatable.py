"""Exceptions whose message is English where it is kept and translated where read."""

from django.utils.translation import gettext


class TranslatableError(Exception):
    """``str()`` and ``message`` are English, as logs, audit entries and stored
    rows keep them; ``for_people()`` is the same sentence in the active language.

    ``message`` is a catalogue string (marked with ``gettext_noop``), with
    ``%(name)s`` placeholders filled from ``values``.
    """

    def __init__(self, message, **values):
        self.template, self.values = message, values
        self.message = message % values if values else message
        super().__init__(self.message)

    def for_people(self):
        text = gettext(self.template)
        return text % self.values if self.values else text
