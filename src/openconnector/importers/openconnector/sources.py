"""Sources: the original's ``Source`` entity → a ``sources.<name>`` block.

The original keeps a source's request options in ``configuration`` — Guzzle request options such as
``headers``, ``query``, ``auth``, ``timeout``, ``verify``, ``cert`` — and calls the source with
``location + endpoint``. Credentials never reach the YAML: each one becomes a ``${ENV}`` reference
that the report names, and only the non-secret part (``ApiKey``, ``Bearer``) is kept as written.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit, urlunsplit

from openconnector.connectors.http.masking import is_sensitive_name
from openconnector.importers.openconnector.context import (
    METADATA,
    Context,
    Imported,
    Ledger,
    dot_expand,
    flatten,
    is_empty,
    lit,
)
from openconnector.importers.openconnector.reading import Found

#: the original's source types → ours
SOURCE_TYPES = {"api": "rest", "json-api": "rest", "xml": "rest", "rest": "rest", "soap": "soap"}

_SCHEME = re.compile(r"\A([A-Za-z][A-Za-z0-9_-]{0,24})\s+(\S.*)\Z", re.DOTALL)
_PASSTHROUGH = (
    "the original's calls to the source do not use it (they send the configuration block); it serves "
    "the original's endpoints, which pass an incoming caller's credentials on — a pipeline has no caller"
)
_CREDENTIAL_FIELDS = ("apikey", "jwt", "jwtId", "secret", "username", "password")
_GUZZLE_DROPPED = "a Guzzle request option of the original with no equivalent for reading a source"
_WRITE_METHODS = ("createMethod", "updateMethod", "destroyMethod")


def convert_source(ctx: Context, item: Imported) -> None:
    found = item.found
    book = Ledger(ctx, found)
    book.skip("name", "slug")
    where = f"sources.{item.name}"
    raw_type = book.take("type")
    our_type = SOURCE_TYPES.get(str(raw_type).lower()) if isinstance(raw_type, str) else None
    if our_type is None:
        item.unconvertible = (
            f"its type {raw_type!r} has no equivalent here (REST/JSON/XML APIs and SOAP are imported; "
            "add a database or file source by hand)"
        )
        ctx.add("dropped", found, "type", f"source not imported: {item.unconvertible}")
        return
    out: dict[str, Any] = {"type": our_type}
    if raw_type == "xml":
        ctx.add(
            "note",
            found,
            "type",
            "an XML API: imported as a rest source, which turns XML bodies into JSON by its own rules "
            "(see docs/connectors); check read.records and read.id against a sample response",
            yaml=f"{where}.type",
        )
    location = book.take("location")
    out["location"] = _location(ctx, item, location, out) if isinstance(location, str) else ""
    if not out["location"]:
        ctx.add(
            "placeholder",
            found,
            "location",
            "the export has no location (base URL); set sources."
            f"{item.name}.location before running a pipeline on it",
            yaml=f"{where}.location",
        )
    description = book.take("description")
    if isinstance(description, str) and description.strip():
        out["description"] = lit(description)

    config = dot_expand(book.take("configuration"))
    headers = _headers(ctx, item, config, out)
    if headers:
        out["headers"] = headers
    _request_options(ctx, item, config, out)
    query = config.pop("query", None)
    if isinstance(query, dict) and query:
        ctx.source_query[item.name] = _source_query(ctx, item, query, out)
    _report_rest(ctx, found, config)

    top_headers = book.take("headers")
    if not is_empty(top_headers):
        ctx.add(
            "dropped",
            found,
            "headers",
            "the original sends configuration.headers, not this field, so these headers were never sent; "
            "add them to sources." + item.name + ".headers if they should be",
        )
    enabled = book.take("isEnabled")
    if enabled is False:
        ctx.source_enabled[item.name] = False
        ctx.add(
            "changed",
            found,
            "isEnabled",
            "the source is disabled in the original; sources have no such switch here, so pipelines "
            "that read from it are imported with enabled: false",
        )
    if str(book.take("auth") or "none").lower() != "none":
        ctx.add("dropped", found, "auth", _PASSTHROUGH)
    for key in ("authorizationHeader", "authorizationPassthroughMethod", "authenticationConfig"):
        book.drop(key, _PASSTHROUGH)
    for key in _CREDENTIAL_FIELDS:
        if not is_empty(book.take(key)):
            ctx.add(
                "dropped",
                found,
                key,
                "a credential field the original's calls to the source do not use (they send the "
                "configuration block); its value was not copied",
            )
    _rate_limit(ctx, found, book, out, where)
    for key in ("logRetention", "errorRetention"):
        book.drop(
            key,
            "call-log retention is not a per-source setting here: failed calls are logged with the run, "
            "and run logs are kept as long as the service's retention says",
        )
    book.drop("test", "the original's test flag for a source has no equivalent")
    for key in ("locale", "accept", "documentation", "oas", "paths", "translationConfig", "loggingConfig"):
        book.drop(key, "descriptive or UI setting of the original with no equivalent")
    book.drop("endpointsConfig", "configures the original's API endpoints (it serves an API); no equivalent")
    book.skip("rateLimitRemaining", "rateLimitReset")
    book.close(
        "not a source setting the importer knows; not carried over",
        metadata={
            *METADATA,
            "objectCount",
            "lastCall",
            "lastSync",
            "rateLimitRemaining",
            "rateLimitReset",
        },
    )
    ctx.sources[item.name] = out


def _location(ctx: Context, item: Imported, location: str, out: dict[str, Any]) -> str:
    """The base URL without credentials: a password in it becomes basic auth with ``${ENV}``, a
    credential-like query parameter a ``${ENV}`` reference."""
    found = item.found
    parts = urlsplit(location)
    if parts.password is not None:
        netloc = parts.netloc.rpartition("@")[2]
        out["auth"] = {
            "type": "basic",
            "username": lit(unquote(parts.username or "")),
            "password": ctx.secret(
                found, "location", "the password that was in the URL", item.name, "PASSWORD"
            ),
        }
        ctx.add(
            "secret",
            found,
            "location",
            "the URL held a user name and password: they became auth: basic, the password was not copied",
            yaml=f"sources.{item.name}.auth",
        )
        parts = parts._replace(netloc=netloc)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if any(is_sensitive_name(name) and value for name, value in pairs):
        query = []
        for name, value in pairs:
            if is_sensitive_name(name) and value:
                var = ctx.secret(found, "location", f"query parameter {name} of the URL", item.name, name)
                ctx.add("secret", found, "location", f"the URL's query parameter {name}: not copied")
                query.append(f"{quote(name, safe='[]')}={var}")
            else:  # re-encoded: no literal "${" can come out of quote()
                query.append(f"{quote(name, safe='[]')}={quote(value, safe='')}")
        return lit(urlunsplit(parts._replace(query=""))) + "?" + "&".join(query)
    return lit(urlunsplit(parts))


def _headers(ctx: Context, item: Imported, config: dict[str, Any], out: dict[str, Any]) -> dict[str, str]:
    found = item.found
    headers = config.pop("headers", None)
    authentication = config.pop("authentication", None)
    if not isinstance(headers, dict):
        headers = {}
    result: dict[str, str] = {}
    oauth_used = False
    for name, value in headers.items():
        key = f"configuration.headers.{name}"
        yaml = f"sources.{item.name}.headers.{name}"
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        text = "" if value is None else str(value)
        if "{{" in text and "oauthToken" in text and _oauth2(ctx, item, authentication, out):
            oauth_used = True
            ctx.add(
                "changed",
                found,
                key,
                "the header held the token that oauthToken(source) fetched; the source now has auth: oauth2, "
                "which fetches, caches and refreshes that token and sends it as 'Authorization: Bearer'",
                yaml=f"sources.{item.name}.auth",
            )
            continue
        if "{{" in text:
            result[str(name)] = ctx.secret(
                found,
                key,
                f"the value of header {name} (a template the original rendered on every call)",
                item.name,
                str(name),
            )
            ctx.add(
                "secret",
                found,
                key,
                "the original rendered this header from a Twig template on every call (e.g. a JWT or a "
                "token); headers are plain values here, so it reads the value from the environment "
                "variable the report names",
                yaml=yaml,
            )
            continue
        if is_sensitive_name(str(name)) and text:
            m = _SCHEME.match(text)
            scheme = f"{m.group(1)} " if m else ""
            var = ctx.secret(
                found,
                key,
                f"the credential in header {name}" + (f" (after '{scheme.strip()}')" if scheme else ""),
                item.name,
                str(name),
            )
            result[str(name)] = scheme + var
            ctx.add(
                "secret",
                found,
                key,
                "credential header: the value from the export was not copied"
                + (f"; the scheme '{scheme.strip()}' was kept" if scheme else ""),
                yaml=yaml,
            )
            continue
        result[str(name)] = lit(text)
    if authentication is not None and not oauth_used and not is_empty(authentication):
        fields = sorted(authentication) if isinstance(authentication, dict) else []
        ctx.add(
            "dropped",
            found,
            "configuration.authentication",
            "token settings that no header uses through oauthToken(source)"
            + (f" (keys: {', '.join(fields)})" if fields else "")
            + "; not carried over, secrets not copied",
        )
    return result


def _oauth2(ctx: Context, item: Imported, authentication: Any, out: dict[str, Any]) -> bool:
    """``auth: oauth2`` from the original's ``authentication`` block, when it is client credentials."""
    found = item.found
    if not isinstance(authentication, dict) or "auth" in out:
        return False
    if authentication.get("grant_type") != "client_credentials":
        return False
    token_url, client_id = authentication.get("tokenUrl"), authentication.get("client_id")
    if not isinstance(token_url, str) or not isinstance(client_id, str):
        return False
    auth: dict[str, Any] = {"type": "oauth2", "token_url": lit(token_url), "client_id": lit(client_id)}
    auth["client_secret"] = ctx.secret(
        found,
        "configuration.authentication.client_secret",
        "OAuth2 client secret",
        item.name,
        "CLIENT_SECRET",
    )
    ctx.add(
        "secret",
        found,
        "configuration.authentication.client_secret",
        "OAuth2 client secret: not copied",
        yaml=f"sources.{item.name}.auth.client_secret",
    )
    if isinstance(authentication.get("scope"), str) and authentication["scope"]:
        auth["scope"] = lit(authentication["scope"])
    out["auth"] = auth
    for key, value in sorted(authentication.items()):
        if key in ("grant_type", "tokenUrl", "client_id", "client_secret", "scope") or is_empty(value):
            continue
        ctx.add(
            "dropped",
            found,
            f"configuration.authentication.{key}",
            "OAuth2 setting with no equivalent (the token request sends client id and secret with HTTP "
            "basic auth and reads access_token)",
        )
    return True


