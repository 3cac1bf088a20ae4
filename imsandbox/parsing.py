"""Reading the four APIs' request bodies into entries, or the documented ErrorCode."""

import json
from typing import NamedTuple

from .rules import MAX_ITEMS, PROFILE_MAX_BYTES, user_id_problem, utf8_length


class ApiError(Exception):
    """A whole-call failure: the answer's ErrorCode and ErrorInfo."""

    def __init__(self, code, info):
        super().__init__(f"{code} {info}")
        self.code = code
        self.info = info


class Entry(NamedTuple):
    user_id: str
    nick: str | None = None  # None: leave the stored value as it is
    face_url: str | None = None


def json_object(body):
    try:
        payload = json.loads(body)
    except ValueError:  # also UnicodeDecodeError
        raise ApiError(60003, "the request body is not JSON") from None
    if not isinstance(payload, dict):
        raise ApiError(60015, "the request body must be a JSON object")
    return payload


def _size(value, name):
    if not isinstance(value, str):
        raise ApiError(60015, f"{name} must be a string")
    try:
        return utf8_length(value)
    except UnicodeEncodeError:  # a lone surrogate from a \\ud800 escape
        raise ApiError(70402, f"{name} is not valid UTF-8") from None


def _user_id(value):
    if not isinstance(value, str):
        raise ApiError(60015, "UserID must be a string")
    if problem := user_id_problem(value):
        raise ApiError(70402, problem)
    return value


def _profile(item, name):
    value = item.get(name)
    if value is None:
        return None
    if _size(value, name) > PROFILE_MAX_BYTES:
        raise ApiError(40601, f"{name} is over {PROFILE_MAX_BYTES} bytes")
    return value


def _batch(payload, key):
    if key not in payload:
        raise ApiError(70402, f"{key} is required")
    items = payload[key]
    if not isinstance(items, list):
        raise ApiError(60015, f"{key} must be an array")
    if not 1 <= len(items) <= MAX_ITEMS:
        raise ApiError(
            70206, f"{key} must hold 1 to {MAX_ITEMS} items, not {len(items)}"
        )
    return items


def _account(item):
    if not isinstance(item, dict):
        raise ApiError(60015, "each account must be a JSON object")
    if "UserID" not in item:
        raise ApiError(70402, "UserID is required")
    return Entry(
        _user_id(item["UserID"]), _profile(item, "Nick"), _profile(item, "FaceUrl")
    )


def _unique(entries):
    return list({entry.user_id: entry for entry in entries}.values())


def parse_account_import(payload):
    return [_account(payload)]


def parse_multiaccount_import(payload):
    if "AccountList" in payload:
        return _unique(_account(item) for item in _batch(payload, "AccountList"))
    if "Accounts" in payload:
        return _unique(Entry(_user_id(u)) for u in _batch(payload, "Accounts"))
    raise ApiError(70402, "Accounts or AccountList is required")


def _user_id_items(payload, key):
    return [_account(item).user_id for item in _batch(payload, key)]


def parse_account_check(payload):
    return _user_id_items(payload, "CheckItem")


def parse_account_delete(payload):
    return _user_id_items(payload, "DeleteItem")
