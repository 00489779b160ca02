"""Keep secrets out of call logs and error messages.

Two nets: by *name* (an ``Authorization`` header, a ``?api_key=`` parameter: the value is replaced
whatever it is) and by *value* (every secret the transport knows — passwords, keys, client secrets,
the OAuth2 tokens it fetched — is replaced wherever it appears, e.g. echoed back in a response body).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from urllib.parse import quote, quote_plus, unquote_plus

import httpx

MASK = "***"
_SENSITIVE_WORDS = (
    "auth", "token", "secret", "password", "passwd", "pwd", "apikey", "api_key", "api-key", "key",
    "signature", "sig", "session", "cookie", "credential",
)  # fmt: skip
_MIN_SECRET_LEN = 4  # shorter "secrets" would garble every message; they are still masked by name


def is_sensitive_name(name: str) -> bool:
    """Whether a header or query parameter named ``name`` carries a credential."""
    lowered = name.lower()
    return any(word in lowered for word in _SENSITIVE_WORDS)


class Redactor:
    """Masks known secret values and sensitive names in text, URLs and headers."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        self._names = {n.lower() for n in names}
        self._values: set[str] = set()

    def add_name(self, name: str) -> None:
        self._names.add(name.lower())

    def add(self, value: str | None) -> None:
        """Register a secret value (and the encodings it may show up in)."""
        if not value or len(value) < _MIN_SECRET_LEN:
            return
        self._values.update({value, quote(value, safe=""), quote_plus(value)})

    def add_basic(self, username: str, password: str) -> None:
        self.add(password)
        self.add(base64.b64encode(f"{username}:{password}".encode()).decode("ascii"))

    def sensitive(self, name: str) -> bool:
        return name.lower() in self._names or is_sensitive_name(name)

    def text(self, text: str) -> str:
        for value in sorted(self._values, key=len, reverse=True):
            if value in text:
                text = text.replace(value, MASK)
        return text

    def url(self, url: httpx.URL | str) -> str:
        """The URL with its password and credential-like query values masked."""
        if isinstance(url, httpx.URL) and not self._needs_masking(str(url)):
            # the common case, every page of a read: nothing to mask by name, so no re-parse
            # (parsing the URL and its query again took 40 µs, twice per page)
            return self.text(str(url)).replace("%2A%2A%2A", MASK)
        u = httpx.URL(str(url))
        if u.password:
            u = u.copy_with(userinfo=f"{quote(u.username, safe='')}:{MASK}".encode())
        if u.query and any(self.sensitive(k) for k in u.params):  # rebuilt only then: ?wsdl stays ?wsdl
            params = [(k, MASK if self.sensitive(k) else v) for k, v in u.params.multi_items()]
            u = u.copy_with(params=params)
        return self.text(str(u)).replace("%2A%2A%2A", MASK)

    def _needs_masking(self, text: str) -> bool:
        """Whether a URL has a password or a query parameter with a credential-like name."""
        rest = text.partition("://")[2]
        authority = rest.partition("/")[0].partition("?")[0].partition("#")[0]
        if "@" in authority:
            return True
        query = text.partition("?")[2].partition("#")[0]
        return any(self.sensitive(unquote_plus(pair.partition("=")[0])) for pair in query.split("&") if pair)

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {k: MASK if self.sensitive(k) else self.text(v) for k, v in headers.items()}


__all__ = ["MASK", "Redactor", "is_sensitive_name"]
