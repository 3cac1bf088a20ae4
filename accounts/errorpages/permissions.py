"""Which permissions a view asks for, read from Django's ``permission_required``.

The pages are guarded by ``permission_required(..., raise_exception=True)``,
whose PermissionDenied carries no message. The decorator keeps the
permissions in its check's closure; reading them there lets the 403 page name
the role a page needs without a second table of page → permission.
"""

import inspect


def view_permissions(view_func):
    """The permissions every ``permission_required`` around ``view_func`` names.

    Returns a sorted list, empty for a view without the decorator (or one
    whose check is some other test).
    """
    found = set()
    func = view_func
    while func is not None:
        found.update(_checked_permissions(func))
        func = getattr(func, "__wrapped__", None)
    return sorted(found)


def _checked_permissions(func):
    try:
        outer = inspect.getclosurevars(func).nonlocals
    except TypeError:  # a class-based view's callable, a builtin
        return ()
    test = outer.get("test_func")
    if not inspect.isfunction(test):
        return ()
    perms = inspect.getclosurevars(test).nonlocals.get("perms", ())
    return tuple(p for p in perms if isinstance(p, str))
