"""The native dialect: dot-paths, sandboxed Jinja2 templates with native types, strict casts.

Rules (docs/mapping.md): a string with ``{{``/``{%`` is a template (exactly one ``{{ expr }}``
keeps the expression's type); any other string is a dot-path into the record (absent path →
absent key, never the path's text); anything else is a constant. Output keys are dot-paths.
Order: pass_through → mapping → cast → unset.

``compile`` turns every entry into a small closure over precomputed path segments, and the
entries into one generated function (:mod:`openconnector.mapping.codegen`) that inlines the
common ones (a field, ``object.field``, a text of names) and calls the closures of the rest: no
parsing, no per-record template compilation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jinja2 import Undefined
from jinja2.exceptions import SecurityError, TemplateSyntaxError

from openconnector.config.models import MappingConfig
from openconnector.jsonutil import MISSING, content_hash, delete_path, get_path, set_path, split_path
from openconnector.mapping.casts import CASTS, REMOVE, CastFn, compile_cast_list
from openconnector.mapping.codegen import Call, Field, Pair, Spec, Text, generate
from openconnector.mapping.compiled import CompiledMapping
from openconnector.mapping.errors import MappingConfigError, MappingError
from openconnector.mapping.templates import (
    CompiledTemplate,
    compile_native,
    is_template,
    shared_native_environment,
    syntax_message,
)

Step = Callable[[dict[str, Any], Any, dict[str, Any]], None]
Getter = Callable[[dict[str, Any], Any], Any]


def copy_json(value: Any) -> Any:
    """Deep copy of dicts and lists (other values are immutable or left shared)."""
    t = type(value)
    if t is dict:
        return {k: copy_json(v) for k, v in value.items()}
    if t is list:
        return [copy_json(v) for v in value]
    return value


def template_failure(exc: Exception, key: str) -> MappingError:
    if isinstance(exc, SecurityError):
        return MappingError(f"template refused by the sandbox: {exc}", key=key)
    return MappingError(f"template error: {type(exc).__name__}: {exc}", key=key)


def _getter(segments: list[str]) -> Getter:
    """Resolve a dot-path in the record (``_meta.…`` in the run metadata); MISSING if absent."""
    if segments[0] == "_meta" and len(segments) > 1:
        rest = segments[1:]

        def get_meta(record: dict[str, Any], meta: Any) -> Any:
            source = meta if meta is not None else record.get("_meta", MISSING)
            return MISSING if source is MISSING else get_path(source, rest)

        return get_meta
    if len(segments) == 1:
        seg = segments[0]

        def get_one(record: dict[str, Any], meta: Any) -> Any:
            return record.get(seg, MISSING)

        return get_one
    first, rest = segments[0], segments[1:]

    def get_deep(record: dict[str, Any], meta: Any) -> Any:
        cur = record.get(first, MISSING)
        for seg in rest:
            t = type(cur)
            if t is dict:
                cur = cur.get(seg, MISSING)
                if cur is MISSING:
                    return MISSING
            elif t is list:
                try:
                    cur = cur[int(seg)] if seg.isdigit() else MISSING
                except IndexError:
                    return MISSING
            else:
                return MISSING
        return cur

    return get_deep


def _path_step(out_key: str, out_segs: list[str], segments: list[str], copy: bool) -> Step:
    get = _getter(segments)
    if len(out_segs) == 1 and not copy:
        target = out_segs[0]

        def step(record: dict[str, Any], meta: Any, out: dict[str, Any]) -> None:
            value = get(record, meta)
            if value is not MISSING:
                out[target] = value

        return step

    def step_nested(record: dict[str, Any], meta: Any, out: dict[str, Any]) -> None:
        value = get(record, meta)
        if value is not MISSING:
            set_path(out, out_segs, copy_json(value) if copy else value)

    return step_nested


def _template_step(out_key: str, out_segs: list[str], tmpl: CompiledTemplate, copy: bool) -> Step:
    evaluate = tmpl.evaluate
    single = out_segs[0] if len(out_segs) == 1 else None
    native = tmpl.native

    def step(record: dict[str, Any], meta: Any, out: dict[str, Any]) -> None:
        try:
            value = evaluate(record, meta)
        except MappingError as exc:
            raise MappingError(exc.message, key=exc.key or out_key) from exc
        except Exception as exc:
            raise template_failure(exc, out_key) from exc
        if native:
            if isinstance(value, Undefined):
                return
            if copy:
                value = copy_json(value)
        if single is not None:
            out[single] = value
        else:
            set_path(out, out_segs, value)

    return step


def _constant_step(out_segs: list[str], value: Any) -> Step:
    mutable = isinstance(value, (dict, list))

    def step(record: dict[str, Any], meta: Any, out: dict[str, Any]) -> None:
        set_path(out, out_segs, copy_json(value) if mutable else value)

    return step


def _related(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """One path is the other or lies inside it."""
    n = min(len(a), len(b))
    return a[:n] == b[:n]


class NativeMapping(CompiledMapping):
    dialect = "native"

    def __init__(
        self,
        name: str,
        version: str,
        steps: Step | None,
        casts: list[tuple[str, list[str], list[CastFn]]],
        unsets: list[list[str]],
        pass_through: bool,
        copy_roots: frozenset[str],
    ) -> None:
        self.name = name
        self.version = version
        self._steps = steps  # the entries, as one generated function
        self._casts = tuple(casts)
        self._unsets = tuple(unsets)
        self._pass_through = pass_through
        self._copy_roots = copy_roots

    def apply(self, record: dict[str, Any], meta: dict[str, Any] | None = None) -> dict[str, Any]:
        if type(record) is not dict and not isinstance(record, dict):
            raise MappingError(f"a record must be a JSON object, got {type(record).__name__}")
        if self._pass_through:
            out = dict(record)
            for root in self._copy_roots:
                if root in out:
                    out[root] = copy_json(out[root])
        else:
            out = {}
        if self._steps is not None:
            self._steps(record, meta, out)
        if not self._casts and not self._unsets:
            return out
        for key, segs, fns in self._casts:
            value = out.get(segs[0], MISSING) if len(segs) == 1 else get_path(out, segs)
            if value is MISSING:
                continue
            for fn in fns:
                value = fn(value, out, key)
                if value is REMOVE:
                    break
            if value is REMOVE:
                delete_path(out, segs)
            elif len(segs) == 1:
                out[segs[0]] = value
            else:
                set_path(out, segs, value)
        for segs in self._unsets:
            delete_path(out, segs)
        return out


def compile_native_mapping(name: str, config: MappingConfig) -> NativeMapping:
    problems: list[tuple[str, str]] = []
    env = shared_native_environment()

    out_paths = {key: split_path(key) for key in config.mapping}
    cast_paths = {key: split_path(key) for key in config.cast}
    unset_paths = [split_path(key) for key in config.unset]
    bad_path = "an output path needs non-empty segments (a.b.c)"

    # A value copied from the record must be copied deeply if another entry writes inside it,
    # or the write would change the input record.
    nested_writes = [tuple(s) for s in out_paths.values()] + [tuple(s) for s in cast_paths.values()]
    nested_writes += [tuple(s) for s in unset_paths]

    def written_inside(segs: list[str]) -> bool:
        t = tuple(segs)
        return any(len(w) > len(t) and w[: len(t)] == t for w in nested_writes)

    copy_roots = frozenset(w[0] for w in nested_writes if len(w) > 1)

    specs: list[Spec] = []
    for key, value in config.mapping.items():
        out_segs = out_paths[key]
        if any(s == "" for s in out_segs):
            problems.append((f"mapping.{key}", bad_path))
            continue
        copy = written_inside(out_segs)
        single = out_segs[0] if len(out_segs) == 1 and not copy else None
        if isinstance(value, str) and is_template(value):
            try:
                tmpl = compile_native(env, value)
            except TemplateSyntaxError as exc:
                problems.append((f"mapping.{key}", syntax_message(exc)))
                continue
            step = _template_step(key, out_segs, tmpl, copy)
            text = tmpl.interpolation
            specs.append(Text(text, single, step) if text and single is not None else Call(step))
        elif isinstance(value, str):
            segs = split_path(value) if value else []
            if not segs or any(s == "" for s in segs):
                problems.append(
                    (
                        f"mapping.{key}",
                        f"{value!r} is not a dot-path (use a template for text: \"{{{{ '…' }}}}\")",
                    )
                )
                continue
            if single is None or segs[0] == "_meta" or len(segs) > 2:
                specs.append(Call(_path_step(key, out_segs, segs, copy)))
            elif len(segs) == 1:
                specs.append(Field(segs[0], single))
            else:
                specs.append(Pair(segs[0], segs[1], single, _getter(segs)))
        else:
            specs.append(Call(_constant_step(out_segs, value)))

    casts: list[tuple[str, list[str], list[CastFn]]] = []
    for key, spec in config.cast.items():
        if any(s == "" for s in cast_paths[key]):
            problems.append((f"cast.{key}", bad_path))
            continue
        fns = compile_cast_list(key, spec, CASTS, problems)
        if fns:
            casts.append((key, cast_paths[key], fns))

    for i, segs in enumerate(unset_paths):
        if any(s == "" for s in segs):
            problems.append((f"unset.{i}", bad_path))

    if not config.pass_through:
        outputs = [tuple(s) for s in out_paths.values()]
        for key, segs in cast_paths.items():
            if not any(_related(tuple(segs), o) for o in outputs):
                problems.append((f"cast.{key}", f"{key!r} is not an output key of this mapping"))

    if problems:
        raise MappingConfigError(problems)
    version = content_hash(config.model_dump(mode="json"))
    steps = generate(specs) if specs else None
    return NativeMapping(name, version, steps, casts, unset_paths, config.pass_through, copy_roots)
