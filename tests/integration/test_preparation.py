"""Preparing a job chunk by chunk: resumable, never doubled, never finished early."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Count
from django.utils import timezone

from accounts import maintenance, services, tasks
from accounts.models import (
    AccountState,
    AuditAction,
    AuditEvent,
    ImportJob,
    ItemState,
    JobItem,
    JobSource,
    JobStatus,
    TrackedAccount,
    Upload,
)
from accounts.pipeline import lifecycle
from accounts.services import preparation, preparing
from accounts.uploads import services as uploads

pytestmark = pytest.mark.django_db(transaction=True)


class Crash(Exception):
    """A worker dying mid-chunk, as far as the database can tell."""


@pytest.fixture(autouse=True)
def small_chunks(settings, tmp_path, monkeypatch):
    settings.UPLOAD_DIR = tmp_path / "uploads"
    monkeypatch.setattr(preparation, "PREPARE_CHUNK", 1000)


def rows(count, prefix="p"):
    return [{"user_id": f"{prefix}{i:06d}", "nick": f"Nick {i}"} for i in range(count)]


def confirmed_upload(count, user=None):
    text = "UserID,Nick\n" + "".join(f"p{i:06d},Nick {i}\n" for i in range(count))
    upload = uploads.upload_receive(
        file=SimpleUploadedFile("people.csv", text.encode()),
        encoding="auto",
        user=user,
    )
    return upload, uploads.upload_confirm(upload=upload, user=user)


def one_item_per_account(job):
    per_account = JobItem.objects.filter(job=job).values("account")
    return not per_account.annotate(n=Count("id")).filter(n__gt=1).exists()


def test_a_preparation_killed_mid_way_resumes_to_exact_totals(
    monkeypatch, im_settings, sandbox, run_job
):
    upload, job = confirmed_upload(5000)
    real_items_add, calls = preparation.items_add, []

    def dies_in_third_chunk(job, ids, *rest):
        calls.append(len(ids))
        added = real_items_add(job, ids, *rest)
        if len(calls) == 3:
            raise Crash  # after the writes, before the commit
        return added

    monkeypatch.setattr(preparation, "items_add", dies_in_third_chunk)
    with pytest.raises(Crash):
        tasks.job_prepare(job.pk)
    job.refresh_from_db()
    # Two chunks committed; the third rolled back with its progress.
    assert (job.status, job.total, job.options["prepared_rows"]) == (
        "queued",
        2000,
        2000,
    )
    assert job.options["preparing"] is True
    assert JobItem.objects.filter(job=job).count() == 2000
    assert TrackedAccount.objects.count() == 2000
    assert Upload.objects.get().stored_name  # kept for the next try

    monkeypatch.setattr(preparation, "items_add", real_items_add)
    tasks.job_prepare(job.pk)
    job.refresh_from_db()
    assert "preparing" not in job.options
    assert job.total == 5000 == JobItem.objects.filter(job=job).count()
    assert one_item_per_account(job)
    assert job.options["summary"] == {
        "new": 5000,
        "updated": 0,
        "unchanged": 0,
        "busy": 0,
        "resend": 0,
        "duplicates": 0,
    }
    assert AuditEvent.objects.filter(action=AuditAction.JOB_STARTED).count() == 1
    upload.refresh_from_db()
    assert (upload.stored_name, upload.summary["sent"]["new"]) == ("", 5000)

    job = run_job(job)
    assert (job.status, job.succeeded) == (JobStatus.DONE, 5000)
    assert TrackedAccount.objects.filter(state=AccountState.IMPORTED).count() == 5000
    assert sandbox.stats()["accounts"] == 5000


def test_a_chunk_written_twice_adds_nothing_twice():
    job = services.job_prepare_create(source=JobSource.COMMAND)
    data = rows(2500)
    assert not preparation.job_fill(job, iter(data), deadline=0)  # one chunk
    assert job.total == 1000
    # The progress record lost (it cannot be, short of editing the row): the
    # first chunk is written again. Its accounts are in this job, so not busy.
    options = {**job.options, "prepared_rows": 0}
    ImportJob.objects.filter(pk=job.pk).update(options=options)
    job.refresh_from_db()
    assert preparation.job_fill(job, iter(data))
    job.refresh_from_db()
    assert job.total == 2500 == JobItem.objects.filter(job=job).count()
    assert one_item_per_account(job)
    assert job.options["summary"]["busy"] == 0
    assert set(TrackedAccount.objects.values_list("state", "job")) == {
        (AccountState.QUEUED, job.pk)
    }


def test_two_preparations_of_one_job_never_write_the_same_chunk():
    job = services.job_prepare_create(source=JobSource.CSV)
    late = ImportJob.objects.get(pk=job.pk)  # a second task, loaded at once
    data = rows(3000)
    assert not preparation.job_fill(job, iter(data), deadline=0)
    with pytest.raises(preparation.PreparationEnded, match="prepared elsewhere"):
        preparation.job_fill(late, iter(data))
    assert preparation.job_fill(job, iter(data))
    job.refresh_from_db()
    assert job.total == 3000 == JobItem.objects.filter(job=job).count()


def test_a_preparing_job_is_sent_but_never_finished_before_its_last_row():
    job = services.job_prepare_create(source=JobSource.CSV, label="big.csv")
    preparation.job_fill(job, iter(rows(1000)), deadline=0)
    job.refresh_from_db()
    assert (job.status, job.total) == (JobStatus.QUEUED, 1000)
    # Its items may be sent at once; were all of them answered, the job would
    # still not be done: more items are on their way.
    ImportJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, succeeded=1000)
    JobItem.objects.filter(job=job).update(state=ItemState.SUCCEEDED)
    assert not lifecycle.open_items(job).exists()
    assert lifecycle.settle_if_complete(job.pk) is False
    job.refresh_from_db()
    assert (job.status, job.finished_at) == (JobStatus.RUNNING, None)


def test_maintenance_requeues_a_stalled_upload_preparation(monkeypatch):
    queued = []
    monkeypatch.setattr(
        preparing, "async_task", lambda func, *args, **kw: queued.append((func, args))
    )
    _, job = confirmed_upload(10)
    queued.clear()
    long_ago = timezone.now() - timedelta(hours=1)
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=long_ago)
    resumed, _ = maintenance.maintenance(reconcile=False)
    assert resumed == [job.pk]
    assert queued == [("accounts.tasks.job_prepare", (job.pk,))]
    # The heartbeat is new: the next run waits for that task.
    assert maintenance.maintenance(reconcile=False) == ([], None)
    assert len(queued) == 1
    assert Upload.objects.get().stored_name  # the file stays for the task


def test_maintenance_ends_a_dead_command_preparation_and_keeps_its_rows():
    job = services.job_prepare_create(source=JobSource.COMMAND, label="big.csv")
    preparation.job_fill(job, iter(rows(2500)), deadline=0)
    long_ago = timezone.now() - timedelta(hours=1)
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=long_ago)
    assert maintenance.maintenance(reconcile=False) == ([], None)
    job.refresh_from_db()
    # What it queued is still sent: nothing failed for its command's death.
    assert job.status == JobStatus.QUEUED and job.is_active
    assert job.options["prepare_note"] == preparing.COMMAND_DIED
    assert "preparing" not in job.options
    assert (job.total, job.failed) == (1000, 0)
    assert set(TrackedAccount.objects.values_list("state", flat=True)) == {
        AccountState.QUEUED
    }


def test_cancelling_a_preparing_job_stops_its_preparation(settings):
    upload, job = confirmed_upload(2500)
    assert uploads.upload_prepare(job=job, seconds=1e-9)  # one chunk, more to come
    assert services.job_cancel(job=job)
    job.refresh_from_db()
    assert (job.status, job.total, job.cancelled) == (JobStatus.CANCELLED, 1000, 1000)
    assert "preparing" not in job.options
    assert set(TrackedAccount.objects.values_list("state", flat=True)) == {
        AccountState.PENDING
    }
    tasks.job_prepare(job.pk)  # the queued task runs after all
    job.refresh_from_db()
    assert job.total == 1000 == JobItem.objects.filter(job=job).count()
    assert TrackedAccount.objects.count() == 1000
    upload.refresh_from_db()
    assert upload.stored_name == ""
    assert not any(settings.UPLOAD_DIR.iterdir())


def test_the_rows_of_a_job_are_read_in_slices(monkeypatch, settings):
    queued = []
    monkeypatch.setattr(
        preparing, "async_task", lambda func, *args, **kw: queued.append((func, args))
    )
    _, job = confirmed_upload(3500)
    settings.PREPARE_SLICE_SECONDS = 1e-9
    slices = 0
    while job.options.get("preparing"):
        queued.clear()
        tasks.job_prepare(job.pk)
        job.refresh_from_db()
        slices += 1
        if job.options.get("preparing"):  # each slice queues the next
            assert queued == [("accounts.tasks.job_prepare", (job.pk,))]
    assert slices == 4  # 1000 rows a slice here
    assert job.total == 3500


def test_the_synchronous_path_keeps_one_transaction_and_no_empty_job():
    TrackedAccount.objects.create(user_id="p000000", nick="Nick 0", state="imported")
    job, summary = services.accounts_import_rows(rows=rows(1), source=JobSource.COMMAND)
    assert job is None and summary.unchanged == 1
    assert not ImportJob.objects.exists()
    job, summary = services.accounts_import_rows(
        rows=rows(1500), source=JobSource.COMMAND, label="x"
    )
    assert (job.total, summary.new, summary.unchanged) == (1499, 1499, 1)
    assert "preparing" not in job.options


# -- stopping a big job -----------------------------------------------------------


def test_a_big_job_is_swept_a_chunk_per_transaction(monkeypatch):
    monkeypatch.setattr(lifecycle, "SWEEP_CHUNK", 300)
    real_chunk, chunks = lifecycle._sweep_chunk, []

    def counted(*args):
        chunks.append(real_chunk(*args))
        return chunks[-1]

    monkeypatch.setattr(lifecycle, "_sweep_chunk", counted)
    job, _ = services.accounts_import_rows(rows=rows(1000), source=JobSource.ADMIN)
    assert services.job_cancel(job=job)
    assert chunks == [300, 300, 300, 100]
    job.refresh_from_db()
    assert (job.cancelled, job.remaining) == (1000, 0)
    ended = AuditEvent.objects.get(job_id=job.pk, action=AuditAction.JOB_ENDED)
    assert ended.details["cancelled"] == 1000


def test_maintenance_finishes_a_sweep_whose_process_died(monkeypatch):
    job, _ = services.accounts_import_rows(rows=rows(700), source=JobSource.ADMIN)
    monkeypatch.setattr(lifecycle, "SWEEP_CHUNK", 300)
    real_chunk, calls = lifecycle._sweep_chunk, []

    def dies_after_one_chunk(*args):
        calls.append(1)
        if len(calls) == 2:
            raise Crash
        return real_chunk(*args)

    monkeypatch.setattr(lifecycle, "_sweep_chunk", dies_after_one_chunk)
    with pytest.raises(Crash):
        services.job_cancel(job=job)
    job.refresh_from_db()
    assert (job.status, job.cancelled) == (JobStatus.CANCELLED, 300)
    assert not AuditEvent.objects.filter(action=AuditAction.JOB_ENDED).exists()
    monkeypatch.setattr(lifecycle, "_sweep_chunk", real_chunk)
    maintenance.maintenance(reconcile=False)
    job.refresh_from_db()
    assert (job.cancelled, job.remaining) == (700, 0)
    ended = AuditEvent.objects.get(job_id=job.pk, action=AuditAction.JOB_ENDED)
    assert ended.details["cancelled"] == 700
    assert TrackedAccount.objects.filter(state=AccountState.PENDING).count() == 700