def _request_options(ctx: Context, item: Imported, config: dict[str, Any], out: dict[str, Any]) -> None:
    found = item.found
    where = f"sources.{item.name}"
    basic = config.pop("auth", None)
    if isinstance(basic, list) and len(basic) >= 2 and "auth" not in out:
        out["auth"] = {
            "type": "basic",
            "username": lit(str(basic[0])),
            "password": ctx.secret(
                found, "configuration.auth.1", "HTTP basic password", item.name, "PASSWORD"
            ),
        }
        ctx.add(
            "secret", found, "configuration.auth", "HTTP basic password: not copied", yaml=f"{where}.auth"
        )
        if len(basic) > 2 and str(basic[2]).lower() != "basic":
            ctx.add(
                "changed",
                found,
                "configuration.auth.2",
                f"the original used {basic[2]!r} authentication; only basic is available, check that the "
                "source accepts it",
                yaml=f"{where}.auth",
            )
    elif isinstance(basic, list) and len(basic) >= 2:
        ctx.add(
            "dropped",
            found,
            "configuration.auth",
            "a second way to authenticate next to the one already imported; its password was not copied",
        )
    elif not is_empty(basic):
        ctx.add("dropped", found, "configuration.auth", "not a [username, password] pair; not carried over")
    for ours, theirs in (("timeout", "timeout"), ("connect_timeout", "connect_timeout")):
        value = config.pop(theirs, None)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            out[ours] = value
        elif value is not None:
            ctx.add("dropped", found, f"configuration.{theirs}", "not a positive number of seconds")
    verify = config.pop("verify", None)
    if isinstance(verify, bool):
        out["verify"] = verify
    elif isinstance(verify, str) and verify:
        ctx.add(
            "dropped",
            found,
            "configuration.verify",
            "the original held the CA bundle's PEM text here; write it to a file and set "
            f"{where}.verify to that file's path",
        )
    proxy = config.pop("proxy", None)
    if isinstance(proxy, str) and proxy:
        out["proxy"] = lit(proxy)
    elif not is_empty(proxy):
        ctx.add(
            "dropped",
            found,
            "configuration.proxy",
            "per-scheme proxies have no equivalent; set one proxy URL",
        )
    redirects = config.pop("allow_redirects", None)
    if isinstance(redirects, bool):
        out["follow_redirects"] = redirects
    elif not is_empty(redirects):
        out["follow_redirects"] = True
        ctx.add(
            "changed",
            found,
            "configuration.allow_redirects",
            "redirect options reduced to follow_redirects: true",
        )
    cert, key = config.pop("cert", None), config.pop("ssl_key", None)
    if not is_empty(cert) and "auth" not in out:
        auth: dict[str, Any] = {
            "type": "mtls",
            "cert": ctx.secret(
                found,
                "configuration.cert",
                "path of a PEM file with the client certificate",
                item.name,
                "CERT_FILE",
            ),
        }
        if not is_empty(key):
            auth["key"] = ctx.secret(
                found,
                "configuration.ssl_key",
                "path of a PEM file with the client key",
                item.name,
                "KEY_FILE",
            )
        out["auth"] = auth
        ctx.add(
            "secret",
            found,
            "configuration.cert",
            "the original held the certificate (and key) as PEM text; write them to files and name the "
            "files in the environment variables the report lists (the PEM text was not copied)",
            yaml=f"{where}.auth",
        )
    elif not is_empty(cert) or not is_empty(key):
        ctx.add(
            "dropped",
            found,
            "configuration.cert",
            "client certificate next to another auth; not carried over",
        )
    list_method = config.pop("listMethod", None)
    if isinstance(list_method, str) and list_method.upper() == "POST":
        ctx.source_method[item.name] = "POST"
        ctx.add(
            "changed",
            found,
            "configuration.listMethod",
            "lists are read with POST: every pipeline reading from this source gets read.method: POST",
        )
    elif isinstance(list_method, str) and list_method.upper() != "GET":
        ctx.add(
            "dropped",
            found,
            "configuration.listMethod",
            f"lists were read with {list_method}; sources read with GET or POST",
        )
    for name in (*_WRITE_METHODS, "readMethod"):
        if name in config:
            config.pop(name)
            ctx.add(
                "dropped",
                found,
                f"configuration.{name}",
                "a method for writing to the source: write-back is not imported",
            )


