"""Jinja2 templates compiled once into plain callables over a record.

Rendering a template normally copies the whole context (record + globals) into a new dict per
call. Here each template learns at compile time which names it reads, and each call builds a
context of just those names — a handful of dict lookups — and runs the compiled render function
directly. That keeps a template at a few microseconds per record on 200,000-record runs.

Everything runs in :class:`jinja2.sandbox.ImmutableSandboxedEnvironment`; access to unsafe
attributes (``''.__class__``) raises instead of quietly rendering empty.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from jinja2 import ChainableUndefined, Template, Undefined, meta, nodes
from jinja2.compiler import CodeGenerator
from jinja2.exceptions import SecurityError, TemplateSyntaxError
from jinja2.parser import Parser
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import _PassArg

from openconnector.mapping import php
from openconnector.mapping.dates import DateParseError, get_timezone, parse_date, php_date
from openconnector.mapping.text import slugify

Record = Mapping[str, Any]
Evaluator = Callable[[Record, Any], Any]


def is_template(text: str) -> bool:
    return "{{" in text or "{%" in text


class RefusingSandbox(ImmutableSandboxedEnvironment):
    """The sandbox, but an unsafe attribute is an error rather than an empty value."""

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe")


MAX_REPEAT = 1_000_000
"""Longest string or list a template may build with ``*`` (``'x' * 10**9`` would take the process down)."""


class NativeEnvironment(RefusingSandbox):
    """The native dialect's environment: a dict's keys win over its methods (``data.items`` is the key)."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                sized = isinstance(seq, (str, list, tuple)) and isinstance(times, int)
                if sized and len(seq) * times > MAX_REPEAT:
                    raise SecurityError(f"the result would be longer than {MAX_REPEAT} items")
            return left * right
        if (
            isinstance(right, (int, float))
            and abs(right) > 10_000
            and isinstance(left, int)
            and abs(left) > 1
        ):
            raise SecurityError("the power is too large")
        return left**right

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


def syntax_message(exc: TemplateSyntaxError) -> str:
    return f"template syntax error: {exc.message} (line {exc.lineno})"


# --- native filters ------------------------------------------------------------------------------


def _native_finalize(value: Any) -> Any:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (dict, list)):
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode("utf-8")
    return value


def _b64enc(value: Any) -> str:
    return php.base64_encode(value if isinstance(value, str) else str(value))


def _b64dec(value: Any) -> str:
    import base64

    text = "".join(str(value).split())
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True).decode("utf-8")


def _json_decode(value: Any) -> Any:
    if value is None or isinstance(value, Undefined):
        return None
    if isinstance(value, (dict, list)):
        return value
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"json_decode: invalid JSON ({exc})") from None


def _json_encode(value: Any) -> str:
    if isinstance(value, Undefined):
        value = None
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode("utf-8")


def _date(value: Any, format: str = "F j, Y H:i", timezone: str | None = None) -> Any:
    if value is None or isinstance(value, Undefined):
        return None
    try:
        dt, _ = parse_date(value)
        if timezone:
            dt = dt.astimezone(get_timezone(timezone))
    except DateParseError as exc:
        raise ValueError(f"date: {exc}") from None
    return php_date(dt, format)


def _slugify(value: Any) -> str:
    return slugify("" if value is None or isinstance(value, Undefined) else str(value))


NATIVE_FILTERS: dict[str, Callable[..., Any]] = {
    "b64enc": _b64enc,
    "b64dec": _b64dec,
    "json_decode": _json_decode,
    "jsonDecode": _json_decode,
    "json_encode": _json_encode,
    "slugify": _slugify,
    "date": _date,
}


def native_environment() -> NativeEnvironment:
    env = NativeEnvironment(undefined=ChainableUndefined, finalize=_native_finalize, autoescape=False)
    env.filters.update(NATIVE_FILTERS)
    return env


# --- compilation ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interpolation:
    """A template that only glues text and top-level names together, as its parts: (literal text,
    None) or ("", name), in order. ``finalize`` turns a value that is not a ``str`` into what
    ``str()`` is taken of (a ``str`` is used as it is): what :func:`_fast_interpolation` computes,
    for a caller that inlines it (:mod:`openconnector.mapping.codegen`)."""

    parts: tuple[tuple[str, str | None], ...]
    finalize: Callable[[Any], Any]


@dataclass(frozen=True)
class CompiledTemplate:
    """A template as a function of (record, meta); ``native`` ones return the expression's value."""

    source: str
    native: bool
    names: tuple[str, ...]
    evaluate: Evaluator
    #: set when the template is a plain :class:`Interpolation` of top-level names
    interpolation: Interpolation | None = None


