"""What can change while the sandbox runs (faults, account cap, limits); its set-up."""

from dataclasses import asdict, dataclass, field, fields, replace

from .rules import API_NAMES, RATE_LIMITS


@dataclass(frozen=True)
class Faults:
    """The knobs that can change at runtime: faults, the account cap, the limits."""

    latency_ms: int = 0
    fault_rate: float = 0.0
    fault_codes: tuple = (70169, 70202, 70500)
    http_502_rate: float = 0.0
    late_reply_rate: float = 0.0
    late_reply_ms: int = 15000
    fail_accounts_rate: float = 0.0
    fault_apis: tuple = API_NAMES  # the APIs the random faults apply to
    account_limit: int | None = None
    delete_block_seconds: int = 90 * 86400
    rate_scale: float = 1.0  # a testing aid: multiplies the documented limits

    def updated(self, changes):
        """A copy with ``changes`` (a dict) applied; ValueError names a bad one."""
        known = {f.name for f in fields(self)}
        clean = {}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown setting {name!r}")
            try:
                clean[name] = _FAULT_CHECKS[name](value)
            except (TypeError, ValueError, OverflowError) as exc:
                raise ValueError(f"{name}: {exc}") from None
        return replace(self, **clean)

    def as_json(self):
        return asdict(self)


def _probability(value):
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError("must be between 0 and 1")
    return value


def _count(value):
    if isinstance(value, bool) or int(value) != value or value < 0:
        raise ValueError("must be a whole number, 0 or more")
    return int(value)


def _codes(value):
    if not isinstance(value, list | tuple):
        raise ValueError("must be a list of codes")
    codes = tuple(int(code) for code in value)
    if not codes:
        raise ValueError("must list at least one code")
    return codes


def _apis(value):
    if not isinstance(value, list | tuple):
        raise ValueError("must be a list of API names")
    apis = tuple(value)
    if not set(apis) <= set(API_NAMES):
        raise ValueError(f"must be among {', '.join(API_NAMES)}")
    return apis


def _scale(value):
    value = float(value)
    if not 0 < value <= 1000:
        raise ValueError("must be above 0 and at most 1000")
    return value


_FAULT_CHECKS = {
    "latency_ms": _count,
    "fault_rate": _probability,
    "fault_codes": _codes,
    "http_502_rate": _probability,
    "late_reply_rate": _probability,
    "late_reply_ms": _count,
    "fail_accounts_rate": _probability,
    "fault_apis": _apis,
    "account_limit": lambda v: None if v is None else _count(v),
    "delete_block_seconds": _count,
    "rate_scale": _scale,
}


@dataclass(frozen=True)
class SandboxConfig:
    sdkappid: int
    secret_key: str = field(repr=False)
    identifier: str
    state_path: str
    faults: Faults = Faults()
    rate_log_path: str | None = None
    seed: int | None = None


def rate_limit(api, faults):
    """Calls a second ``api`` admits now: the documented limit, scaled."""
    return max(1, int(RATE_LIMITS[api] * faults.rate_scale))
