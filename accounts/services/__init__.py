"""Every write and state change of accounts and jobs; queueing happens on commit.

Views, admin actions, commands and tasks call these; none of them writes models
directly. Services take keyword-only arguments and are named ``<entity>_<action>``.

This package's modules: ``jobs`` (start, retry, cancel, resume, resume what
a cancelled job left), ``account_actions`` (one account from its page: import
again, check, delete), ``deleting`` (the rule of how many accounts one deletion
may take), ``preparing``
(a job filled from a file), ``preparation`` (the chunked writes that do it),
``single`` (one account within the request), ``upkeep`` (settling what a crash
left in doubt), ``owners`` (which process owns a command's job), ``tokens``
(API tokens), ``api_jobs`` (jobs the API starts, once per Idempotency-Key). The names
below are the public API; import them from here.
"""

from accounts.services.account_actions import (
    account_check,
    account_delete,
    account_retry,
)
from accounts.services.api_jobs import (
    KeyReused,
    job_import_listed,
    job_start_listed,
    job_start_once,
    untracked_user_ids,
)
from accounts.services.deleting import (
    REIMPORT_BLOCK,
    DeleteNotConfirmed,
    DeletePlan,
    DeleteRefused,
    accounts_delete_from_im,
    delete_plan,
)
from accounts.services.jobs import (
    RESUMABLE_STATUSES,
    NothingToDo,
    job_cancel,
    job_resume,
    job_resume_remaining,
    job_retry_failed,
    job_start,
    job_unfinished_accounts,
    job_unfinished_count,
)
from accounts.services.preparing import (
    accounts_import_rows,
    command_job_to_continue,
    job_prepare_create,
    job_prepare_end,
    job_prepare_enqueue,
    job_prepare_rows,
    job_prepare_stop,
    preparations_resume,
    preparations_stale,
)
from accounts.services.single import (
    SingleImport,
    account_import_now,
    single_import_problem,
)
from accounts.services.tokens import (
    api_token_authenticate,
    api_token_create,
    api_token_revoke,
)
from accounts.services.upkeep import (
    accounts_reconcile,
    settle_abandoned_items,
    uncertain_accounts,
)

__all__ = [
    "KeyReused",
    "api_token_authenticate",
    "api_token_create",
    "api_token_revoke",
    "job_import_listed",
    "job_start_listed",
    "job_start_once",
    "untracked_user_ids",
    "RESUMABLE_STATUSES",
    "REIMPORT_BLOCK",
    "DeleteNotConfirmed",
    "DeletePlan",
    "DeleteRefused",
    "accounts_delete_from_im",
    "delete_plan",
    "NothingToDo",
    "SingleImport",
    "account_check",
    "account_delete",
    "account_import_now",
    "account_retry",
    "accounts_import_rows",
    "accounts_reconcile",
    "command_job_to_continue",
    "job_cancel",
    "job_prepare_create",
    "job_prepare_end",
    "job_prepare_enqueue",
    "job_prepare_rows",
    "job_prepare_stop",
    "job_resume",
    "job_resume_remaining",
    "job_retry_failed",
    "job_start",
    "job_unfinished_accounts",
    "job_unfinished_count",
    "preparations_resume",
    "preparations_stale",
    "settle_abandoned_items",
    "single_import_problem",
    "uncertain_accounts",
]
