"""The ``openconnector`` dialect: the original PHP engine's ``executeMapping``, reproduced.

Per record (``MappingService::executeMapping``): start from a copy of the input if passThrough;
for each mapping entry, a string naming an existing input path copies that value with its type,
a JSON array/object is copied literally, anything else is rendered as a Twig template over the
input (so a missing path comes out as its own text); then unset; then casts in order; a lone
``#`` key becomes the whole output. Deliberate differences are in
docs/mapping-openconnector-dialect.md.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, cast

from jinja2 import nodes
from jinja2.exceptions import TemplateSyntaxError

from openconnector.config.models import MappingConfig
from openconnector.jsonutil import MISSING, content_hash
from openconnector.mapping import php
from openconnector.mapping.casts import REMOVE, CastFn, compile_cast_list
from openconnector.mapping.compiled import CompiledMapping
from openconnector.mapping.errors import MappingConfigError, MappingError
from openconnector.mapping.native import copy_json, template_failure
from openconnector.mapping.openconnector.casts import CASTS
from openconnector.mapping.openconnector.dot import dot_delete, dot_get, dot_has, dot_set, listify, split_dot
from openconnector.mapping.openconnector.environment import UNSUPPORTED_FUNCTIONS, shared_twig_environment
from openconnector.mapping.openconnector.twig import FUNCTION_PREFIX, TwigSyntaxError, translate
from openconnector.mapping.templates import CompiledTemplate, compile_template_ast

Resolver = Callable[[str], MappingConfig | None]
Step = Callable[[dict[str, Any], Any, dict[str, Any]], None]

MAX_DEPTH = 16
EXECUTE_MAPPING = FUNCTION_PREFIX + "executeMapping"
_CONTAINERS = (dict, list)
_depth = threading.local()


def _lookup(segments: list[str]) -> Callable[[dict[str, Any], Any], Any]:
    """``Dot::has``/``get`` on the input: the value at the path (null and false count), or MISSING."""
    if segments[0] == "_meta" and len(segments) > 1:
        rest = segments[1:]

        def get_meta(record: dict[str, Any], meta: Any) -> Any:
            source = meta if meta is not None else record.get("_meta", MISSING)
            return _walk(source, rest) if source is not MISSING else MISSING

        return get_meta
    if len(segments) == 1:
        seg = segments[0]

        def get_one(record: dict[str, Any], meta: Any) -> Any:
            return record.get(seg, MISSING)

        return get_one

    def get_deep(record: dict[str, Any], meta: Any) -> Any:
        return _walk(record, segments)

    return get_deep


def _walk(cur: Any, segments: list[str]) -> Any:
    for seg in segments:
        t = type(cur)
        if t is dict:
            cur = cur.get(seg, MISSING)
            if cur is MISSING:
                return MISSING
        elif t is list:
            if not seg.isdigit() or (seg[0] == "0" and seg != "0"):
                return MISSING
            i = int(seg)
            if i >= len(cur):
                return MISSING
            cur = cur[i]
        else:
            return MISSING
    return cur


class SubMappings:
    """``executeMapping(id, data, list)`` inside templates: other mappings, compiled once each.

    Templates can reach this object, so everything but ``__call__`` is private (the sandbox refuses
    underscore names).
    """

    def __init__(self, owner: str, resolver: Resolver | None, compiling: tuple[str, ...]) -> None:
        self._owner = owner
        self._resolver = resolver
        self._compiling = compiling
        self._compiled: dict[str, CompiledMapping] = {}

    def _resolve(self, ident: str) -> CompiledMapping:
        """Compile a referenced mapping (raises MappingConfigError / LookupError)."""
        found = self._compiled.get(ident)
        if found is not None:
            return found
        if self._resolver is None:
            raise LookupError(
                f"executeMapping({ident!r}) needs other mappings, but this mapping was compiled without "
                "a resolver (run it from a project so mappings can find each other)"
            )
        config = self._resolver(ident)
        if config is None:
            raise LookupError(f"executeMapping({ident!r}): no mapping named {ident!r}")
        from openconnector.mapping import compile_mapping

        if config.dialect == "openconnector":
            compiled: CompiledMapping = compile_openconnector_mapping(
                ident, config, resolver=self._resolver, _compiling=(*self._compiling, ident)
            )
        else:
            compiled = compile_mapping(ident, config, resolver=self._resolver)
        self._compiled[ident] = compiled
        return compiled

    def __call__(self, mapping: Any, data: Any = None, *args: Any, **kwargs: Any) -> Any:
        as_list = args[0] if args else kwargs.get("list", False)
        if isinstance(mapping, dict):
            compiled = self._inline(mapping)
        elif isinstance(mapping, (str, int)) and not isinstance(mapping, bool):
            try:
                compiled = self._resolve(str(mapping))
            except LookupError as exc:
                raise MappingError(str(exc)) from None
            except MappingConfigError as exc:
                raise MappingError(
                    f"executeMapping({mapping!r}): the mapping does not compile: {exc}"
                ) from None
        else:
            kind = php.php_type(mapping)
            raise TypeError(
                f"executeMapping(): Argument #1 ($mapping) must be an id or a mapping, {kind} given"
            )
        if not isinstance(data, (dict, list)):
            raise TypeError(
                f"executeMapping(): Argument #2 ($input) must be of type array, {php.php_type(data)} given"
            )
        depth = getattr(_depth, "n", 0)
        if depth >= MAX_DEPTH:
            raise MappingError(
                f"executeMapping nested more than {MAX_DEPTH} deep (does a mapping call itself?)"
            )
        _depth.n = depth + 1
        try:
            if php.truthy(as_list):
                return compiled.apply_list(data)
            if not isinstance(data, dict):
                data = {str(i): v for i, v in enumerate(data)}
            return compiled.apply(data)
        finally:
            _depth.n = depth

    def _inline(self, mapping: dict[str, Any]) -> CompiledMapping:
        ident = "inline:" + content_hash(mapping)
        found = self._compiled.get(ident)
        if found is None:
            fields = {k: mapping[k] for k in ("mapping", "cast", "unset", "passThrough") if k in mapping}
            try:
                config = MappingConfig(dialect="openconnector", **fields)
                found = compile_openconnector_mapping(ident, config, resolver=self._resolver)
            except (MappingConfigError, ValueError) as exc:
                raise MappingError(f"executeMapping(inline mapping): {exc}") from None
            self._compiled[ident] = found
        return found


class OpenConnectorMapping(CompiledMapping):
    dialect = "openconnector"

    def __init__(
        self,
        name: str,
        version: str,
        steps: list[Step],
        unsets: list[list[str]],
        casts: list[tuple[str, list[str], list[CastFn]]],
        pass_through: bool,
        list_paths: list[list[str]],
    ) -> None:
        self.name = name
        self.version = version
        self._steps = tuple(steps)
        self._unsets = tuple(unsets)
        self._casts = tuple(casts)
        self._pass_through = pass_through
        self._list_paths = tuple(list_paths)

    def apply(self, record: dict[str, Any], meta: dict[str, Any] | None = None) -> dict[str, Any]:
        if not isinstance(record, dict):
            raise MappingError(f"a record must be a JSON object, got {type(record).__name__}")
        out: dict[str, Any] = copy_json(record) if self._pass_through else {}
        for step in self._steps:
            step(record, meta, out)
        for segs in self._unsets:
            if dot_has(out, segs):
                dot_delete(out, segs)
        for key, segs, fns in self._casts:
            if len(segs) == 1:  # the common case, without the path walk
                top = segs[0]
                if top not in out:
                    continue
                for fn in fns:
                    value = fn(out.get(top), out, key)
                    if value is REMOVE:
                        out.pop(top, None)
                    elif top in out:
                        out[top] = value
                continue
            if not dot_has(out, segs):
                continue
            for fn in fns:
                value = fn(dot_get(out, segs), out, key)
                if value is REMOVE:
                    dot_delete(out, segs)
                elif dot_has(out, segs):
                    dot_set(out, segs, value)
        for segs in self._list_paths:
            listify(out, segs)
        if len(out) == 1 and "#" in out:
            root = out["#"]
            if root is None:
                return {}
            # The original returns any PHP array here, so a '#' root may be a list.
            return cast(dict[str, Any], root if isinstance(root, (dict, list)) else [root])
        return out

    def apply_list(self, records: Any) -> Any:
        """The original's list mode: map every item; a ``listInput`` key lists the items and the
        other top-level keys are merged into each (plus ``value``: the item itself)."""
        extra: dict[str, Any] = {}
        items = records
        if isinstance(records, dict) and "listInput" in records:
            extra = {k: v for k, v in records.items() if k not in ("listInput", "value")}
            items = records["listInput"]
        if isinstance(items, list):
            pairs: list[tuple[Any, Any]] = list(enumerate(items))
        elif isinstance(items, dict):
            pairs = list(items.items())
        else:
            raise MappingError(f"list mode needs a list (or listInput), got {php.php_type(items)}")
        result: dict[Any, Any] = {}
        for key, item in pairs:
            if not isinstance(item, dict) or extra:
                base = item if isinstance(item, dict) else _php_array(item)
                item = {**base, "value": item, **extra}
            try:
                result[key] = self.apply(item)
            except MappingError as exc:
                raise MappingError(f"item {key}: {exc.message}", key=exc.key) from exc
        return list(result.values()) if isinstance(items, list) else result


def _php_array(value: Any) -> dict[str, Any]:
    """``(array) $value`` as an object with string keys."""
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(value)}
    if value is None:
        return {}
    return {"0": value}


def _template_step(
    key: str,
    out_segs: list[str],
    lookup: Callable[[dict[str, Any], Any], Any] | None,
    render: CompiledTemplate,
) -> Step:
    evaluate = render.evaluate

    def step(record: dict[str, Any], meta: Any, out: dict[str, Any]) -> None:
        value = lookup(record, meta) if lookup is not None else MISSING
        if value is not MISSING:
            dot_set(out, out_segs, copy_json(value) if type(value) in _CONTAINERS else value)
            return
        try:
            text = evaluate(record, meta)
        except MappingError as exc:
            raise MappingError(exc.message, key=exc.key or key) from exc
        except Exception as exc:
            raise template_failure(exc, key) from exc
        dot_set(out, out_segs, text)

    return step


def _text_step(out_segs: list[str], lookup: Callable[[dict[str, Any], Any], Any] | None, text: str) -> Step:
    single = out_segs[0] if len(out_segs) == 1 else None

    def step(record: dict[str, Any], meta: Any, out: dict[str, Any]) -> None:
        value = lookup(record, meta) if lookup is not None else MISSING
        if value is MISSING:
            value = text
        elif type(value) in _CONTAINERS:
            value = copy_json(value)
        if single is not None:
            out[single] = value
        else:
            dot_set(out, out_segs, value)

    return step


def _literal_step(out_segs: list[str], value: Any) -> Step:
    def step(record: dict[str, Any], meta: Any, out: dict[str, Any]) -> None:
        dot_set(out, out_segs, copy_json(value))

    return step


def _is_twig(text: str) -> bool:
    return "{{" in text or "{%" in text or "{#" in text


def compile_twig(
    source: str, subs: SubMappings, problems: list[tuple[str, str]], where: str
) -> tuple[CompiledTemplate | None, list[str]]:
    """Compile one Twig template; returns it and the constant ids it passes to executeMapping."""
    env = shared_twig_environment()
    try:
        ast = env.parse(translate(source))
    except (TwigSyntaxError, TemplateSyntaxError) as exc:
        problems.append((where, f"Twig syntax error: {exc.message} (line {exc.lineno}) in {source!r}"))
        return None, []
    ids: list[str] = []
    for call in ast.find_all(nodes.Call):
        if not isinstance(call.node, nodes.Name):
            continue
        name = call.node.name
        if name in UNSUPPORTED_FUNCTIONS:
            problems.append((where, f"{name}() is not supported: {UNSUPPORTED_FUNCTIONS[name]}"))
        elif name == EXECUTE_MAPPING and call.args and isinstance(call.args[0], nodes.Const):
            arg = call.args[0].value
            if isinstance(arg, (int, str)) and not isinstance(arg, bool):
                ids.append(str(arg))
    try:
        compiled = compile_template_ast(env, ast, source, fixed={EXECUTE_MAPPING: subs})
    except TemplateSyntaxError as exc:
        problems.append((where, f"Twig syntax error: {exc.message} (line {exc.lineno}) in {source!r}"))
        return None, []
    return compiled, ids


def compile_openconnector_mapping(
    name: str,
    config: MappingConfig,
    *,
    resolver: Resolver | None = None,
    _compiling: tuple[str, ...] = (),
) -> OpenConnectorMapping:
    problems: list[tuple[str, str]] = []
    compiling = _compiling or (name,)
    subs = SubMappings(name, resolver, compiling)
    steps: list[Step] = []
    list_paths: dict[tuple[str, ...], list[str]] = {}
    referenced: list[tuple[str, str]] = []

    for key, value in config.mapping.items():
        out_segs = split_dot(key)
        for depth in range(1, len(out_segs)):
            seg = out_segs[depth]
            if seg.isdigit() and (seg == "0" or seg[0] != "0"):
                list_paths[tuple(out_segs[:depth])] = out_segs[:depth]
        if isinstance(value, (list, dict)):
            steps.append(_literal_step(out_segs, value))
            continue
        if value is None:
            problems.append(
                (f"mapping.{key}", "null is not a mapping value (the original throws a TypeError on it)")
            )
            continue
        text = value if isinstance(value, str) else php.to_str(value)
        lookup = _lookup(split_dot(text)) if text else None
        if _is_twig(text):
            compiled, ids = compile_twig(text, subs, problems, f"mapping.{key}")
            if compiled is not None:
                steps.append(_template_step(key, out_segs, lookup, compiled))
                referenced.extend((f"mapping.{key}", i) for i in ids)
        else:
            steps.append(_text_step(out_segs, lookup, php.html_entity_decode(text)))

    casts: list[tuple[str, list[str], list[CastFn]]] = []
    for key, spec in config.cast.items():
        fns = compile_cast_list(key, spec, CASTS, problems)
        if fns:
            casts.append((key, split_dot(key), fns))

    sub_versions: dict[str, str] = {}
    if resolver is not None:
        for where, ident in referenced:
            if ident in compiling:
                continue  # a mapping calling itself (or a cycle): compiled lazily, depth-limited
            try:
                sub_versions[ident] = subs._resolve(ident).version
            except LookupError as exc:
                problems.append((where, str(exc)))
            except MappingConfigError as exc:
                problems.extend((where, f"executeMapping({ident!r}): {p}: {m}") for p, m in exc.problems)

    if problems:
        raise MappingConfigError(problems)
    canonical = config.model_dump(mode="json")
    version = content_hash({"mapping": canonical, "sub": sub_versions} if sub_versions else canonical)
    ordered_lists = sorted(list_paths.values(), key=len, reverse=True)
    unsets = [split_dot(u) for u in config.unset]
    return OpenConnectorMapping(name, version, steps, unsets, casts, config.pass_through, ordered_lists)
