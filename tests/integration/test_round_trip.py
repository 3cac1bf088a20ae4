"""The fix-and-re-upload loop, through the real pages, the engine and the sandbox.

Each test downloads a file imadmin wrote (invalid rows, a job's failed
accounts, ``export_accounts``), uploads it again and compares what reached the
sandbox's store, byte for byte, with the values the first file held.
"""

import csv
import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

from accounts.exports import csv_lines
from accounts.models import ImportJob, TrackedAccount, Upload, UploadStatus

pytestmark = pytest.mark.django_db(transaction=True)

# Values a spreadsheet would run as formulas, so every download guards them.
TRICKY = [
    ("@alice", '=HYPERLINK("http://evil.example","click")', ""),
    ("-bob", "-1+1", "https://img.example/bob.png"),
    ("-1+1", "+86 10 1234", ""),
    ("'=quoted", "'@already-guarded", ""),
    ("''@two", "''", ""),
    ("plain", "@", ""),
]


@pytest.fixture(autouse=True)
def upload_dir(settings, tmp_path):
    settings.UPLOAD_DIR = tmp_path / "uploads"
    return settings.UPLOAD_DIR


@pytest.fixture
def client(im_settings):
    boss = get_user_model().objects.create_superuser("boss", "", "pw")
    client = Client()
    client.force_login(boss)
    return client


def csv_bytes(rows, header=("UserID", "Nick", "FaceUrl")):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def original_csv(rows):
    """The first file, written as imadmin writes (guarded): its values are exact,
    the apostrophes of ``'=quoted`` included."""
    return "".join(csv_lines(("UserID", "Nick", "FaceUrl"), rows)).encode()


def upload(client, content, name="accounts.csv"):
    file = SimpleUploadedFile(name, content, content_type="text/csv")
    response = client.post("/uploads/new/", {"file": file, "encoding": "auto"})
    assert response.status_code == 302, response.content.decode()[:800]
    return Upload.objects.get(token=response["Location"].split("/")[2])


def import_file(client, run_job, content, name="accounts.csv"):
    """Upload, confirm on the page, and run the job to its end; the job."""
    done = upload(client, content, name)
    response = client.post(f"/uploads/{done.token}/confirm/")
    assert response.status_code == 302
    return run_job(ImportJob.objects.get(upload=done))


def stored(sandbox, user_ids):
    found = {}
    for user_id in user_ids:
        account = sandbox.account(user_id)
        found[user_id] = account and (account["Nick"], account.get("FaceUrl", ""))
    return found


def expected(rows):
    return {user_id: (nick, face) for user_id, nick, face in rows}


def downloaded_rows(response):
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def forget_everything(sandbox):
    """A fresh start on both sides: what reaches IM next comes from the file alone."""
    sandbox.reset(accounts=True)
    TrackedAccount.objects.all().delete()


def test_the_invalid_rows_download_fixed_and_uploaded_again_sends_the_values(
    client, sandbox, run_job
):
    # Every tricky row is invalid for its avatar alone; fixing that column is
    # the only change made to the download.
    broken = [(u, n, "ftp://img.example/x.png") for u, n, _ in TRICKY]
    first = upload(client, original_csv(broken))
    assert first.summary["invalid"] == len(TRICKY)
    rows = downloaded_rows(client.get(f"/uploads/{first.token}/invalid.csv"))
    assert rows[1][1] == "'@alice"  # guarded for a spreadsheet
    fixed = [rows[0]] + [
        [*r[:3], "https://img.example/ok.png", *r[4:]] for r in rows[1:]
    ]
    import_file(client, run_job, csv_bytes(fixed[1:], header=fixed[0]))
    want = {u: (n, "https://img.example/ok.png") for u, n, _ in TRICKY}
    assert stored(sandbox, want) == want
    assert sandbox.account("'@alice") is None


def test_a_jobs_failed_accounts_uploaded_again_send_the_values(
    client, sandbox, run_job, settings
):
    settings.IM_MAX_ATTEMPTS = 1
    sandbox.set_faults(fail_accounts_rate=1.0)
    job = import_file(client, run_job, original_csv(TRICKY))
    assert job.failed == len(TRICKY)
    response = client.get(f"/jobs/{job.pk}/failed.csv?state=failed")
    assert response.status_code == 200
    rows = downloaded_rows(response)
    assert "'=HYPERLINK" in rows[1][1] or "'=HYPERLINK" in rows[1][2]
    sandbox.set_faults(fail_accounts_rate=0.0)
    import_file(client, run_job, csv_bytes(rows[1:], header=rows[0]))
    assert stored(sandbox, expected(TRICKY)) == expected(TRICKY)


def test_export_accounts_uploaded_again_sends_the_values(
    client, sandbox, run_job, tmp_path
):
    import_file(client, run_job, original_csv(TRICKY))
    assert stored(sandbox, expected(TRICKY)) == expected(TRICKY)
    path = tmp_path / "export.csv"
    call_command("export_accounts", "--format", "csv", "--output", str(path))
    forget_everything(sandbox)
    import_file(client, run_job, path.read_bytes(), name="export.csv")
    assert stored(sandbox, expected(TRICKY)) == expected(TRICKY)


