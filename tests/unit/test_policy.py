"""The pipeline's policy: what an answer means, without a database or IM."""

import pytest

from accounts.im import errors
from accounts.models import JobKind
from accounts.pipeline import policy
from accounts.pipeline.units import Answer, Item, Unit


def unit(count=3, attempts=1, probe=False):
    items = [
        Item(
            id=n,
            account_id=n,
            user_id=f"u{n}",
            nick="",
            face_url="",
            attempts=attempts,
            solo=False,
            needs_check=False,
            error_code=None,
        )
        for n in range(count)
    ]
    return Unit(
        job_id=1,
        job_kind=JobKind.IMPORT,
        token="t",
        api="multiaccount_import",
        items=items,
        lease_until=0.0,
        probe=probe,
    )


def failed(error):
    return Answer(sent_at=0.0, error=error)


@pytest.mark.parametrize(
    ("streak", "senders", "waiting", "outage"),
    [
        (1, 8, False, False),
        (4, 8, False, False),
        (5, 8, False, True),  # OUTAGE_AFTER in a row
        (3, 4, False, False),
        (4, 4, False, True),  # every call of a 4-sender engine failed together
        (1, 1, False, False),  # one sender: two in a row, never one alone
        (2, 1, False, True),
        (1, 8, True, True),  # the job already waits: any failure lengthens it
    ],
)
def test_an_outage_is_a_run_of_failures_as_long_as_the_engines_senders(
    streak, senders, waiting, outage
):
    assert policy.is_outage(streak, senders=senders, waiting=waiting) is outage


def test_in_an_outage_a_502_requeues_the_accounts_unspent_and_waits():
    decision = policy.decide(
        unit(),
        failed(errors.NetworkError(errors.HTTP_ERROR)),
        max_attempts=5,
        outage=True,
    )
    assert decision.effect == policy.JobEffect.WAIT
    (requeue,) = decision.transitions
    assert isinstance(requeue, policy.Requeue)
    assert requeue.attempts == -1 and requeue.delay == 0.0
    assert len(requeue.items) == 3


def test_a_lone_502_is_retried_with_backoff_and_spends_the_attempt():
    decision = policy.decide(
        unit(), failed(errors.NetworkError(errors.HTTP_ERROR)), max_attempts=5
    )
    assert decision.effect == policy.JobEffect.FAILED
    (requeue,) = decision.transitions
    assert requeue.attempts == 0 and requeue.delay > 0


def test_a_reply_lost_in_an_outage_is_checked_before_it_is_sent_again():
    decision = policy.decide(
        unit(),
        failed(errors.ReplyLostError(errors.TIMEOUT)),
        max_attempts=5,
        outage=True,
    )
    assert decision.effect == policy.JobEffect.WAIT
    assert decision.transitions[0].needs_check is True


def test_a_signature_error_pauses_and_fails_no_account():
    decision = policy.decide(
        unit(), failed(errors.ConfigurationError(70009)), max_attempts=5
    )
    assert decision.effect == policy.JobEffect.PAUSE
    assert all(isinstance(t, policy.Requeue) for t in decision.transitions)
    assert decision.transitions[0].attempts == -1


def test_the_wait_grows_to_its_cap():
    waits = [policy.wait_backoff(n, 120) for n in range(1, 10)]
    assert waits == [1, 2, 4, 8, 16, 32, 64, 120, 120]


@pytest.mark.parametrize("code", [-1, -2, -3, -5, 60007, 70169, 70500, 12345])
def test_a_final_failure_of_a_retried_code_promises_no_retry(code):
    assert policy.is_retried(code)
    sentence = policy.failure_sentence(code)
    assert "will be retried" not in sentence and "before any retry" not in sentence
    assert sentence.endswith("retry it from its job or its page.")
    assert ".." not in sentence


@pytest.mark.parametrize("code", [70398, 70399, 70402, 60004])
def test_a_final_failure_of_any_other_code_keeps_its_sentence(code):
    assert not policy.is_retried(code)
    assert policy.failure_sentence(code) == errors.describe(code)
