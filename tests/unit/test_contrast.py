"""The stylesheet's colours meet WCAG AA in the light and the dark theme.

Every colour of site.css is a custom property, declared once in ``:root`` and
once in ``@media (prefers-color-scheme: dark)``; this reads both blocks and
computes the contrast ratio of each text/background pair the rules use.
"""

import re
from pathlib import Path

import pytest

CSS = Path(__file__).resolve().parents[2] / "accounts/static/imadmin/site.css"
TEXT = 4.5  # WCAG 2.1 AA, 1.4.3: normal-size text
NON_TEXT = 3.0  # WCAG 2.1 AA, 1.4.11: focus rings and other graphics

# (foreground, background, minimum): the pairs the rules of site.css draw.
PAIRS = [
    ("ink", "bg", TEXT),
    ("ink", "card", TEXT),
    ("ink", "head-bg", TEXT),
    ("ink", "row-hover", TEXT),
    ("ink", "input-bg", TEXT),
    ("muted", "bg", TEXT),
    ("muted", "card", TEXT),
    ("muted", "head-bg", TEXT),
    ("accent", "bg", TEXT),
    ("accent", "card", TEXT),
    ("on-accent", "accent", TEXT),
    ("on-accent", "accent-hover", TEXT),
    ("on-brand", "brand", TEXT),
    ("on-brand-soft", "brand", TEXT),
    ("on-brand-muted", "brand", TEXT),
    ("badge-ink", "badge-bg", TEXT),
    ("ok-ink", "ok-bg", TEXT),
    ("ok-ink", "card", TEXT),
    ("fail-ink", "fail-bg", TEXT),
    ("invalid-ink", "invalid-bg", TEXT),
    ("run-ink", "run-bg", TEXT),
    ("idle-ink", "idle-bg", TEXT),
    ("danger-ink", "danger-bg", TEXT),
    ("danger-ink", "card", TEXT),
    ("warn-ink", "warn-bg", TEXT),
    ("ink", "warn-bg", TEXT),
    ("ink", "danger-bg", TEXT),
    ("ink", "success-bg", TEXT),
    ("ink", "info-bg", TEXT),
    ("ink", "caution-bg", TEXT),
    ("focus", "bg", NON_TEXT),
    ("focus", "card", NON_TEXT),
    ("on-brand", "brand", NON_TEXT),  # the focus ring inside the top bar
    ("input-border", "input-bg", NON_TEXT),
    ("input-border", "card", NON_TEXT),
]


def _declarations(block):
    return dict(re.findall(r"--([\w-]+)\s*:\s*([^;]+);", block))


def themes():
    """{"light": {name: value}, "dark": {name: value}} from site.css."""
    css = CSS.read_text()
    dark_at = css.index("@media (prefers-color-scheme: dark)")
    light = _declarations(css[css.index(":root") : dark_at])
    dark_block = css[dark_at : css.index("}\n}", dark_at)]
    return {"light": light, "dark": {**light, **_declarations(dark_block)}}


def _luminance(hex_colour):
    digits = hex_colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    channels = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [
        c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels
    ]
    r, g, b = linear
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(first, second):
    """The WCAG contrast ratio of two #rgb/#rrggbb colours (1 to 21)."""
    high, low = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_it_computes_the_ratios_wcag_gives():
    assert contrast("#000", "#fff") == pytest.approx(21)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


def test_it_declares_every_colour_in_both_themes():
    light_only = set(themes()["light"]) - set(_dark_names()) - {"radius"}
    assert light_only == set()


def _dark_names():
    css = CSS.read_text()
    dark_at = css.index("@media (prefers-color-scheme: dark)")
    return _declarations(css[dark_at : css.index("}\n}", dark_at)])


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_it_meets_aa_contrast_in_each_theme(theme):
    colours = themes()[theme]
    failing = [
        f"--{fg} on --{bg}: {contrast(colours[fg], colours[bg]):.2f} < {minimum}"
        for fg, bg, minimum in PAIRS
        if contrast(colours[fg], colours[bg]) < minimum
    ]
    assert failing == []
