"""The dashboard, the audit pages, sign-in and password change, read in Chinese.

Each page is asked for with a Chinese browser's Accept-Language and must show
its headings in Chinese; form fields must be described by ids the page has;
the data exports keep their machine column names.
"""

import re

import pytest
from django.core.cache import cache
from django.utils import timezone

from accounts.audit.records import audit_record
from accounts.audit.selectors import CALL_FIELDS, EVENT_FIELDS
from accounts.models import (
    AccountState,
    ApiCall,
    AuditAction,
    ImportJob,
    JobStatus,
    TrackedAccount,
)
from accounts.web import context_processors
from tests.integration.test_roles import PASSWORD, user_with_role

pytestmark = pytest.mark.django_db
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9,en;q=0.5"}


@pytest.fixture(autouse=True)
def fresh_state(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()  # the dashboard shares its counts for 15 s
    context_processors._last_check["key"] = None


@pytest.fixture
def job():
    now = timezone.now()
    job = ImportJob.objects.create(
        kind="import",
        source="csv",
        status=JobStatus.DONE_WITH_ERRORS,
        label="people.csv",
        total=1234,
        succeeded=1233,
        failed=1,
        finished_at=now,
    )
    ApiCall.objects.create(
        job=job,
        api="account_import",
        account_count=1,
        user_ids=["u-1"],
        http_status=200,
        error_code=0,
        created_at=now,
    )
    audit_record(
        action=AuditAction.JOB_STARTED,
        object_type="job",
        object_id=str(job.pk),
        job_id=job.pk,
    )
    TrackedAccount.objects.create(
        user_id="u-1", state=AccountState.IMPORTED, imported_at=now
    )
    return job


def chinese_page(client, url, role=None):
    if role:
        client.force_login(user_with_role(role, f"{role}-zh"))
    response = client.get(url, **ZH)
    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="zh-hans">' in page
    return page


def missing_ids(page):
    """ids that an aria-describedby of ``page`` names but no element has."""
    named = {
        name
        for value in re.findall(r'aria-describedby="([^"]*)"', page)
        for name in value.split()
    }
    return {name for name in named if f'id="{name}"' not in page}


@pytest.mark.parametrize(
    "role, headings",
    [
        ("support", ["<h1>仪表盘</h1>", "账号 <span", "按本地状态", "每日导入数"]),
        ("importer", ["<h1>仪表盘</h1>", "最近的任务", "API 调用频率", "后台进程"]),
        ("auditor", ["<h1>仪表盘</h1>", "最近的任务", "1,234"]),
    ],
)
def test_it_shows_the_dashboard_in_chinese_to_each_role(client, job, role, headings):
    page = chinese_page(client, "/", role)
    for heading in headings:
        assert heading in page
    assert "Recent jobs" not in page and "Dashboard" not in page


def test_it_shows_the_audit_history_in_chinese(client, job):
    page = chinese_page(client, "/audit/", "auditor")
    for words in ("<h1>审计记录</h1>", "操作人", "起始日期", "筛选", "导出全部记录："):
        assert words in page
    assert f">任务 #{job.pk}</a>" in page
    assert missing_ids(page) == set()


def test_it_explains_bad_filters_in_chinese_with_described_fields(client):
    url = "/audit/?job=x&date_from=2026-12-02&date_to=2026-12-01"
    page = chinese_page(client, url, "auditor")
    assert "“起始日期”晚于“截止日期”。" in page
    assert "任务编号: 请输入 1 到 9223372036854775807 之间的整数" in page
    assert 'aria-describedby="id_job_error"' in page
    assert missing_ids(page) == set()
    answer = client.get("/audit/export.csv?job=x", **ZH)
    assert answer.status_code == 400
    assert "筛选条件无效" in answer.content.decode()


def test_it_tells_a_jobs_story_in_chinese(client, job):
    page = chinese_page(client, f"/audit/jobs/{job.pk}/", "auditor")
    for words in (
        "的经过</h1>",
        "发起人与内容",
        "<dd>系统 ·",
        "计数",
        "API 调用（按发送顺序）",
    ):
        assert words in page
    assert '<th scope="row">已导入</th><td class="num">1,233</td>' in page
    assert ">成功</td>" in page


def test_it_signs_in_in_chinese(client):
    page = chinese_page(client, "/login/")
    assert "<h1>登录</h1>" in page
    assert ">用户名</label>" in page and ">密码</label>" in page


def test_it_changes_a_password_in_chinese_with_described_fields(client):
    page = chinese_page(client, "/password_change/", "support")
    assert "<h1>修改密码</h1>" in page
    assert missing_ids(page) == set()
    refused = client.post(
        "/password_change/",
        {"old_password": "wrong", "new_password1": "a", "new_password2": "b"},
        **ZH,
    ).content.decode()
    assert 'aria-invalid="true"' in refused
    assert missing_ids(refused) == set()
    done = client.post(
        "/password_change/",
        {
            "old_password": PASSWORD,
            "new_password1": "another-long-pass-phrase",
            "new_password2": "another-long-pass-phrase",
        },
        **ZH,
        follow=True,
    ).content.decode()
    assert "<h1>密码已修改</h1>" in done and "返回仪表盘" in done


def test_it_warns_in_chinese_about_a_job_stopped_by_im(client):
    stopped = ImportJob.objects.create(
        source="csv", status=JobStatus.STOPPED, error_code=70398
    )
    page = chinese_page(client, "/", "importer")
    assert "因 IM 错误 70398 已停止：已达到该应用的账号数量上限" in page
    assert f'<a href="/jobs/{stopped.pk}/">打开任务 #{stopped.pk}</a>' in page


def test_it_says_in_chinese_that_the_endpoint_is_not_configured(client, settings):
    settings.IM_SANDBOX, settings.IM_API_BASE_URL = True, ""
    settings.IM_REGION = "nowhere"
    page = chinese_page(client, "/", "support")
    assert "IM 接入点：<strong>未配置</strong>" in page


def test_it_keeps_the_exports_column_names_in_chinese(client, job):
    client.force_login(user_with_role("auditor", "auditor-zh"))
    for url, fields in (
        ("/audit/export.csv", EVENT_FIELDS),
        (f"/audit/jobs/{job.pk}/calls.csv", CALL_FIELDS),
    ):
        response = client.get(url, **ZH)
        first = next(iter(response.streaming_content)).decode().splitlines()[0]
        assert first.lstrip("\ufeff").split(",") == fields
