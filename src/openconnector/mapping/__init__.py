"""Mappings: declarative transforms from a source record to a register object.

Public API (the pipeline engine, CLI and config loader use exactly this)::

    cm = compile_mapping(name, config, resolver=None)   # MappingConfigError lists every problem
    cm.apply(record, meta=None) -> dict                 # MappingError: this record fails
    cm.apply_list(records) -> list                       # the original's list mode
    fn = compile_expression(expr)                        # pipeline ``filter:``; fn(record) -> value

Two dialects, chosen by ``config.dialect``: ``native`` (docs/mapping.md) and ``openconnector``,
which reproduces the original PHP engine (docs/mapping-openconnector-dialect.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from openconnector.config.models import MappingConfig
from openconnector.mapping.compiled import CompiledMapping
from openconnector.mapping.errors import MappingConfigError, MappingError

Resolver = Callable[[str], MappingConfig | None]

__all__ = [
    "CompiledMapping",
    "MappingConfigError",
    "MappingError",
    "Resolver",
    "compile_expression",
    "compile_mapping",
]


def compile_mapping(name: str, config: MappingConfig, *, resolver: Resolver | None = None) -> CompiledMapping:
    """Compile a mapping once; ``resolver`` looks up other mappings by name/id for sub-mappings
    (the openconnector dialect's ``executeMapping(id, data)``)."""
    if config.dialect == "openconnector":
        from openconnector.mapping.openconnector import compile_openconnector_mapping

        return compile_openconnector_mapping(name, config, resolver=resolver)
    from openconnector.mapping.native import compile_native_mapping

    return compile_native_mapping(name, config)


def compile_expression(expr: str) -> Callable[[dict[str, Any]], Any]:
    """A sandboxed Jinja2 expression over a record (the pipeline's ``filter:``).

    Undefined names evaluate to None. Syntax errors raise MappingConfigError at the ``filter`` key;
    runtime failures raise MappingError.
    """
    from jinja2 import Undefined
    from jinja2.exceptions import TemplateSyntaxError

    from openconnector.mapping.native import template_failure
    from openconnector.mapping.templates import (
        compile_expression_node,
        parse_expression,
        shared_native_environment,
        syntax_message,
    )

    env = shared_native_environment()
    try:
        compiled = compile_expression_node(env, parse_expression(env, expr), expr)
    except TemplateSyntaxError as exc:
        raise MappingConfigError([("filter", syntax_message(exc))]) from None
    evaluate = compiled.evaluate

    def run(record: dict[str, Any]) -> Any:
        try:
            value = evaluate(record, None)
        except Exception as exc:
            raise template_failure(exc, "filter") from exc
        return None if isinstance(value, Undefined) else value

    return run
