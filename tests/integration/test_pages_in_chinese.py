"""The dashboard, audit, job, account and import pages, sign-in and password
change, read in Chinese.

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
    AuditEvent,
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


def test_it_shows_a_jobs_page_in_chinese_with_its_live_words(client, job):
    page = chinese_page(client, f"/jobs/{job.pk}/", "importer")
    for words in (
        f"<h1>导入任务 #{job.pk} ",
        ">已完成（有错误）</span>",
        "<h2>详情</h2>",
        "<h2>调用记录 <span",
        "重试失败的账号",
        "已结束：以下计数为最终结果。",
        ">1,233</span>",
        'data-text-paused="已暂停"',
    ):
        assert words in page
    assert 'role="status" aria-live="polite"' in page
    assert "Call log" not in page and "Details" not in page
    progress = client.get(f"/jobs/{job.pk}/progress.json", **ZH).json()
    assert progress["phase_text"] == "已结束：以下计数为最终结果。"
    assert progress["status_display"] == "已完成（有错误）"


def test_it_says_in_chinese_that_a_job_waits_for_im(client, job):
    job.status, job.finished_at = JobStatus.RUNNING, None
    job.wait_until, job.wait_reason = timezone.now().timestamp() + 60, "HTTP 503"
    job.save()
    page = chinese_page(client, f"/jobs/{job.pk}/", "auditor")
    assert "等待 IM：HTTP 503，下次尝试时间 " in page
    assert "IM 恢复应答后任务会自动继续。" in page
    assert "第 2 阶段" not in page  # a job without a file has one phase
    assert "正在发送。" in page
    progress = client.get(f"/jobs/{job.pk}/progress.json", **ZH).json()
    assert progress["waiting_sentence"].startswith("等待 IM：HTTP 503，")
    english = client.get(f"/jobs/{job.pk}/progress.json").json()
    assert english["waiting"].startswith("waiting for IM: HTTP 503, next try at ")


def test_it_lists_jobs_and_explains_a_bad_link_in_chinese(client, job):
    page = chinese_page(client, "/jobs/", "auditor")
    for words in (
        "<h1>任务</h1>",
        "最新的在前。",
        '<th class="wide">进度</th>',
        ">导入</td>",
    ):
        assert words in page
    bad = chinese_page(client, "/jobs/?after=x")
    assert "此分页链接无效：请从第一页重新开始。" in bad


def test_it_lists_and_shows_accounts_in_chinese(client, job):
    page = chinese_page(client, "/accounts/", "support")
    for words in ("<h1>账号</h1>", ">昵称开头为</label>", ">已导入</span>", "筛选"):
        assert words in page
    bad = chinese_page(client, "/accounts/?job=x")
    assert "任务编号: 请输入 1 到 9223372036854775807 之间的整数" in bad
    assert 'aria-describedby="id_job_error"' in bad and missing_ids(bad) == set()
    detail = chinese_page(client, "/accounts/u-1/")
    for words in ("<h2>资料</h2>", "<h2>状况</h2>", "已尝试 0 次", "<dt>导入时间</dt>"):
        assert words in detail


def test_it_asks_in_chinese_before_deleting_an_account(client, job):
    page = chinese_page(client, "/accounts/u-1/delete/", "importer")
    assert "从 IM 删除" in page and "Delete" not in page
    answer = client.post("/accounts/u-1/check/", **ZH, follow=True).content.decode()
    assert "正在 IM 中查询 u-1：任务 #" in answer


def test_it_imports_one_account_in_chinese_with_described_fields(client):
    page = chinese_page(client, "/import/", "support")
    assert "<h1>导入单个账号</h1>" in page and ">昵称</label>" in page
    assert "导入到 IM" in page
    assert missing_ids(page) == set()
    assert 'aria-describedby="id_user_id_helptext"' in page
    refused = client.post("/import/", {"user_id": "has space"}, **ZH).content.decode()
    assert 'aria-invalid="true"' in refused
    assert "UserID 只能包含字母、数字和可打印的 ASCII 符号，不能有空格。" in refused
    assert 'id="id_user_id_error"' in refused
    assert missing_ids(refused) == set()


def test_it_names_a_wrong_setting_in_the_pages_language(client, settings):
    settings.IM_RATE_FRACTION = 2
    page = chinese_page(client, "/", "support")
    assert "IM 配置有误：IM_RATE_FRACTION 必须大于 0 且不超过 1。" in page
    english = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "IM_RATE_FRACTION must be above 0 and at most 1." in english


def test_it_says_in_chinese_why_nothing_was_started_and_audits_it_in_english(
    client, job
):
    client.force_login(user_with_role("importer", "importer-nothing"))
    job.status = JobStatus.RUNNING
    job.finished_at = None
    job.save()
    answer = client.post(f"/jobs/{job.pk}/continue/", **ZH, follow=True)
    assert "只有已取消或已停止的导入任务才能继续。" in answer.content.decode()
    entry = AuditEvent.objects.filter(action=AuditAction.JOB_RESUME).latest("id")
    assert "Only a cancelled or stopped import can be resumed." in str(entry.details)


def test_it_describes_a_bad_job_filter_by_an_id_that_exists(client):
    page = chinese_page(client, "/jobs/?status=nonsense", "auditor")
    assert 'aria-describedby="id_status_error"' in page
    assert missing_ids(page) == set()


UPLOAD = (
    "UserID,Nick\r\n" + "".join(f"u-{n},N{n}\r\n" for n in range(1200)) + "bad id,x\r\n"
).encode()


@pytest.fixture
def importer(client, settings, tmp_path):
    settings.UPLOAD_DIR = tmp_path / "uploads"
    client.force_login(user_with_role("importer", "importer-zh"))
    return client


def upload_in_chinese(client, content=UPLOAD):
    from django.core.files.uploadedfile import SimpleUploadedFile

    file = SimpleUploadedFile("people.csv", content, content_type="text/csv")
    response = client.post("/uploads/new/", {"file": file, "encoding": "auto"}, **ZH)
    assert response.status_code == 302
    return response["Location"]


def test_it_shows_the_upload_form_in_chinese_with_described_fields(importer):
    page = chinese_page(importer, "/uploads/new/")
    for words in (
        "从 CSV 或 XLSX 文件导入多个账号",
        "文件要求",
        "上传并预览",
        "自动识别",
    ):
        assert words in page
    assert "<code>UserID</code>（必填）" in page
    assert "What the file needs" not in page
    assert missing_ids(page) == set()


def test_it_refuses_a_file_in_chinese(importer):
    from django.core.files.uploadedfile import SimpleUploadedFile

    file = SimpleUploadedFile("names.csv", b"Name\nann\n", content_type="text/csv")
    data = {"file": file, "encoding": "auto"}
    page = importer.post("/uploads/new/", data, **ZH).content.decode()
    assert "文件未被接受。" in page


def test_it_previews_an_upload_in_chinese_with_grouped_numbers(importer):
    page = chinese_page(importer, upload_in_chinese(importer))
    for words in (
        "people.csv 的预览</h1>",
        "尚未导入",
        "已读取的行",
        "确认后对有效行的处理",
        "要导入的新账号",
        "无效或跳过的行",
        "确认：导入 1,200 个账号",
        "取消并删除文件",
    ):
        assert words in page
    assert '<td class="num" data-count="rows">1,201</td>' in page
    assert "Rows read" not in page and "Confirm:" not in page


def test_it_confirms_and_lists_uploads_in_chinese(importer):
    preview = upload_in_chinese(importer)
    token = preview.split("/")[2]
    done = importer.post(f"/uploads/{token}/confirm/", follow=True, **ZH)
    assert "people.csv 已确认：任务 #" in done.content.decode()
    page = chinese_page(importer, "/uploads/")
    for words in ("<h1>上传记录</h1>", ">文件</th>", ">上传者</th>", "1,201"):
        assert words in page
    assert "Uploaded by" not in page


def test_the_invalid_rows_csv_keeps_its_column_names_in_chinese(importer):
    token = upload_in_chinese(importer).split("/")[2]
    response = importer.get(f"/uploads/{token}/invalid.csv", **ZH)
    text = b"".join(response.streaming_content).decode()
    assert text.lstrip("\ufeff").splitlines()[0].split(",") == [
        "Line",
        "UserID",
        "Nick",
        "FaceUrl",
        "Error",
        "Skip",
    ]
    template = importer.get("/uploads/template.csv", **ZH)
    assert b"UserID,Nick,FaceUrl" in b"".join(template.streaming_content)


def test_it_says_in_chinese_that_sign_in_is_locked(client, settings):
    settings.AXES_FAILURE_LIMIT = 2
    user_with_role("support", "locked-zh")
    for _ in range(3):
        answer = client.post(
            "/login/", {"username": "locked-zh", "password": "wrong"}, **ZH
        )
    page = answer.content.decode()
    assert answer.status_code == 429
    assert "<h1>登录已锁定</h1>" in page
    assert "“locked-zh”从此地址登录失败" in page and "分钟后重试" in page


def test_it_asks_in_chinese_before_deleting_from_im(admin_client, settings):
    settings.DELETE_CONFIRM_COUNT_ABOVE = 1
    picked = [
        TrackedAccount.objects.create(user_id=f"d{i}", state=AccountState.IMPORTED)
        for i in range(2)
    ]
    page = admin_client.post(
        "/admin/accounts/trackedaccount/",
        {"action": "delete_from_im", "_selected_action": [a.pk for a in picked]},
        **ZH,
    ).content.decode()
    for words in (
        "从 IM 删除 2 个账号？",
        "此操作在 IM 中无法撤销",
        "是的，从 IM 删除这些账号",
    ):
        assert words in page
    assert "请输入要删除的账号数量（2）以确认" in page
