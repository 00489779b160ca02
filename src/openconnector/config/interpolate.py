"""``${VAR}`` interpolation of environment variables in every string value of the config.

``${VAR}`` is the variable's value, ``${VAR:-default}`` the default when it is unset or empty, and
``$${`` a literal ``${``. An unset variable without a default is a problem that names the variable
and the key, never a value. Strings that contained a reference are remembered (path → original
text) so an export can write ``${VAR}`` back instead of the secret it stood for.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from openconnector.config.yamlfile import KeyPath

_TOKEN = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")
_BODY = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?", re.DOTALL)
_DIGEST_KEY = os.urandom(16)  # per process: a digest cannot be matched against guessed secrets elsewhere


@dataclass
class Interpolated:
    data: Any
    problems: list[tuple[KeyPath, str]] = field(default_factory=list)
    #: key path → the string as written, for every string that held a reference or an escape
    references: dict[KeyPath, str] = field(default_factory=dict)
    #: key path → :func:`digest` of what that string resolved to
    resolved: dict[KeyPath, str] = field(default_factory=dict)


def interpolate(data: Any, env: Mapping[str, str]) -> Interpolated:
    out = Interpolated(data=None)
    out.data = _walk(data, (), env, out)
    return out


def _walk(value: Any, path: KeyPath, env: Mapping[str, str], out: Interpolated) -> Any:
    if isinstance(value, str):
        if "${" not in value:
            return value
        result, problems = substitute(value, env)
        out.problems.extend((path, p) for p in problems)
        if problems:
            return value  # leave it as written: no second, confusing problem about the same value
        out.references[path] = value
        out.resolved[path] = digest(result)
        return result
    if isinstance(value, dict):
        return {k: _walk(v, (*path, str(k)), env, out) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, (*path, i), env, out) for i, v in enumerate(value)]
    return value


def digest(value: str) -> str:
    """A fingerprint of a resolved value: enough to notice it changed, useless to recover a secret."""
    return hashlib.blake2b(value.encode("utf-8"), digest_size=16, key=_DIGEST_KEY).hexdigest()


def substitute(text: str, env: Mapping[str, str]) -> tuple[str, list[str]]:
    """``text`` with every reference replaced, and the problems found (unset or malformed)."""
    problems: list[str] = []

    def repl(m: re.Match[str]) -> str:
        token = m.group(0)
        if token == "$${":
            return "${"
        body = m.group(1)
        if body is None:
            problems.append("has '${' without a closing '}' (write '$${' for a literal '${')")
            return token
        parsed = _BODY.fullmatch(body)
        if parsed is None:
            # the body is part of the value, which may be a secret: do not echo it
            problems.append(
                "has a '${...}' that is not a variable reference: use ${NAME} or ${NAME:-default} "
                "(write '$${' for a literal '${')"
            )
            return token
        name, default = parsed.group(1), parsed.group(2)
        val = env.get(name)
        if default is not None and not val:
            return default
        if val is None:
            problems.append(
                f"environment variable {name} is not set "
                f"(set it, or write ${{{name}:-default}} for a default)"
            )
            return token
        return val

    return _TOKEN.sub(repl, text), problems


def escape(text: str) -> str:
    """The inverse of a substitution without references: ``${`` → ``$${``."""
    return text.replace("${", "$${")
