"""The API's bodies as typed schemas: what the OpenAPI document describes."""

from typing import Literal

from ninja import Field, Schema

MAX_ENTRIES = 10_000  # accounts or UserIDs in one POST /api/v1/jobs


class ErrorDetail(Schema):
    code: str
    message: str


class ErrorOut(Schema):
    error: ErrorDetail


class AccountIn(Schema):
    user_id: str = Field(description="1-32 bytes, printable ASCII, no spaces")
    nick: str = ""
    face_url: str = ""


class SingleImportOut(Schema):
    user_id: str
    state: str
    remote_status: str
    outcome: str = Field(description="imported, updated, retrying, failed or invalid")
    job_id: int
    error: ErrorDetail | None


class AccountJobOut(Schema):
    id: int
    kind: str
    status: str
    item_state: str
    error: ErrorDetail | None


class AccountOut(Schema):
    user_id: str
    nick: str
    face_url: str
    state: str
    remote_status: str
    drifted: bool
    checked_at: str | None
    imported_at: str | None
    error: ErrorDetail | None
    jobs: list[AccountJobOut] = Field(description="the latest 50, newest first")


class JobIn(Schema):
    kind: Literal["import", "check", "delete"]
    accounts: list[AccountIn] | None = Field(None, description="for an import")
    user_ids: list[str] | None = Field(None, description="for a check or delete")


class JobOut(Schema):
    id: int
    kind: str
    status: str
    total: int
    succeeded: int
    failed: int
    invalid: int
    cancelled: int
    remaining: int
    rate: float | None = Field(description="accounts answered per second")
    eta_seconds: int | None
    created_at: str
    started_at: str | None
    finished_at: str | None


class InvalidEntry(Schema):
    index: int = Field(description="position in accounts or user_ids, from 0")
    user_id: str
    reason: str


class JobCreatedOut(Schema):
    job: JobOut
    invalid: list[InvalidEntry]


class RetryOut(Schema):
    retry_of: int
    job: JobOut


class CancelOut(Schema):
    cancelled: bool = Field(description="false if the job had already ended")
    job: JobOut


class JobAccountOut(Schema):
    user_id: str
    nick: str
    face_url: str
    state: str = Field(description="the account's state in this job")
    attempts: int
    error: ErrorDetail | None


class JobAccountsPage(Schema):
    accounts: list[JobAccountOut]
    next_cursor: int | None = Field(description="pass as cursor for the next page")


def errors(*statuses):
    """The error responses of an operation, for its ``response`` mapping."""
    return dict.fromkeys(statuses, ErrorOut)
