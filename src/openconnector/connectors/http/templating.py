"""Request values with Jinja2 templates in them: SOAP arguments, GraphQL variables.

A page number, an offset or the incremental cursor has to go somewhere inside a request that the
connector does not know the shape of (``<GetPeople><paging><page>3</page>…``), so the user writes
it where it belongs: ``{page: "{{ page }}"}``. The rules:

* any string holding ``{{`` or ``{%`` is a template; other values are sent as written;
* a string that is exactly one ``{{ expression }}`` keeps the expression's type (``"{{ page }}"``
  is the number 3, ``"{{ cursor }}"`` is ``null`` before the first complete run); anything else
  renders to a string;
* templates run in Jinja2's immutable sandbox, are compiled once per run, and may only use the
  names the connector provides — an unknown name is a config error, not an empty value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from typing import Any

from jinja2 import StrictUndefined, Undefined, meta
from jinja2.exceptions import TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from openconnector.connectors.base import ConnectorError

_ENV = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
_SINGLE = re.compile(r"^\s*\{\{(?P<expr>.*)\}\}\s*$", re.DOTALL)

Render = Callable[[Mapping[str, Any]], Any]


def _is_template(text: str) -> bool:
    return "{{" in text or "{%" in text


def template_names(value: Any) -> set[str]:
    """Every variable the templates in ``value`` read; raises ValueError on a syntax error."""
    found: set[str] = set()
    for text in _strings(value):
        if _is_template(text):
            try:
                found |= meta.find_undeclared_variables(_ENV.parse(text))
            except TemplateSyntaxError as exc:
                raise ValueError(f"template {text!r}: {exc.message} (line {exc.lineno})") from None
    return found


def check_names(value: Any, allowed: Collection[str]) -> None:
    """Raise ValueError naming any template variable that is not in ``allowed``."""
    unknown = sorted(template_names(value) - set(allowed))
    if unknown:
        names = ", ".join(sorted(allowed)) or "none"
        raise ValueError(f"unknown template variable {', '.join(unknown)} (available here: {names})")


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _compile_string(text: str) -> Render:
    single = _SINGLE.match(text)
    if single and not _is_template(single.group("expr")):
        expression = _ENV.compile_expression(single.group("expr"), undefined_to_none=False)

        def evaluate(variables: Mapping[str, Any]) -> Any:
            result = expression(**variables)
            if isinstance(result, Undefined):
                raise UndefinedError(f"{text.strip()!r} is undefined")
            return result

        return evaluate
    template = _ENV.from_string(text)
    return lambda variables: template.render(variables)


def compile_value(value: Any) -> Render:
    """``value`` as a function of the template variables; values without templates are returned as is."""
    if isinstance(value, str):
        return _compile_string(value) if _is_template(value) else (lambda variables: value)
    if isinstance(value, Mapping):
        parts = {k: compile_value(v) for k, v in value.items()}
        return lambda variables: {k: part(variables) for k, part in parts.items()}
    if isinstance(value, list):
        items = [compile_value(v) for v in value]
        return lambda variables: [item(variables) for item in items]
    return lambda variables: value


def render(compiled: Render, variables: Mapping[str, Any], *, what: str, where: str) -> Any:
    """Run a compiled value; a template failing at run time is a ConnectorError naming ``what``."""
    try:
        return compiled(variables)
    except (TemplateError, UndefinedError, TypeError, ValueError, ArithmeticError) as exc:
        raise ConnectorError(f"{what}: a template failed: {type(exc).__name__}: {exc}", where=where) from None


__all__ = ["Render", "check_names", "compile_value", "render", "template_names"]