def test_the_invalid_rows_download_sent_back_as_it_is_skips_its_duplicates(
    client, sandbox, run_job
):
    original = [("web1", "First", ""), ("web2", "Two", ""), ("web1", "Second", "")]
    first = upload(client, csv_bytes([*original, ("bad id", "Fix me", "")]))
    rows = downloaded_rows(client.get(f"/uploads/{first.token}/invalid.csv"))
    client.post(f"/uploads/{first.token}/confirm/")
    run_job(ImportJob.objects.get(upload=first))
    # The duplicate row left as it is; the bad UserID fixed.
    assert rows[1][1:3] == ["web1", "Second"] and rows[1][5] == "Duplicate of line 2."
    rows[2][1] = "fixed"
    again = upload(client, csv_bytes(rows[1:], header=rows[0]))
    assert (again.summary["skipped"], again.summary["valid"]) == (1, 1)
    assert "Skipped: marked “Duplicate of line 2.”" in (
        client.get(f"/uploads/{again.token}/").content.decode()
    )
    client.post(f"/uploads/{again.token}/confirm/")
    run_job(ImportJob.objects.get(upload=again))
    assert stored(sandbox, ["web1", "fixed"]) == {
        "web1": ("First", ""),
        "fixed": ("Fix me", ""),
    }


def test_a_repeated_header_line_is_reported_and_not_imported(client, sandbox, run_job):
    # Two exports pasted one after the other.
    content = csv_bytes([("a1", "A", "")]) + csv_bytes([("b1", "B", "")])
    done = upload(client, content)
    assert (done.summary["headers"], done.summary["valid"]) == (1, 2)
    assert done.summary["invalid_sample"][0]["error"] == (
        "Repeats the header line; not imported."
    )
    client.post(f"/uploads/{done.token}/confirm/")
    run_job(ImportJob.objects.get(upload=done))
    assert stored(sandbox, ["a1", "b1", "UserID"]) == {
        "a1": ("A", ""),
        "b1": ("B", ""),
        "UserID": None,
    }


def test_a_control_character_past_the_first_mib_refuses_its_row(
    client, sandbox, run_job
):
    filler = [(f"f{i:06d}", "x" * 40, "") for i in range(30_000)]  # ~1.4 MB
    rows = [
        *filler,
        ("late", "Nul\x00Nick", ""),
        ("ctl", "Bell\x07", ""),
        ("ok", "Ok", ""),
    ]
    content = csv_bytes(rows)
    assert content.index(b"\x00") > 1 << 20
    done = upload(client, content)
    errors = {r["user_id"]: r["error"] for r in done.summary["invalid_sample"]}
    assert done.summary["invalid_sample"][0]["nick"] == "Nul\ufffdNick"
    assert errors == {
        "late": "Column 2 holds a control character (U+0000); remove it, then "
        "upload the file again.",
        "ctl": "Column 2 holds a control character (U+0007); remove it, then "
        "upload the file again.",
    }
    client.post(f"/uploads/{done.token}/confirm/")
    run_job(ImportJob.objects.get(upload=done), timeout=180)
    assert stored(sandbox, ["late", "ctl", "ok"]) == {
        "late": None,
        "ctl": None,
        "ok": ("Ok", ""),
    }


def test_a_header_of_millions_of_columns_is_refused_and_stores_nothing_big(
    client, settings
):
    settings.UPLOAD_PREVIEW_SYNC_BYTES = 64 << 20  # answered within the request
    content = ("UserID," + ",".join(f"c{i}" for i in range(2_100_000)) + "\n").encode()
    file = SimpleUploadedFile("wide.csv", content, content_type="text/csv")
    response = client.post("/uploads/new/", {"file": file, "encoding": "auto"})
    assert response.status_code == 400
    assert (
        "The header line is longer than 8,192 characters" in response.content.decode()
    )
    assert len(response.content) < 50_000
    rejected = Upload.objects.get()
    assert rejected.status == UploadStatus.REJECTED
    assert len(json.dumps(rejected.summary)) < 500


def test_too_many_columns_are_refused_and_unknown_names_are_capped(client):
    wide = ("UserID," + ",".join(f"c{i}" for i in range(150)) + "\nu1\n").encode()
    file = SimpleUploadedFile("wide.csv", wide, content_type="text/csv")
    response = client.post("/uploads/new/", {"file": file, "encoding": "auto"})
    assert "The header has 151 columns; at most 100 are read" in (
        response.content.decode()
    )
    names = [f"x{i}".ljust(85 if i < 5 else 3, "y") for i in range(90)]
    many = ("UserID," + ",".join(names) + "\nu1\n").encode()
    done = upload(client, many)
    assert done.summary["unknown_count"] == 90
    assert len(done.summary["unknown_columns"]) == 20
    assert all(len(name) <= 80 for name in done.summary["unknown_columns"])
    assert "and 70 more" in client.get(f"/uploads/{done.token}/").content.decode()
