"""Listed accounts and UserIDs checked by the field rules: which are valid, why not.

The rules are accounts.im.validation's, as for the form and the CSV reader; a
UserID listed twice is refused at its second place, as a file's later line is.
"""

import hashlib
import json

from accounts.im.validation import FieldError, clean_face_url, clean_nick, clean_user_id


def _invalid(index, user_id, reason):
    return {"index": index, "user_id": str(user_id)[:100], "reason": reason}


def _first_place(seen, index, user_id):
    """None the first time ``user_id`` is seen; else the reason to refuse it."""
    first = seen.setdefault(user_id, index)
    if first == index:
        return None
    return f"UserID {user_id} is already at index {first} of this request."


def accounts_checked(accounts):
    """``(rows, invalid)`` for AccountIn entries: validated dicts, and refusals."""
    rows, invalid, seen = [], [], {}
    for index, entry in enumerate(accounts):
        try:
            row = {
                "user_id": clean_user_id(entry.user_id),
                "nick": clean_nick(entry.nick),
                "face_url": clean_face_url(entry.face_url),
            }
        except FieldError as exc:
            invalid.append(_invalid(index, entry.user_id, exc.message))
            continue
        repeated = _first_place(seen, index, row["user_id"])
        if repeated:
            invalid.append(_invalid(index, row["user_id"], repeated))
            continue
        rows.append(row)
    return rows, invalid


def user_ids_checked(user_ids):
    """``(valid UserIDs by index, invalid)`` for a list of UserIDs."""
    valid, invalid, seen = {}, [], {}
    for index, value in enumerate(user_ids):
        try:
            user_id = clean_user_id(value)
        except FieldError as exc:
            invalid.append(_invalid(index, value, exc.message))
            continue
        repeated = _first_place(seen, index, user_id)
        if repeated:
            invalid.append(_invalid(index, user_id, repeated))
            continue
        valid[index] = user_id
    return valid, invalid


def fingerprint(payload):
    """SHA-256 of a request's JSON body as validated: equal requests, equal prints."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
