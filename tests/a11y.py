"""Accessibility and layout checks for browser tests: axe-core and sideways scroll.

axe-core (npm, pinned in the Makefile, installed by ``make axe`` under
var/node/) is added to every page of a browser context as an init script:
Playwright runs those outside the page's Content-Security-Policy, which
forbids inline scripts, so the page under test keeps its real headers.

``VARIANTS`` is every language × theme × width a page is checked in;
``check_page`` runs all the checks for one and returns what failed, so a
test can sweep a list of pages and report them all at once.
"""

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures_browser import screenshot
from tests.i18n_scan import is_english

AXE_JS = (
    Path(__file__).resolve().parent.parent / "var/node/node_modules/axe-core/axe.min.js"
)
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
BLOCKING = ("serious", "critical")
LANGUAGES = {"en": "en", "zh-hans": "zh-CN,zh;q=0.9"}
THEMES = ("light", "dark")
WIDTHS = {"desktop": (1366, 900), "phone": (375, 812)}


@dataclass(frozen=True)
class Variant:
    language: str  # a code of settings.LANGUAGES
    theme: str  # "light" or "dark"
    width: str  # a key of WIDTHS

    def apply(self, page):
        """Sets the page's Accept-Language, colour scheme and viewport."""
        page.set_extra_http_headers({"Accept-Language": LANGUAGES[self.language]})
        page.emulate_media(color_scheme=self.theme)
        width, height = WIDTHS[self.width]
        page.set_viewport_size({"width": width, "height": height})

    def __str__(self):
        return f"{self.language}-{self.theme}-{self.width}"


VARIANTS = [
    Variant(lang, theme, width)
    for lang in LANGUAGES
    for theme in THEMES
    for width in WIDTHS
]


def with_axe(page):
    """``page``'s context loads axe-core into every page it opens from now on."""
    if not AXE_JS.exists():
        pytest.fail(f"axe-core is missing at {AXE_JS}: run `make axe`")
    page.context.add_init_script(path=str(AXE_JS))
    return page


def axe_violations(page, scope="html"):
    """Serious and critical axe-core violations inside ``scope`` (a CSS selector).

    Returns ["rule-id (impact): help — first targets", …]; empty when clean.
    """
    results = page.evaluate(
        """async ([scope, tags]) => {
            const found = await axe.run({include: [[scope]]}, {
                runOnly: {type: "tag", values: tags}, resultTypes: ["violations"],
            });
            return found.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.slice(0, 3).map(n => n.target.join(" ")),
            }));
        }""",
        [scope, AXE_TAGS],
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {', '.join(v['targets'])}"
        for v in results
        if v["impact"] in BLOCKING
    ]


def sideways_scroll(page):
    """ "" when the page fits its viewport's width, else the two widths."""
    width, viewport = page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth]"
    )
    return "" if width <= viewport else f"page is {width}px wide in {viewport}px"


def dangling_references(page):
    """Ids that aria-describedby, aria-labelledby, aria-controls or a label's
    ``for`` name but no element has, as ["aria-describedby=help-x", …]."""
    return page.evaluate(
        """() => {
            const found = [];
            const attributes = ["aria-describedby", "aria-labelledby", "aria-controls"];
            for (const attribute of attributes) {
                for (const element of document.querySelectorAll(`[${attribute}]`)) {
                    for (const id of element.getAttribute(attribute).split(/\\s+/)) {
                        if (id && !document.getElementById(id)) {
                            found.push(`${attribute}=${id}`);
                        }
                    }
                }
            }
            for (const label of document.querySelectorAll("label[for]")) {
                if (!document.getElementById(label.htmlFor)) {
                    found.push(`label for=${label.htmlFor}`);
                }
            }
            return found;
        }"""
    )


def english_navigation(page):
    """The top bar's links and buttons that read in English (names allowed).

    A button marked with its own ``lang`` (the switcher's "English") is meant.
    """
    texts = page.locator("header nav a, header button:not([lang])").all_text_contents()
    return [text.strip() for text in texts if is_english(text)]


def check_page(page, url, variant, *, scope="html", name):
    """Opens ``url`` in ``variant``; returns the problems found (empty: none).

    Checks the language the page declares, sideways scroll, references to ids
    that do not exist, English in the top bar of a page in another language,
    and axe-core within ``scope``; keeps a screenshot as
    test-artifacts/screenshots/NAME-VARIANT.png.
    """
    variant.apply(page)
    page.goto(url)
    problems = []
    declared = page.get_attribute("html", "lang")
    if declared != variant.language:
        problems.append(f'html lang is "{declared}"')
    if scroll := sideways_scroll(page):
        problems.append(scroll)
    problems += [f"no element for {ref}" for ref in dangling_references(page)]
    if variant.language != "en":
        problems += [f'"{text}" in English' for text in english_navigation(page)]
    problems += axe_violations(page, scope)
    screenshot(page, f"{name}-{variant}")
    return [f"{name} {variant}: {problem}" for problem in problems]
