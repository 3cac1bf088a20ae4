"""The upload pages: access, form, preview, confirm, cancel, the invalid rows."""

import io
import re
import time

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError
from django.http.multipartparser import MultiPartParser
from django.test import Client

from accounts import tasks
from accounts.models import (
    AuditAction,
    AuditEvent,
    ImportJob,
    JobItem,
    TrackedAccount,
    Upload,
    UploadStatus,
)
from accounts.uploads.reader import open_rows

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02"
CONTENT = (
    "UserID,Nick,Phone\r\n"
    "alice,Alice,1\r\n"
    "bob,张三,2\r\n"
    "bad id,<script>alert(1)</script>,3\r\n"
    ",=cmd|calc,4\r\n"
    "alice,Again,5\r\n"
).encode()


@pytest.fixture(autouse=True)
def upload_dir(settings, tmp_path):
    settings.UPLOAD_DIR = tmp_path / "uploads"
    return settings.UPLOAD_DIR


def make_user(name, *, bulk=True, superuser=False):
    users = get_user_model().objects
    if superuser:
        return users.create_superuser(name, "", "pw")
    user = users.create_user(name, password="pw")
    if bulk:
        user.user_permissions.add(
            *Permission.objects.filter(codename__in=["run_bulk_jobs", "view_upload"])
        )
    return user


@pytest.fixture
def owner():
    return make_user("owner")


@pytest.fixture
def client(owner):
    client = Client()
    client.force_login(owner)
    return client


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def no_files(upload_dir):
    return not upload_dir.exists() or not any(upload_dir.iterdir())


def post_file(client, content=CONTENT, name="accounts.csv", encoding="auto"):
    file = SimpleUploadedFile(name, content, content_type="text/csv")
    return client.post("/uploads/new/", {"file": file, "encoding": encoding})


def uploaded(client, **kwargs):
    response = post_file(client, **kwargs)
    assert response.status_code == 302, response.content.decode()[:500]
    return Upload.objects.get(token=response["Location"].split("/")[2])


def test_it_sends_anonymous_visitors_to_sign_in(owner):
    upload = uploaded(client_for(owner))
    for url in ("/uploads/new/", f"/uploads/{upload.token}/"):
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")
    assert Client().post(f"/uploads/{upload.token}/confirm/").status_code == 302
    assert Upload.objects.get().status == UploadStatus.PREVIEWED


def test_it_forbids_users_without_run_bulk_jobs(owner, upload_dir):
    upload = uploaded(client_for(owner))
    client = client_for(make_user("support", bulk=False))
    token = upload.token
    assert client.get("/uploads/new/").status_code == 403
    assert post_file(client).status_code == 403
    assert client.get(f"/uploads/{token}/").status_code == 403
    assert client.get(f"/uploads/{token}/invalid.csv").status_code == 403
    assert client.post(f"/uploads/{token}/confirm/").status_code == 403
    assert client.post(f"/uploads/{token}/cancel/").status_code == 403
    assert Upload.objects.count() == 1
    assert len(list(upload_dir.iterdir())) == 1
    assert ImportJob.objects.count() == 0


def test_another_importer_reads_an_upload_but_cannot_confirm_or_cancel_it(owner):
    upload = uploaded(client_for(owner))
    stranger = client_for(make_user("stranger"))
    token = upload.token
    page = stranger.get(f"/uploads/{token}/")
    assert page.status_code == 200
    assert 'id="upload-confirm"' not in page.content.decode()
    assert stranger.get(f"/uploads/{token}/invalid.csv").status_code == 200
    assert stranger.post(f"/uploads/{token}/confirm/").status_code == 404
    assert stranger.post(f"/uploads/{token}/cancel/").status_code == 404
    assert Upload.objects.get().status == UploadStatus.PREVIEWED
    nobody = client_for(make_user("nobody", bulk=False))
    assert nobody.get(f"/uploads/{token}/").status_code == 403
    boss = client_for(make_user("boss", superuser=True))
    assert 'id="upload-confirm"' in boss.get(f"/uploads/{token}/").content.decode()
    assert Client().get(f"/uploads/{upload.pk}/").status_code == 302
    assert client_for(owner).get(f"/uploads/{upload.pk}/").status_code == 404


