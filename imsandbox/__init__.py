"""A local stand-in for Tencent IM's account API, for tests, benches and laptops.

It serves ``POST /v4/im_open_login_svc/{api}`` for account_import,
multiaccount_import, account_check and account_delete over plain HTTP on
loopback, checks the query string and the UserSig as the service does, enforces
the documented per-second limits, keeps accounts in a SQLite file and injects
faults on demand. It is written from the service's reference pages alone and
imports nothing of imadmin: ``manage.py im_sandbox`` builds a ``SandboxConfig``
and calls ``make_server``.

- ``rules``: the documented limits; ``usersig``: verifying a UserSig;
- ``parsing``: request bodies into entries; ``store``: the accounts file;
- ``counters``: calls per second and totals; ``faults``: what can change at runtime;
- ``service``: the four APIs; ``control``: the /sandbox/ test aids;
- ``replies``: what is answered; ``server``: HTTP.

One process owns a state file: two sandboxes on the same file are unsupported.
"""

from .control import TOKEN_HEADER, token_path
from .faults import Faults, SandboxConfig
from .server import SandboxServer, make_server
from .service import Sandbox

__all__ = [
    "TOKEN_HEADER",
    "Faults",
    "Sandbox",
    "SandboxConfig",
    "SandboxServer",
    "make_server",
    "token_path",
]