def _source_query(ctx: Context, item: Imported, query: dict[str, Any], out: dict[str, Any]) -> dict[str, Any]:
    """Source-level query parameters go to every pipeline's ``read.query``; a credential among them
    becomes ``auth: api_key`` in the query (or a ``${ENV}`` when the source already has an auth)."""
    found = item.found
    result: dict[str, Any] = {}
    for name, value in flatten_query(query).items():
        key = f"configuration.query.{name}"
        if is_sensitive_name(name) and value not in ("", None):
            if "auth" not in out:
                out["auth"] = {
                    "type": "api_key",
                    "name": name,
                    "in": "query",
                    "value": ctx.secret(
                        found, key, f"the API key sent as query parameter {name}", item.name, name
                    ),
                }
                ctx.add(
                    "secret",
                    found,
                    key,
                    "API key in the query: now auth: api_key (in: query); not copied",
                    yaml=f"sources.{item.name}.auth",
                )
                continue
            result[name] = ctx.secret(found, key, f"query parameter {name}", item.name, name)
            ctx.add("secret", found, key, "credential in the query: not copied")
            continue
        result[name] = lit(value)
    ctx.add(
        "changed",
        found,
        "configuration.query",
        "query parameters set on the source are added to read.query of every pipeline that reads from it "
        "(sources have no query of their own here)",
    )
    return result


