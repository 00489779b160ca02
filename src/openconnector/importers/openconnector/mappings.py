"""Mappings: the original's ``Mapping`` entity → a ``mappings.<name>`` block with ``dialect: openconnector``.

A mapping is carried over as it is — ``mapping``, ``unset``, ``cast`` and the pass-through flag —
because the ``openconnector`` dialect reproduces the original engine. Three things are adjusted,
each reported: sub-mapping references (``executeMapping(4, data)``) are rewritten from the
original's database ids to our mapping names; cast names the original does not know (and silently
ignored) are left out; and the flag's misspellings (``passTrough``, ``passthrough``), which the
original ignored, are read the way the original read them: as "off".
"""

from __future__ import annotations

import re
from typing import Any

from openconnector.config.humanize import suggest
from openconnector.importers.openconnector.context import Context, Imported, Ledger, is_empty, lit
from openconnector.importers.openconnector.naming import slugify
from openconnector.importers.openconnector.reading import Found

#: every cast ``MappingService::handleCast`` knows (``default: break`` ignores the rest)
CAST_NAMES = frozenset(
    {
        "string", "bool", "boolean", "?bool", "?boolean", "int", "integer", "float", "array", "date",
        "url", "urlDecode", "rawurl", "rawurlDecode", "html", "htmlDecode", "base64", "base64Decode",
        "json", "jsonToArray", "utf8", "nullStringToNull", "coordinateStringToArray", "keyCantBeValue",
        "unsetIfValue", "setNullIfValue", "countValue", "moneyStringToInt", "intToMoneyString",
    }
)  # fmt: skip
_CAST_PREFIXES = ("unsetIfValue==", "setNullIfValue==", "countValue:")
_EXECUTE = re.compile(
    r"""executeMapping\(\s*(?:(['"])(?P<quoted>[^'"]*)\1|(?P<bare>[A-Za-z0-9_.-]+))\s*(?=[,)])"""
)
_MISSPELT = ("passTrough", "passthrough", "PassThrough", "pass_through")


def known_cast(name: str) -> bool:
    return name in CAST_NAMES or name.startswith(_CAST_PREFIXES)


def convert_mapping(ctx: Context, item: Imported) -> None:
    found = item.found
    book = Ledger(ctx, found)
    book.skip("name", "slug")
    out: dict[str, Any] = {}
    description = book.take("description")
    if isinstance(description, str) and description.strip():
        out["description"] = lit(description)
    out["dialect"] = "openconnector"
    rules = book.take("mapping")
    if isinstance(rules, list):
        rules = {str(i): v for i, v in enumerate(rules)}
        ctx.add("changed", found, "mapping", "a list of rules: read as rules with output keys 0, 1, 2, …")
    out["mapping"] = {
        str(key): _references(ctx, item, f"mapping.{key}", lit(value)) for key, value in (rules or {}).items()
    }
    out["unset"] = _unset(ctx, found, book.take("unset"))
    out["cast"] = _casts(ctx, found, book.take("cast"))
    out["pass_through"] = _pass_through(ctx, found, book)
    if not out["unset"]:
        del out["unset"]
    if not out["cast"]:
        del out["cast"]
    book.close("not a mapping setting the importer knows; not carried over")
    ctx.mappings[item.name] = out


def _unset(ctx: Context, found: Found, value: Any) -> list[str]:
    if is_empty(value):
        return []
    if isinstance(value, str):
        ctx.add("note", found, "unset", "a single path: read as a list with that path")
        return [lit(value)]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [lit(str(v)) for v in value if isinstance(v, (str, int)) and not isinstance(v, bool)]
    ctx.add("dropped", found, "unset", "not a list of output paths; not carried over")
    return []


def _casts(ctx: Context, found: Found, value: Any) -> dict[str, Any]:
    """The cast block with the cast names the original does not know taken out (and reported)."""
    if is_empty(value):
        return {}
    if not isinstance(value, dict):
        ctx.add("dropped", found, "cast", "not an object of output path → cast; not carried over")
        return {}
    out: dict[str, Any] = {}
    for key, spec in value.items():
        parts = spec if isinstance(spec, list) else str(spec).split(",") if isinstance(spec, str) else None
        if parts is None:
            ctx.add(
                "dropped", found, f"cast.{key}", "not a cast name or list of cast names; not carried over"
            )
            continue
        keep = [p for p in parts if isinstance(p, str) and known_cast(p)]
        for bad in (p for p in parts if not (isinstance(p, str) and known_cast(p))):
            close = suggest(bad, sorted(CAST_NAMES)) if isinstance(bad, str) else None
            ctx.add(
                "dropped",
                found,
                f"cast.{key}",
                f"unknown cast {bad!r}: the original ignores a cast it does not know, so it was left out "
                "(the output is the same)"
                + (f"; did you mean {close!r}?" if close else "")
                + (
                    " — a comma splits cast names, so a cast argument cannot contain one"
                    if isinstance(spec, str) and "," in spec
                    else ""
                ),
                yaml=f"cast.{key}",
            )
        if not keep:
            continue
        out[str(key)] = lit(keep if isinstance(spec, list) else ",".join(keep))
    return out