def context_builder(
    names: tuple[str, ...], globals_: Mapping[str, Any], fixed: Mapping[str, Any] | None = None
) -> Callable[[Record, Any], dict[str, Any]]:
    """Build the minimal context for one template: the names it reads, from the record first.

    ``fixed`` values (functions a dialect binds per mapping) win over the record; ``_meta`` is the
    run metadata when given. Globals only fill names the record lacks, as in Jinja.
    """
    fixed_used = {n: v for n, v in (fixed or {}).items() if n in names}
    wants_meta = "_meta" in names
    from_record = tuple(n for n in names if n not in fixed_used and n != "_meta")
    defaults = {n: globals_[n] for n in from_record if n in globals_}

    def build(record: Record, meta_: Any) -> dict[str, Any]:
        ctx = dict(defaults) if defaults else {}
        for n in from_record:
            if n in record:
                ctx[n] = record[n]
        if fixed_used:
            ctx.update(fixed_used)
        if wants_meta:
            if meta_ is not None:
                ctx["_meta"] = meta_
            elif "_meta" in record:
                ctx["_meta"] = record["_meta"]
        return ctx

    return build


def referenced_names(env: Any, ast: nodes.Template) -> tuple[str, ...]:
    """Names a template reads from its context, globals included (Jinja's own analysis skips those)."""
    undeclared = meta.find_undeclared_variables(ast)
    loads = {n.name for n in ast.find_all(nodes.Name) if n.ctx == "load"}
    return tuple(sorted(undeclared | (loads & set(env.globals))))


def context_pool(template: Template) -> tuple[Callable[[], Context], Callable[[Context], None]]:
    """Reusable render contexts for one template (creating a Jinja Context costs more than rendering).

    A context is taken from the pool for one render and given back afterwards with its variables
    cleared, so recursive and concurrent renders each get their own; list pop/append are atomic.
    """
    pool: list[Context] = []
    new_context = template.new_context

    def take() -> Context:
        try:
            return pool.pop()
        except IndexError:
            return new_context({}, True)

    def give(ctx: Context) -> None:
        if ctx.vars:
            ctx.vars.clear()
            ctx.exported_vars.clear()
        ctx.parent = _EMPTY
        if len(pool) < 8:
            pool.append(ctx)

    return take, give


_EMPTY: dict[str, Any] = {}


def parse_expression(env: Any, source: str) -> nodes.Expr:
    parser = Parser(env, source, state="variable")
    expr = parser.parse_expression()
    if not parser.stream.eos:
        raise TemplateSyntaxError("unexpected text after the expression", parser.stream.current.lineno)
    return expr


def single_expression(ast: nodes.Template) -> nodes.Expr | None:
    """The expression of a template that is exactly one ``{{ expression }}``, else None."""
    if len(ast.body) != 1 or not isinstance(ast.body[0], nodes.Output):
        return None
    parts = ast.body[0].nodes
    if len(parts) != 1 or isinstance(parts[0], nodes.TemplateData):
        return None
    return parts[0]


def compile_expression_node(
    env: Any, expr: nodes.Expr, source: str, fixed: Mapping[str, Any] | None = None
) -> CompiledTemplate:
    """Compile one expression to a callable returning its value (Undefined when undefined)."""
    body = nodes.Template([nodes.Assign(nodes.Name("result", "store"), expr, lineno=1)], lineno=1)
    body.set_environment(env)
    names = referenced_names(env, body)
    template = env.from_string(body)
    root = template.root_render_func
    take, give = context_pool(template)
    build = context_builder(names, env.globals, fixed)

    def evaluate(record: Record, meta_: Any) -> Any:
        ctx = take()
        ctx.parent = build(record, meta_)
        try:
            for _ in root(ctx):
                pass
            return ctx.vars["result"]
        finally:
            give(ctx)

    path = _lookup_path(env, expr, fixed)
    if path is not None:
        return CompiledTemplate(source, True, names, _fast_lookup(path, evaluate))
    return CompiledTemplate(source, True, names, evaluate)


def compile_template_ast(
    env: Any, ast: nodes.Template, source: str, fixed: Mapping[str, Any] | None = None
) -> CompiledTemplate:
    """Compile a parsed template to a callable returning the rendered string."""
    names = referenced_names(env, ast)
    template = env.from_string(ast)
    root = template.root_render_func
    take, give = context_pool(template)
    concat = env.concat
    build = context_builder(names, env.globals, fixed)

    def evaluate(record: Record, meta_: Any) -> Any:
        ctx = take()
        ctx.parent = build(record, meta_)
        try:
            return concat(root(ctx))
        finally:
            give(ctx)

    parts = _interpolation(env, ast, fixed)
    if parts is not None:
        fast = _fast_interpolation(env, parts, evaluate)
        return CompiledTemplate(source, False, names, fast, _simple_interpolation(env, parts))
    return CompiledTemplate(source, False, names, evaluate)


# --- plain interpolation without the template machinery --------------------------------------------
#
# Most mapping templates only glue fields together: ``{{ first_name }} {{ last_name }}``. Rendering
# those through Jinja costs a context, a generator and a concat per record (a tenth of a file load's
# time). A template made only of text and ``{{ name }}`` / ``{{ name.key.key }}`` lookups is
# evaluated here with plain dict lookups and the environment's own finalize — the same string Jinja
# renders — and any record where a name or key is absent, or a value is not a dict on the way,
# falls back to the compiled template, so undefined handling, globals and the sandbox stay Jinja's.

