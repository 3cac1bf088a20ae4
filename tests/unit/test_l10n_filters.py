"""Times with their zone, numbers grouped for the language, IM sentences translated."""

from datetime import UTC, date, datetime

import pytest
from django.template import Context, Template
from django.utils import timezone, translation

from accounts.errorpages.permissions import view_permissions
from accounts.roles import roles_granting
from accounts.templatetags.imadmin import local_time, thousands

MOMENT = datetime(2026, 12, 1, 14, 30, 5, tzinfo=UTC)


def test_it_prints_a_time_with_its_zone():
    with timezone.override("UTC"):
        assert local_time(MOMENT) == "2026-12-01 14:30:05 UTC"
    with timezone.override("Asia/Shanghai"):
        assert local_time(MOMENT) == "2026-12-01 22:30:05 CST"


def test_it_leaves_what_is_not_a_datetime():
    assert local_time(None) == ""
    assert local_time(date(2026, 12, 1)) == date(2026, 12, 1)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_it_groups_thousands_in_both_languages(language):
    with translation.override(language):
        assert thousands(1234567) == "1,234,567"
        assert thousands("12") == "12"
        assert thousands("n/a") == "n/a"


def test_it_shows_an_im_error_in_the_page_s_language():
    template = Template("{% load imadmin %}{% error 70107 %}|{{ 70107|im_sentence }}")
    with translation.override("zh-hans"):
        assert template.render(Context()).count("该账号在 IM 中不存在。") == 2
    with translation.override("en"):
        assert "The account does not exist in IM." in template.render(Context())


def test_it_reads_the_permissions_a_view_asks_for():
    from accounts.web import views

    assert view_permissions(views.job_list) == ["accounts.view_importjob"]
    assert view_permissions(views.home) == []
    assert view_permissions(len) == []


def test_it_names_the_roles_holding_every_permission():
    assert roles_granting(["accounts.view_importjob"]) == ["importer", "auditor"]
    assert roles_granting(["accounts.run_bulk_jobs"]) == ["importer"]
    assert roles_granting(["accounts.import_single", "accounts.export_audit"]) == []