def flatten_query(query: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested query values the way PHP's ``http_build_query`` sends them: ``filter[name]=x``;
    booleans as ``1``/``0`` (what PHP sends)."""
    out: dict[str, Any] = {}
    for key, value in query.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if isinstance(value, dict):
            out.update(flatten_query(value, name))
        elif isinstance(value, list):
            out.update(flatten_query({str(i): v for i, v in enumerate(value)}, name))
        elif isinstance(value, bool):
            out[name] = "1" if value else "0"
        elif value is None:
            continue
        else:
            out[name] = value
    return out


def _report_rest(ctx: Context, found: Found, config: dict[str, Any]) -> None:
    for key, value in flatten(config):
        if not is_empty(value):
            ctx.add("dropped", found, f"configuration.{key}", _GUZZLE_DROPPED)


def _rate_limit(ctx: Context, found: Found, book: Ledger, out: dict[str, Any], where: str) -> None:
    limit, window = book.take("rateLimitLimit"), book.take("rateLimitWindow")
    if isinstance(limit, int) and isinstance(window, int) and limit > 0 and window > 0:
        out["rate_limit"] = round(limit / window, 6)
        ctx.add(
            "changed",
            found,
            "rateLimitLimit, rateLimitWindow",
            f"{limit} requests per {window}s became rate_limit: {out['rate_limit']} requests per second "
            "(spread evenly instead of a burst per window)",
            yaml=f"{where}.rate_limit",
        )
    elif not is_empty(limit) or not is_empty(window):
        ctx.add(
            "dropped",
            found,
            "rateLimitLimit",
            "a rate limit needs both a limit and a window; not carried over",
        )