def test_it_shows_the_form_without_inline_script_or_style(client):
    response = client.get("/uploads/new/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'enctype="multipart/form-data"' in html
    assert 'name="encoding"' in html and 'value="gb18030"' in html
    assert_no_inline_code(html)


def assert_no_inline_code(html):
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert "<style" not in html and "style=" not in html
    assert not re.search(r"<[^>]*\son[a-z]+=", html)


def test_it_previews_the_file_with_counts_and_escaped_text(client):
    TrackedAccount.objects.create(user_id="bob", nick="张三", state="imported")
    upload = uploaded(client, name="<img src=x onerror=alert(1)>.csv")
    response = client.get(f"/uploads/{upload.token}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert_no_inline_code(html)
    assert "&lt;img src=x onerror=alert(1)&gt;.csv" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    for name, count in [
        ("rows", 5),
        ("valid", 2),
        ("invalid", 3),
        ("duplicates", 1),
        ("new", 1),
        ("unchanged", 1),
        ("to_send", 1),
    ]:
        assert re.search(rf'data-count="{name}">(<strong>)?{count}<', html), name
    assert 'id="unknown-columns">Phone<' in html
    assert "UTF-8" in html
    assert f'action="/uploads/{upload.token}/confirm/"' in html
    assert f'action="/uploads/{upload.token}/cancel/"' in html
    assert f'href="/uploads/{upload.token}/invalid.csv"' in html


@pytest.mark.parametrize(
    "content, message",
    [
        (PNG + b"\x00" * 64, "This is not a CSV file: it holds binary data."),
        (b"", "The submitted file is empty."),
        (b"Name,Email\nx,y\n", "The header has no UserID column (found: Name, Email)."),
    ],
)
def test_it_refuses_an_unreadable_file_with_a_400_and_keeps_no_file(
    client, upload_dir, content, message
):
    response = post_file(client, content=content, name="photo.png")
    assert response.status_code == 400
    assert message in response.content.decode()
    assert no_files(upload_dir)
    assert not Upload.objects.exclude(status=UploadStatus.REJECTED).exists()


def test_it_refuses_a_file_too_large_before_reading_the_body(
    client, settings, monkeypatch
):
    def parse(parser):
        raise AssertionError("the body was read")

    monkeypatch.setattr(MultiPartParser, "parse", parse)
    settings.UPLOAD_MAX_BYTES = 1000
    response = post_file(client, content=b"UserID\n" + b"u\n" * 40_000)
    assert response.status_code == 413
    assert "larger than the limit of 1000" in response.content.decode()
    assert Upload.objects.count() == 0  # refused on Content-Length alone


def test_it_refuses_a_file_too_large_for_the_service(client, settings, upload_dir):
    settings.UPLOAD_MAX_BYTES = 1000
    response = post_file(client, content=b"UserID\n" + b"u\n" * 1000)
    assert response.status_code == 413
    assert "larger than the limit of 1000" in response.content.decode()
    assert Upload.objects.get().status == UploadStatus.REJECTED
    assert no_files(upload_dir)


def test_it_checks_csrf_on_the_upload(owner, upload_dir):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert post_file(client).status_code == 403
    assert Upload.objects.count() == 0
    assert not upload_dir.exists()
    html = client.get("/uploads/new/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)[1]
    file = SimpleUploadedFile("a.csv", CONTENT, content_type="text/csv")
    response = client.post(
        "/uploads/new/",
        {"csrfmiddlewaretoken": token, "file": file, "encoding": "auto"},
    )
    assert response.status_code == 302
    assert Upload.objects.get().status == UploadStatus.PREVIEWED


def test_it_confirms_into_one_job_however_often_posted(owner, client, upload_dir):
    owner.user_permissions.add(Permission.objects.get(codename="view_importjob"))
    upload = uploaded(client)
    first = client.post(f"/uploads/{upload.token}/confirm/")
    second = client.post(f"/uploads/{upload.token}/confirm/", follow=True)
    job = ImportJob.objects.get()
    assert first.status_code == 302
    assert first["Location"] == f"/jobs/{job.pk}/"
    assert second.redirect_chain == [(f"/jobs/{job.pk}/", 302)]
    assert "is reading its 2 valid rows" in second.content.decode()
    assert (job.status, job.total, job.options["preparing"]) == ("queued", 0, True)
    html = client.get(f"/uploads/{upload.token}/").content.decode()
    assert f'href="/jobs/{job.pk}/"' in html
    assert 'id="upload-preparing"' in html and "shows its live figures" in html
    assert 'id="upload-confirm"' not in html

    tasks.job_prepare(job.pk)  # what the worker does next
    job.refresh_from_db()
    assert job.total == 2 and "preparing" not in job.options
    assert list(upload_dir.iterdir()) == []
    html = client.get(f"/uploads/{upload.token}/").content.decode()
    assert 'id="upload-preparing"' not in html and "imports 2 accounts" in html
    assert client.get(f"/uploads/{upload.token}/confirm/").status_code == 405
    assert AuditEvent.objects.filter(action=AuditAction.CSV_CONFIRMED).count() == 1


def test_a_large_confirm_returns_at_once_and_the_task_fills_the_job(client, upload_dir):
    rows = "".join(
        f"user{i:06d},Nick {i},https://img.example/{i}.png\n" for i in range(50_000)
    )
    upload = uploaded(client, content=f"UserID,Nick,FaceUrl\n{rows}".encode())
    assert upload.summary["valid"] == 50_000
    started = time.perf_counter()
    response = client.post(f"/uploads/{upload.token}/confirm/")
    took = time.perf_counter() - started
    assert response.status_code == 302
    assert took < 1.0, f"confirm took {took:.2f}s"
    job = ImportJob.objects.get()
    assert (job.total, JobItem.objects.count(), TrackedAccount.objects.count()) == (
        0,
        0,
        0,
    )
    tasks.job_prepare(job.pk)
    job.refresh_from_db()
    assert job.total == 50_000 == JobItem.objects.filter(job=job).count()
    assert "preparing" not in job.options


def test_a_file_with_nothing_to_send_offers_no_confirm_and_is_refused(client):
    TrackedAccount.objects.create(user_id="alice", nick="Alice", state="imported")
    TrackedAccount.objects.create(user_id="bob", nick="张三", state="imported")
    upload = uploaded(client)
    html = client.get(f"/uploads/{upload.token}/").content.decode()
    assert 'id="upload-confirm"' not in html and "import 0 accounts" not in html
    assert "every valid row is already imported with the same profile" in html
    response = client.post(f"/uploads/{upload.token}/confirm/", follow=True)
    assert "Nothing to import" in response.content.decode()
    assert not ImportJob.objects.exists()
    assert Upload.objects.get().status == UploadStatus.PREVIEWED


def test_the_confirm_button_counts_in_the_singular_and_plural(client):
    one = uploaded(client, content=b"UserID\nsolo\n")
    assert "Confirm: import 1 account<" in (
        client.get(f"/uploads/{one.token}/").content.decode()
    )
    two = uploaded(client, content=b"UserID\nsolo2\nduo\n")
    assert "Confirm: import 2 accounts<" in (
        client.get(f"/uploads/{two.token}/").content.decode()
    )


def test_a_busy_database_at_confirm_is_a_message_not_an_error(client, monkeypatch):
    upload = uploaded(client)

    def confirm(**kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr("accounts.uploads.services.upload_confirm", confirm)
    response = client.post(f"/uploads/{upload.token}/confirm/", follow=True)
    assert response.redirect_chain == [(f"/uploads/{upload.token}/", 302)]
    assert "The database is busy" in response.content.decode()


def test_without_view_importjob_a_confirm_stays_on_the_preview(client):
    upload = uploaded(client)
    response = client.post(f"/uploads/{upload.token}/confirm/", follow=True)
    job = ImportJob.objects.get()
    assert response.redirect_chain == [(f"/uploads/{upload.token}/", 302)]
    html = response.content.decode()
    assert f"job #{job.pk}" in html and f'href="/jobs/{job.pk}/"' not in html


def test_it_refuses_to_confirm_a_file_without_valid_rows(client):
    upload = uploaded(client, content=b"UserID,Nick\r\n")
    html = client.get(f"/uploads/{upload.token}/").content.decode()
    assert 'id="upload-confirm"' not in html and "no valid rows" in html
    response = client.post(f"/uploads/{upload.token}/confirm/", follow=True)
    assert response.redirect_chain == [(f"/uploads/{upload.token}/", 302)]
    assert "nothing to import" in response.content.decode()
    assert ImportJob.objects.count() == 0


def test_it_cancels_and_deletes_the_file(client, upload_dir):
    upload = uploaded(client)
    response = client.post(f"/uploads/{upload.token}/cancel/", follow=True)
    assert response.redirect_chain == [("/uploads/new/", 302)]
    assert "cancelled; the file is deleted" in response.content.decode()
    assert list(upload_dir.iterdir()) == []
    again = client.post(f"/uploads/{upload.token}/cancel/", follow=True)
    assert "already cancelled" in again.content.decode()
    confirm = client.post(f"/uploads/{upload.token}/confirm/", follow=True)
    assert "cancelled" in confirm.content.decode()
    assert ImportJob.objects.count() == 0
    assert TrackedAccount.objects.count() == 0
    assert AuditEvent.objects.filter(action=AuditAction.CSV_CANCELLED).count() == 1


def test_it_downloads_every_invalid_row_as_csv(client):
    upload = uploaded(client)
    response = client.get(f"/uploads/{upload.token}/invalid.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="invalid-rows-{upload.pk}.csv"'
    )
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.splitlines() == [
        "\ufeffLine,UserID,Nick,FaceUrl,Error,Skip",
        '4,bad id,<script>alert(1)</script>,,"UserID may contain only letters, '
        'digits and printable ASCII symbols, no spaces.",',
        "5,,'=cmd|calc,,UserID is empty.,",
        "6,alice,Again,,Duplicate of line 2.,Duplicate of line 2.",
    ]


def test_the_invalid_rows_are_gone_with_the_file(client):
    upload = uploaded(client)
    client.post(f"/uploads/{upload.token}/cancel/")
    response = client.get(f"/uploads/{upload.token}/invalid.csv", follow=True)
    assert response.redirect_chain == [(f"/uploads/{upload.token}/", 302)]
    assert "The file is no longer kept" in response.content.decode()


def test_it_reads_gb18030_when_chosen(client):
    content = "UserID,Nick\nzhang,张三\n".encode("gb18030")
    upload = uploaded(client, content=content, encoding="gb18030")
    assert upload.encoding == "gb18030"
    html = client.get(f"/uploads/{upload.token}/").content.decode()
    assert "GB18030" in html


def test_a_large_upload_shows_its_progress_until_it_is_read(client, settings):
    settings.UPLOAD_PREVIEW_SYNC_BYTES = 100
    upload = uploaded(client)
    html = client.get(f"/uploads/{upload.token}/").content.decode()
    assert 'id="preview-progress"' in html and 'id="upload-counts"' not in html
    assert f'data-progress-url="/uploads/{upload.token}/progress.json"' in html
    progress = client.get(f"/uploads/{upload.token}/progress.json").json()
    assert progress == {
        "status": "previewing",
        "previewing": True,
        "rows": 0,
        "fraction": 0.0,
    }
    tasks.upload_preview(upload.pk)
    progress = client.get(f"/uploads/{upload.token}/progress.json").json()
    assert (progress["previewing"], progress["rows"]) == (False, 5)
    html = client.get(f"/uploads/{upload.token}/").content.decode()
    assert 'id="upload-counts"' in html and 'id="valid-rows"' in html


def test_the_templates_download_as_csv_and_xlsx(client):
    response = client.get("/uploads/template.csv")
    assert (
        b"".join(response.streaming_content).decode() == "\ufeffUserID,Nick,FaceUrl\r\n"
    )
    response = client.get("/uploads/template.xlsx")
    assert response["Content-Disposition"].endswith('"accounts-template.xlsx"')
    reader = open_rows(io.BytesIO(response.content))
    assert list(reader.columns) == ["user_id", "nick", "face_url"]


def test_the_uploads_list_links_each_upload_to_its_job(client, owner):
    owner.user_permissions.add(Permission.objects.get(codename="view_importjob"))
    upload = uploaded(client)
    client.post(f"/uploads/{upload.token}/confirm/")
    job = ImportJob.objects.get()
    html = client.get("/uploads/").content.decode()
    assert f'href="/uploads/{upload.token}/"' in html
    assert f'href="/jobs/{job.pk}/">#{job.pk}</a>' in html
    assert '<td class="num" data-count="invalid">3</td>' in html