def _pass_through(ctx: Context, found: Found, book: Ledger) -> bool:
    if "passThrough" in book.data:
        value = book.take("passThrough")
        for other in _MISSPELT:
            if other in book.data:
                book.take(other)
                ctx.add(
                    "note",
                    found,
                    other,
                    "ignored: passThrough is set as well (the original reads only passThrough)",
                )
        return bool(value) and value not in ("false", "0")
    for other in _MISSPELT:
        if other in book.data:
            value = book.take(other)
            on = bool(value) and value not in ("false", "0")
            ctx.add(
                "changed" if on else "note",
                found,
                other,
                f"the original does not know {other!r} (it reads only passThrough) and ignored it, so "
                "pass-through was off; imported as pass_through: false"
                + (" — set pass_through: true if that is what was meant" if on else ""),
                yaml="pass_through",
            )
            return False
    return False


def _references(ctx: Context, item: Imported, key: str, value: Any) -> Any:
    """``executeMapping(<id>, …)`` with the original's id replaced by our mapping's name."""
    if not isinstance(value, str) or "executeMapping" not in value:
        return value

    def repl(m: re.Match[str]) -> str:
        ref = m.group("quoted") if m.group("quoted") is not None else m.group("bare")
        if m.group("bare") is not None and not ref.isdigit():
            ctx.add(
                "changed",
                item.found,
                key,
                f"executeMapping({ref}, …) names its mapping with a variable; it is looked up by name at run "
                "time, so the variable must hold one of our mapping names",
            )
            return m.group(0)
        name = resolve_mapping(ctx, item.found, key, ref, "executeMapping")
        return f"executeMapping('{name}'"

    return _EXECUTE.sub(repl, value)


def resolve_mapping(ctx: Context, found: Found, key: str, ref: str, how: str) -> str:
    """Our name for the mapping the original referred to as ``ref``; a placeholder when it is not
    among the imported files (reported with the referencing file and the files that were searched)."""
    hits = ctx.index.find("mapping", ref)
    if len(hits) == 1:
        name = hits[0].name
        if name != ref:
            ctx.add(
                "note", found, key, f"{how} reference {ref!r} is mapping {name!r} ({hits[0].found.label})"
            )
        return name
    return placeholder_mapping(ctx, found, key, ref, hits)


def placeholder_mapping(ctx: Context, found: Found, key: str, ref: str, hits: list[Imported]) -> str:
    made = ctx.placeholders.setdefault("mappings", {})
    name = next((n for n, stood_for in made.items() if stood_for == ref), None)
    if name is None:
        name = ctx.names.take("mappings", f"mapping-{slugify(ref) or 'unknown'}")
        made[name] = ref
        ctx.mappings[name] = {
            "description": f"placeholder for the original's mapping {ref!r}, which is not among the imported "
            "files: replace it with that mapping (it passes records through unchanged until then)",
            "dialect": "openconnector",
            "mapping": {},
            "pass_through": True,
        }
    unresolved(
        ctx,
        "mapping",
        found,
        key,
        ref,
        hits,
        f"the placeholder mapping {name!r} stands in for it and passes records through unchanged",
        yaml=f"mappings.{name}",
    )
    return name


def unresolved(
    ctx: Context,
    kind: str,
    found: Found,
    key: str,
    ref: str,
    hits: list[Imported],
    stand_in: str = "",
    *,
    yaml: str = "",
) -> None:
    """Report a reference that did not resolve, naming the referencing file (the entry's file) and
    every file that was searched, and what stands in for it."""
    if hits:
        where = "; ".join(f"{h.found.label} ({h.name})" for h in hits)
        why = f"is ambiguous: it matches more than one imported {kind}: {where}"
    else:
        candidates = ctx.index.all(kind)
        if candidates:
            where = "; ".join(f"{c.found.label} ({c.name})" for c in candidates)
            why = f"matches none of the imported {kind}s by id, uuid, slug, reference or name: {where}"
        else:
            why = f"cannot be resolved: none of the imported files holds a {kind}"
    ctx.add(
        "unresolved",
        found,
        key,
        f"{kind} reference {ref!r} {why}. "
        + (f"Until then, {stand_in}. " if stand_in else "")
        + f"If it is one of them, import again with --id {kind}:{ref}=NAME",
        yaml=yaml,
    )
