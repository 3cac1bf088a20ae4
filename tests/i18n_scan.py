"""Finds English that a template shows a person outside the i18n tags.

A template is read with Django's own lexer. Text between tags is kept;
``{% translate %}`` and ``{% blocktranslate %}…{% endblocktranslate %}`` become
a placeholder, as do variables; comments go. What is left is read as HTML:
any text node, or attribute a person reads (title, alt, aria-label,
placeholder, data-confirm, an input button's value), that still holds a Latin letter
after removing the allowed names (API names, product names) is reported.
"""

import re
from html.parser import HTMLParser
from pathlib import Path

from django.template.base import Lexer, TokenType

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
# Names that stay as they are in every language: API and product names.
ALLOWED_WORDS = {
    "imadmin",
    "IM",
    "UserID",
    "FaceUrl",
    "Nick",
    "ErrorCode",
    "ErrorInfo",
    "FailAccounts",
    "Imported",
    "NotImported",
    "SDKAppID",
    "UserSig",
    "CSV",
    "JSON",
    "API",
    "URL",
    "HTTP",
    "ID",
    "Skip",
    "SHA-256",
}
READ_ATTRIBUTES = {
    "title",
    "alt",
    "aria-label",
    "aria-description",
    "placeholder",
    "data-confirm",
    "label",
}
BUTTON_INPUTS = {"submit", "button", "reset"}
PLACEHOLDER = "§"
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_.'-]*")


def template_names():
    """Every template of the project, as its name relative to templates/."""
    return sorted(
        str(path.relative_to(TEMPLATES))
        for path in TEMPLATES.rglob("*")
        if path.suffix in (".html", ".txt")
    )


def bare_english(name):
    """The pieces of ``name`` a person reads in English, untranslated."""
    parser = _TextFinder()
    parser.feed(_skeleton((TEMPLATES / name).read_text()))
    parser.close()
    return parser.found


def _skeleton(source):
    """``source`` with i18n tags and variables as placeholders, other tags gone."""
    parts, skip_until = [], None
    for token in Lexer(source).tokenize():
        words = token.contents.split()
        first = words[0] if words else ""
        if skip_until:
            if token.token_type == TokenType.BLOCK and first == skip_until:
                parts.append(PLACEHOLDER if skip_until != "endcomment" else " ")
                skip_until = None
        elif token.token_type == TokenType.TEXT:
            parts.append(token.contents)
        elif token.token_type == TokenType.VAR:
            parts.append(PLACEHOLDER)
        elif token.token_type == TokenType.BLOCK:
            skip_until = _block_end(first)
            parts.append(PLACEHOLDER if first in ("translate", "trans") else " ")
    return "".join(parts)


def _block_end(tag):
    ends = {
        "blocktranslate": "endblocktranslate",
        "blocktrans": "endblocktrans",
        "comment": "endcomment",
    }
    return ends.get(tag)


def is_english(text):
    """Whether ``text`` holds a Latin-letter word that is not an allowed name."""
    return any(word not in ALLOWED_WORDS for word in _WORD.findall(text))


class _TextFinder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found = []
        self._raw = 0  # inside <script> or <style>

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._raw += 1
        values = dict(attrs)
        for attribute, value in attrs:
            readable = attribute in READ_ATTRIBUTES or (
                attribute == "value"
                and tag == "input"
                and values.get("type") in BUTTON_INPUTS
            )
            if readable and value and is_english(value):
                self.found.append(f'{tag}[{attribute}]="{value.strip()}"')

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._raw:
            self._raw -= 1

    def handle_data(self, data):
        if not self._raw and is_english(data):
            self.found.append(" ".join(data.split()))
