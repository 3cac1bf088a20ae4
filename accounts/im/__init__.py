"""Tencent IM's account REST API: client, errors, UserSig, validation.

Nothing in this package imports Django models: it knows HTTP, JSON and
signatures only, so it can be tested and reused on its own.
"""
