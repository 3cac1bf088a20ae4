"""The 400, 403, 404 and 500 pages: styled, saying why, with a way back."""

import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.test import Client, RequestFactory
from django.utils import translation

from accounts.errorpages import views
from tests.personas import IMPORTER, SUPPORT, signed_in

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN"}
pytestmark = pytest.mark.django_db


def _page(answer):
    return answer.content.decode()


def test_it_names_the_roles_a_page_needs(client):
    signed_in(client, "sam", *SUPPORT)
    answer = client.get("/jobs/")
    assert answer.status_code == 403
    page = _page(answer)
    assert "This page needs one of these roles: importer, auditor." in page
    assert "You are signed in as sam." in page
    assert 'class="topbar"' in page and 'href="/"' in page


def test_it_names_a_single_role_in_chinese(client):
    signed_in(client, "sam", *SUPPORT)
    page = _page(client.get("/uploads/new/", **ZH))
    assert "此页面需要以下角色之一：importer。" in page
    assert "返回仪表盘" in page


def test_it_names_the_auditor_role_for_the_audit_history(client):
    signed_in(client, "ivy", *IMPORTER)
    page = _page(client.get("/audit/"))
    assert "This page needs the auditor role." in page


def test_it_shows_a_styled_404_with_the_top_bar(client):
    signed_in(client, "sam", *SUPPORT)
    answer = client.get("/no-such-page/", **ZH)
    assert answer.status_code == 404
    page = _page(answer)
    assert "页面不存在" in page and "/no-such-page/" in page
    assert "退出登录" in page  # the signed-in top bar


def test_it_shows_a_styled_400_for_a_bad_host(client):
    answer = client.get("/login/", HTTP_HOST="elsewhere.example")
    assert answer.status_code == 400
    assert "Bad request" in _page(answer) and "Back to the dashboard" in _page(answer)


def test_it_shows_a_styled_500_in_the_browser_s_language(settings):
    settings.ROOT_URLCONF = "tests.integration.urls_failing"
    answer = Client(raise_request_exception=False).get("/fail/", **ZH)
    assert answer.status_code == 500
    page = _page(answer)
    assert "服务器出错了" in page and 'href="/"' in page
    assert 'class="topbar"' in page
    assert "a bug" not in page


@pytest.mark.django_db(databases=[])
def test_it_renders_the_500_page_without_the_database():
    # pytest-django refuses every query here: the page must need none.
    with translation.override("en"):
        answer = views.server_error(RequestFactory().get("/"))
    assert answer.status_code == 500
    assert "Something went wrong on the server" in answer.content.decode()
    assert re.search(
        r"it failed at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\.", _page(answer)
    )
    assert "language-switcher" not in answer.content.decode()


def test_it_explains_a_form_refused_for_its_security_token():
    answer = Client(enforce_csrf_checks=True).post(
        "/login/", {"username": "a", "password": "b"}, **ZH
    )
    assert answer.status_code == 403
    page = _page(answer)
    assert "表单被拒绝" in page and "刷新页面后重新提交" in page
    assert "角色" not in page  # no role is missing


def test_it_says_access_is_refused_for_a_page_without_a_named_permission(rf):
    request = rf.get("/")
    request.user = AnonymousUser()
    with translation.override("en"):
        page = _page(views.permission_denied(request, PermissionDenied()))
    assert "Your account may not open this page." in page


def test_it_shows_the_message_a_view_gives(rf):
    request = rf.get("/")
    request.user = AnonymousUser()
    with translation.override("en"):
        answer = views.permission_denied(request, PermissionDenied("Only on Mondays."))
    assert "Only on Mondays." in _page(answer)
    assert "Your account may not open this page." not in _page(answer)
