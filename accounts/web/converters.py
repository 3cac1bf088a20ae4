"""A URL path converter that keeps any UserID in one path segment.

A UserID may hold "/", "%", "?", "#", "." and more. Browsers and proxies
resolve "." and ".." segments ("a/b/../c" would become "a/c") and split at
"?" and "#", so the UserID is percent-encoded whole, "/" included, and a
UserID that is itself "." or ".." has its dots encoded too. Django quotes
the result once more when it reverses a URL, and decodes it once when it
routes a request, so ``to_python`` receives exactly what ``to_url`` made.
"""

from urllib.parse import quote, unquote


class UserIdConverter:
    regex = "[^/]+"

    def to_python(self, value):
        return unquote(value)

    def to_url(self, value):
        encoded = quote(value, safe="")
        if encoded in (".", ".."):
            encoded = encoded.replace(".", "%2E")
        return encoded
