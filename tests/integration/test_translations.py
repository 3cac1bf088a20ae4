"""Chinese and English: the catalogue is complete, pages and the admin follow it.

The catalogue test runs makemessages on a copy of the code, so it sees every
string marked now (not the committed file's view of them) and never rewrites
the repository's file.
"""

import shutil
from pathlib import Path

import polib
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import translation

from accounts.im.errors import describe, sentence_for_people

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = Path("locale/zh_Hans/LC_MESSAGES/django.po")
SOURCES = ("accounts", "imadmin", "templates", "locale")
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9,en;q=0.5"}


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    """The zh_Hans catalogue as makemessages makes it from the code as it is now."""
    copy = tmp_path_factory.mktemp("i18n")
    for name in SOURCES:
        shutil.copytree(
            ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__")
        )
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(copy)
        from django.test import override_settings

        with override_settings(LOCALE_PATHS=[copy / "locale"]):
            call_command(
                "makemessages",
                locale=["zh_Hans"],
                no_obsolete=True,
                no_location=True,
                verbosity=0,
            )
    return polib.pofile(str(copy / CATALOGUE))


def test_it_has_a_chinese_translation_for_every_marked_string(regenerated):
    untranslated = [e.msgid for e in regenerated.untranslated_entries()]
    fuzzy = [e.msgid for e in regenerated.fuzzy_entries()]
    assert (untranslated, fuzzy) == ([], [])


def test_it_commits_no_entry_the_code_no_longer_marks(regenerated):
    committed = polib.pofile(str(ROOT / CATALOGUE))
    assert {(e.msgctxt, e.msgid) for e in committed} == {
        (e.msgctxt, e.msgid) for e in regenerated
    }


def test_it_keeps_stored_sentences_english_and_translates_what_people_read():
    with translation.override("zh-hans"):
        assert describe(70398).startswith("The app's account limit is reached")
        assert sentence_for_people(70398).startswith("已达到该应用的账号数量上限")
        assert sentence_for_people(99999) == "IM 返回了未列出的错误码 99999。"
    assert sentence_for_people(99999) == "IM answered an unlisted error code 99999."
    assert sentence_for_people(0) == ""


@pytest.mark.django_db
def test_it_shows_the_admin_in_chinese_to_a_chinese_browser(client):
    client.force_login(get_user_model().objects.create_superuser("boss", "", "pw"))
    page = client.get("/admin/", **ZH).content.decode()
    assert "站点管理" in page
    assert "Site administration" not in client.get("/admin/", **ZH).content.decode()


@pytest.mark.django_db
def test_it_follows_the_browser_then_the_switcher(client):
    page = client.get("/login/", **ZH).content.decode()
    assert '<html lang="zh-hans">' in page
    assert 'value="en" lang="en">English</button>' in page

    answer = client.post("/i18n/setlang/", {"language": "en", "next": "/login/"}, **ZH)
    assert answer.status_code == 302 and answer["Location"] == "/login/"
    assert client.cookies["django_language"].value == "en"
    page = client.get("/login/", **ZH).content.decode()
    assert '<html lang="en">' in page
    assert 'lang="zh-hans">简体中文</button>' in page


@pytest.mark.django_db
def test_it_translates_the_top_bar(client):
    client.force_login(get_user_model().objects.create_superuser("boss", "", "pw"))
    page = client.get("/", **ZH).content.decode()
    for words in (
        "首页",
        "导入单个账号",
        "任务",
        "审计记录",
        "退出登录",
        "跳到页面内容",
    ):
        assert words in page
    assert "时间均以 UTC 时区显示。" in page


@pytest.mark.parametrize("code", [-1, -2, 60007, 70169, 30007])
def test_it_promises_no_retry_in_chinese_once_the_attempts_are_spent(code):
    from accounts.pipeline.policy import failure_sentence

    with translation.override("zh-hans"):
        shown = failure_sentence(code, for_people=True)
        stored = failure_sentence(code)
    assert "重试前" not in shown and "将会重试" not in shown
    assert "将放慢速度重试" not in shown
    assert shown.endswith(
        "尝试次数已用完，不会再自动重试：请在其任务或账号页面上重试。"
    )
    assert stored.endswith(
        "Its attempts are spent, so it is not retried by itself: "
        "retry it from its job or its page."
    )
