"""The JSON API under /api/v1/ (django-ninja): Bearer tokens, typed schemas, OpenAPI.

``app`` holds the NinjaAPI and its error handlers, ``auth`` the token check
with the role's permission and the request limit, ``accounts`` and ``jobs``
the endpoints, ``schemas`` their bodies, ``entries`` the check of listed
accounts, ``urls`` the routes. Like the pages, it checks access, validates,
and calls services and selectors.
"""
