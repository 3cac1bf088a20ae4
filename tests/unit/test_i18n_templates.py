"""No template shows a person English outside the i18n tags.

NOT_YET_TRANSLATED lists the page templates still to convert (their strings
wrapped in {% translate %} / {% blocktranslate %}, the catalogue filled). Every
other template must have no bare English; a listed one that has none must
leave the list, so the list only shrinks, to empty.
"""

import pytest

from tests.i18n_scan import bare_english, template_names

NOT_YET_TRANSLATED: set[str] = set()


@pytest.mark.parametrize("name", template_names())
def test_it_finds_no_english_outside_translate_tags(name):
    found = bare_english(name)
    if name in NOT_YET_TRANSLATED:
        assert found, f"{name} is translated now: remove it from NOT_YET_TRANSLATED"
    else:
        assert found == [], f"{name} shows untranslated English: {found}"


def test_it_lists_only_templates_that_exist():
    assert NOT_YET_TRANSLATED - set(template_names()) == set()


@pytest.mark.parametrize(
    "source, found",
    [
        ("<p>Hello</p>", ["Hello"]),
        ('<p>{% translate "Hello" %}</p>', []),
        ("<p>{% blocktranslate %}Hi {{ n }}{% endblocktranslate %}</p>", []),
        (
            '<a title="Open it" href="{% url \'x\' %}">{{ x }}</a>',
            ['a[title]="Open it"'],
        ),
        ('<button type="submit" value="Go">{% translate "Go" %}</button>', []),
        ('<input type="submit" value="Go">', ['input[value]="Go"']),
        ("<th>UserID</th><td>{{ id }} · IM</td>", []),
        ("{# a note #}{% comment %}More words{% endcomment %}<b>§</b>", []),
        (
            '<form data-confirm="Delete it?"></form>',
            ['form[data-confirm]="Delete it?"'],
        ),
    ],
)
def test_it_flags_english_a_person_reads(tmp_path, monkeypatch, source, found):
    (tmp_path / "t.html").write_text(source)
    monkeypatch.setattr("tests.i18n_scan.TEMPLATES", tmp_path)
    assert bare_english("t.html") == found
