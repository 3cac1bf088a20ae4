"""Cutting claimed items into units, and which units wait for a full call."""

from accounts.models import JobKind
from accounts.pipeline.units import Item, part_filled, units_of


def items(count, *, solo=False, start=0):
    return [
        Item(
            id=n,
            account_id=n,
            user_id=f"u{n}",
            nick="",
            face_url="",
            attempts=1,
            solo=solo,
            needs_check=False,
            error_code=None,
        )
        for n in range(start, start + count)
    ]


def cut(found):
    return units_of(
        job_id=1, job_kind=JobKind.IMPORT, token="t", lease_until=0.0, items=found
    )


def test_a_claim_is_cut_into_calls_of_100_and_solo_items_go_alone():
    units = cut(items(250) + items(2, solo=True, start=1000))
    assert [(u.api, len(u.items)) for u in units] == [
        ("multiaccount_import", 100),
        ("multiaccount_import", 100),
        ("multiaccount_import", 50),
        ("account_import", 1),
        ("account_import", 1),
    ]


def test_only_the_part_filled_batch_waits_for_more_rows():
    units = cut(items(250) + items(2, solo=True, start=1000))
    (waiting,) = part_filled(units)
    assert (waiting.api, len(waiting.items)) == ("multiaccount_import", 50)
    assert part_filled(cut(items(300))) == []