Path = tuple[str, ...]


def _lookup_path(env: Any, expr: nodes.Node, fixed: Mapping[str, Any] | None) -> Path | None:
    """``("address", "city")`` for ``address.city``; None for anything but a plain lookup."""
    attrs: list[str] = []
    while isinstance(expr, nodes.Getattr):
        attrs.append(expr.attr)
        expr = expr.node
    if not isinstance(expr, nodes.Name) or expr.ctx != "load" or expr.name == "_meta":
        return None
    if fixed and expr.name in fixed:
        return None
    if attrs and not isinstance(env, NativeEnvironment):  # dict keys win over methods only there
        return None
    return (expr.name, *reversed(attrs))


def _interpolation(env: Any, ast: nodes.Template, fixed: Mapping[str, Any] | None) -> list[str | Path] | None:
    """The template as literal strings and lookup paths, if that is all it is (and Jinja's standard
    code generator, without autoescape, would render it)."""
    if env.code_generator_class is not CodeGenerator or env.autoescape is not False:
        return None
    if env.finalize is not None and _PassArg.from_obj(env.finalize) is not None:
        return None
    if len(ast.body) != 1 or not isinstance(ast.body[0], nodes.Output):
        return None
    parts: list[str | Path] = []
    for node in ast.body[0].nodes:
        if isinstance(node, nodes.TemplateData):
            parts.append(node.data)
            continue
        path = _lookup_path(env, node, fixed)
        if path is None:
            return None
        parts.append(path)
    return parts


def _resolve(record: Record, path: Path) -> Any:
    """The value at ``path``; KeyError when a name or key is missing or a step is not a dict."""
    value = record[path[0]]
    for key in path[1:]:
        if type(value) is not dict:
            raise KeyError(key)
        value = value[key]
    return value


def _fast_lookup(path: Path, slow: Evaluator) -> Evaluator:
    def evaluate(record: Record, meta_: Any) -> Any:
        try:
            return _resolve(record, path)
        except KeyError:
            return slow(record, meta_)

    if len(path) == 1:
        name = path[0]

        def evaluate_name(record: Record, meta_: Any) -> Any:
            try:
                return record[name]
            except KeyError:
                return slow(record, meta_)

        return evaluate_name
    return evaluate


def _simple_interpolation(env: Any, parts: list[str | Path]) -> Interpolation | None:
    """``parts`` as an :class:`Interpolation` when every lookup is a top-level name and the
    environment's finalize gives a ``str`` back unchanged (so a ``str`` value skips it)."""
    if any(not isinstance(p, str) and len(p) != 1 for p in parts):
        return None
    if env.finalize is not None and env.finalize is not _native_finalize:
        return None
    pieces = tuple((p, None) if isinstance(p, str) else ("", p[0]) for p in parts)
    return Interpolation(pieces, env.finalize or _identity)


def _identity(value: Any) -> Any:
    return value


def _fast_interpolation(env: Any, parts: list[str | Path], slow: Evaluator) -> Evaluator:
    finalize = env.finalize or _identity
    # (literal text, None) or ("", lookup path), in template order
    steps: list[tuple[str, Path | None]] = [(p, None) if isinstance(p, str) else ("", p) for p in parts]
    names = [(text, None if path is None else path[0]) for text, path in steps]
    simple = all(path is None or len(path) == 1 for _, path in steps)
    # Both of these finalizers give a str back unchanged, so a str value skips two calls.
    keeps_text = env.finalize is None or env.finalize is _native_finalize

    def evaluate(record: Record, meta_: Any) -> Any:
        try:
            if simple:
                return "".join(
                    [
                        text
                        if name is None
                        else (v if type(v := record[name]) is str and keeps_text else str(finalize(v)))
                        for text, name in names
                    ]
                )
            return "".join(
                [text if path is None else str(finalize(_resolve(record, path))) for text, path in steps]
            )
        except KeyError:
            return slow(record, meta_)

    return evaluate


def compile_native(env: Any, source: str) -> CompiledTemplate:
    """A native-dialect template: one ``{{ expression }}`` keeps its type, anything else is text.

    Raises TemplateSyntaxError (including unknown filters and tests) at compile time.
    """
    ast = env.parse(source)
    expr = single_expression(ast)
    if expr is not None:
        return compile_expression_node(env, expr, source)
    return compile_template_ast(env, ast, source)


_NATIVE_ENV: NativeEnvironment | None = None


def shared_native_environment() -> NativeEnvironment:
    """One environment for all native mappings (filters are fixed; compiled code is per template)."""
    global _NATIVE_ENV
    if _NATIVE_ENV is None:
        _NATIVE_ENV = native_environment()
    return _NATIVE_ENV
