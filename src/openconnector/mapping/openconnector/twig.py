"""Translate Twig template source into Jinja2 source with the same meaning.

Jinja2 and Twig share delimiters and most syntax; what differs is rewritten here, at compile time,
so rendering runs compiled Jinja2 code in the sandbox:

* whitespace control (``-``/``~`` modifiers, Twig eating the newline after ``%}``/``#}``);
* the original ``html_entity_decode``s the rendered text: literal text is decoded here, once;
* ``elseif`` → ``elif``; ``apply``/``spaceless``/``verbatim``/``do``/``autoescape`` tags;
* ``null``/``NULL``/``TRUE``…; unquoted hash keys (``{a: 1}`` is ``{'a': 1}``);
* ``a ? b : c``, ``a ?: b``, ``a ?? b``, ``a..b``, ``b-and``/``b-or``/``b-xor``, ``starts with``,
  ``ends with``, ``matches``,
  ``same as``, ``divisible by``; ``"#{interpolation}"``; Twig string escapes; ``x[a:n]`` slices;
* ``for`` over an object walks its values (``for k, v`` its entries), as in Twig;
* a variable ``set`` inside a ``for`` loop keeps its value across iterations and after the loop
  (Twig's scoping) — such variables live in a Jinja ``namespace``.

What cannot be expressed (arrow functions, ``include``/``extends``/``macro``…) is a
:class:`TwigSyntaxError` naming the construct, reported when the mapping is compiled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from openconnector.mapping.php import html_entity_decode

NS = "oc_ns"
FUNCTION_PREFIX = "oc_fn_"
FUNCTION_NAMES = frozenset(
    {
        *("range", "max", "min", "random", "attribute"),
        *("constant", "date", "cycle", "generateUuid", "executeMapping"),
    }
)
"""Twig functions: calls become ``oc_fn_<name>(…)`` so a variable of the same name does not hide them."""

# --- segments ------------------------------------------------------------------------------------


class TwigSyntaxError(Exception):
    def __init__(self, message: str, lineno: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.lineno = lineno


@dataclass
class Segment:
    kind: str  # text | print | block | comment | verbatim
    text: str
    lineno: int
    open_mod: str = ""
    close_mod: str = ""


_TAG_START = re.compile(r"\{([{%#])([-~]?)")
_VERBATIM_END = re.compile(r"\{%([-~]?)\s*end(?:verbatim|raw)\s*([-~]?)%\}")
_LINE_WS = " \t\0\x0b"


def _line(source: str, pos: int) -> int:
    return source.count("\n", 0, pos) + 1


def _skip_string(source: str, i: int) -> int:
    """Index just past the string literal starting at ``source[i]`` (a quote)."""
    quote = source[i]
    j = i + 1
    n = len(source)
    while j < n:
        c = source[j]
        if c == "\\":
            j += 2
            continue
        if c == quote:
            return j + 1
        if quote == '"' and source.startswith("#{", j):
            j = _skip_code(source, j + 2, "}") + 1
            continue
        j += 1
    raise TwigSyntaxError("unclosed string", _line(source, i))


def _skip_code(source: str, i: int, closer: str) -> int:
    """Index of ``closer`` at bracket depth 0 (strings skipped), or of the modifier before it."""
    depth = 0
    n = len(source)
    start = i
    while i < n:
        c = source[i]
        if depth == 0:
            if source.startswith(closer, i):
                return i
            if c in "-~" and source.startswith(closer, i + 1) and closer != "}":
                return i
        if c in "'\"":
            i = _skip_string(source, i)
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}" and depth > 0:
            depth -= 1
        i += 1
    what = {"}}": "variable", "%}": "block", "}": "interpolation"}[closer]
    raise TwigSyntaxError(f"unclosed {what} ('{closer}' expected)", _line(source, start))


def lex(source: str) -> list[Segment]:
    """Split a template into text and tags, the way Twig's lexer does."""
    segments: list[Segment] = []
    pos = 0
    n = len(source)
    while pos < n:
        m = _TAG_START.search(source, pos)
        if m is None:
            segments.append(Segment("text", source[pos:], _line(source, pos)))
            break
        if m.start() > pos:
            segments.append(Segment("text", source[pos : m.start()], _line(source, pos)))
        kind, open_mod = m.group(1), m.group(2)
        start = m.end()
        lineno = _line(source, m.start())
        if kind == "#":
            end = source.find("#}", start)
            if end < 0:
                raise TwigSyntaxError("unclosed comment", lineno)
            close_mod = source[end - 1] if end > start and source[end - 1] in "-~" else ""
            segments.append(Segment("comment", "", lineno, open_mod, close_mod))
            pos = end + 2
            if not close_mod and source.startswith("\n", pos):
                pos += 1
            continue
        closer = "}}" if kind == "{" else "%}"
        end = _skip_code(source, start, closer)
        close_mod = ""
        code_end = end
        if source[end] in "-~":
            close_mod = source[end]
            end += 1
        code = source[start:code_end]
        pos = end + 2
        if kind == "{":
            segments.append(Segment("print", code, lineno, open_mod, close_mod))
            continue
        if not close_mod and source.startswith("\n", pos):
            pos += 1
        tag = code.strip()
        if tag in ("verbatim", "raw"):
            em = _VERBATIM_END.search(source, pos)
            if em is None:
                raise TwigSyntaxError(f"unclosed {tag} block (end{tag} expected)", lineno)
            segments.append(Segment("verbatim", source[pos : em.start()], lineno, open_mod, em.group(1)))
            pos = em.end()
            if em.group(2):
                segments.append(Segment("text", "", lineno, "", em.group(2)))
            elif source.startswith("\n", pos):
                pos += 1
            continue
        segments.append(Segment("block", code, lineno, open_mod, close_mod))
    _apply_whitespace_control(segments)
    return segments


def _apply_whitespace_control(segments: list[Segment]) -> None:
    for i, seg in enumerate(segments):
        if seg.kind == "text":
            continue
        if seg.open_mod and i > 0 and segments[i - 1].kind == "text":
            prev = segments[i - 1]
            prev.text = prev.text.rstrip() if seg.open_mod == "-" else prev.text.rstrip(_LINE_WS)
        if seg.close_mod and i + 1 < len(segments) and segments[i + 1].kind == "text":
            nxt = segments[i + 1]
            nxt.text = nxt.text.lstrip() if seg.close_mod == "-" else nxt.text.lstrip(_LINE_WS)


# --- expression tokens ---------------------------------------------------------------------------


@dataclass
class Tok:
    kind: str  # ws | name | num | str | op
    text: str
    parts: list[str | list[Node]] | None = None  # a string's literal text and interpolations


@dataclass
class Group:
    open: str
    items: list[Node] = field(default_factory=list)


@dataclass
class Raw:
    """Already-translated Jinja code that acts as one operand."""

    text: str


Node = Tok | Group | Raw

_CLOSE = {"(": ")", "[": "]", "{": "}"}
_TOKEN_RE = re.compile(
    r"(?P<ws>\s+)"
    r"|(?P<num>\d[\d_]*(?:\.\d[\d_]*)?(?:[eE][+-]?\d+)?)"
    r"|(?P<bitop>b-(?:and|or|xor)\b)"
    r"|(?P<name>[A-Za-z_\x7f-\uffff][A-Za-z0-9_\x7f-\uffff]*)"
    r"|(?P<op>\.\.\.|\?\?|\?:|\.\.|===|!==|==|!=|<=>|<=|>=|//|\*\*|=>|[-+*/%~<>=!?:.,|()\[\]{}])"
)
_CSLASH = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "v": "\v", "b": "\b", "f": "\f"}
_CSLASH_RE = re.compile(r"\\(x[0-9A-Fa-f]{1,2}|[0-7]{1,3}|.)", re.S)


def stripcslashes(text: str) -> str:
    """PHP ``stripcslashes`` (Twig unescapes every string literal with it)."""

    def repl(m: re.Match[str]) -> str:
        s = m.group(1)
        if s in _CSLASH:
            return _CSLASH[s]
        if s[0] == "x" and len(s) > 1:
            return chr(int(s[1:], 16))
        if s[0] in "01234567":
            return chr(int(s, 8) & 0xFF)
        return s

    return _CSLASH_RE.sub(repl, text)


def tokenize(code: str, lineno: int = 1) -> list[Node]:
    """Tokens of a Twig expression, brackets nested into groups."""
    root = Group("")
    stack = [root]
    i = 0
    n = len(code)
    while i < n:
        c = code[i]
        if c == "'":
            end = _skip_string(code, i)
            stack[-1].items.append(Tok("str", code[i:end], [stripcslashes(code[i + 1 : end - 1])]))
            i = end
            continue
        if c == '"':
            end = _skip_string(code, i)
            stack[-1].items.append(
                Tok("str", code[i:end], _interpolation_parts(code[i + 1 : end - 1], lineno))
            )
            i = end
            continue
        m = _TOKEN_RE.match(code, i)
        if m is None:
            raise TwigSyntaxError(f"unexpected character {c!r}", lineno)
        kind = m.lastgroup or "op"
        if kind == "bitop":
            kind = "op"
        text = m.group(0)
        i = m.end()
        if kind == "op" and text in _CLOSE:
            group = Group(text)
            stack[-1].items.append(group)
            stack.append(group)
            continue
        if kind == "op" and text in ")]}":
            if len(stack) == 1 or _CLOSE[stack[-1].open] != text:
                raise TwigSyntaxError(f"unexpected {text!r}", lineno)
            stack.pop()
            continue
        stack[-1].items.append(Tok(kind, text))
    if len(stack) > 1:
        raise TwigSyntaxError(f"unclosed {stack[-1].open!r}", lineno)
    return root.items


def _interpolation_parts(body: str, lineno: int) -> list[str | list[Node]]:
    parts: list[str | list[Node]] = []
    buf: list[str] = []
    i = 0
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body):
            buf.append(body[i : i + 2])
            i += 2
            continue
        if body.startswith("#{", i):
            end = _skip_code(body, i + 2, "}")
            if buf:
                parts.append(stripcslashes("".join(buf)))
                buf = []
            parts.append(tokenize(body[i + 2 : end], lineno))
            i = end + 1
            continue
        buf.append(body[i])
        i += 1
    if buf or not parts:
        parts.append(stripcslashes("".join(buf)))
    return parts


# --- expression translation ----------------------------------------------------------------------

_WORD_OPS = frozenset({"and", "or", "not", "in", "is", "if", "else", "matches", "starts", "ends", "b"})
_CONSTANTS = {"null": "none", "none": "none", "true": "true", "false": "false"}


def _is_op(node: Node | None, *ops: str) -> bool:
    return isinstance(node, Tok) and node.kind == "op" and node.text in ops


def _is_name(node: Node | None, *names: str) -> bool:
    return isinstance(node, Tok) and node.kind == "name" and (not names or node.text in names)


def _operand_end(node: Node | None) -> bool:
    """Can ``node`` end an operand (so a following ``(``/``[`` is a call or subscript)?"""
    if isinstance(node, (Group, Raw)):
        return True
    if isinstance(node, Tok):
        if node.kind in ("num", "str"):
            return True
        if node.kind == "name":
            return node.text not in _WORD_OPS
    return False


def _strip(items: list[Node]) -> list[Node]:
    start, end = 0, len(items)
    while start < end and _blank(items[start]):
        start += 1
    while end > start and _blank(items[end - 1]):
        end -= 1
    return items[start:end]


def _blank(node: Node) -> bool:
    return isinstance(node, Tok) and node.kind == "ws"


def _text(node: Node) -> str:
    """The source text of a token (for messages and names)."""
    return node.text if isinstance(node, (Tok, Raw)) else node.open


def _split(items: list[Node], sep: str = ",") -> list[list[Node]]:
    out: list[list[Node]] = [[]]
    for node in items:
        if _is_op(node, sep):
            out.append([])
        else:
            out[-1].append(node)
    return out


def _prev(items: list[Node], i: int) -> int | None:
    i -= 1
    while i >= 0:
        node = items[i]
        if not (isinstance(node, Tok) and node.kind == "ws"):
            return i
        i -= 1
    return None


def _next(items: list[Node], i: int) -> int | None:
    i += 1
    while i < len(items):
        node = items[i]
        if not (isinstance(node, Tok) and node.kind == "ws"):
            return i
        i += 1
    return None


class Translator:
    """Translate one template's expressions; ``promoted`` names live in the loop namespace."""

    def __init__(self, promoted: frozenset[str] = frozenset(), lineno: int = 1) -> None:
        self.promoted = promoted
        self.lineno = lineno

    def fail(self, message: str) -> TwigSyntaxError:
        return TwigSyntaxError(message, self.lineno)

    # expressions

    def expr(self, items: list[Node]) -> str:
        items = _strip(items)
        if not items:
            raise self.fail("expected an expression")
        q = next((i for i, n in enumerate(items) if _is_op(n, "?", "?:")), None)
        if q is not None:
            cond = self.expr(items[:q])
            if _is_op(items[q], "?:"):
                return f"(({cond}) if ({cond}) else ({self.expr(items[q + 1 :])}))"
            colon = self._matching_colon(items, q)
            if colon is None:
                return f"(({self.expr(items[q + 1 :])}) if ({cond}) else (''))"
            then = self.expr(items[q + 1 : colon])
            return f"(({then}) if ({cond}) else ({self.expr(items[colon + 1 :])}))"
        items = self._merge_words(items)
        for op, func in (("b-and", "oc_band"), ("b-xor", "oc_bxor"), ("b-or", "oc_bor")):
            items = self._fold(items, op, func)
        items = self._fold(items, "??", "oc_coalesce")
        items = self._fold(items, "..", "oc_range")
        return self._emit(items)

    @staticmethod
    def _matching_colon(items: list[Node], q: int) -> int | None:
        depth = 0
        for k in range(q + 1, len(items)):
            if _is_op(items[k], "?"):
                depth += 1
            elif _is_op(items[k], ":"):
                if depth == 0:
                    return k
                depth -= 1
        return None

    def _merge_words(self, items: list[Node]) -> list[Node]:
        """Twig's two-word operators and tests as single Jinja tokens."""
        out: list[Node] = []
        prev: Node | None = None  # the last non-blank node written to ``out``
        i = 0
        while i < len(items):
            node = items[i]
            j = _next(items, i)
            nxt = items[j] if j is not None else None
            merged: Raw | None = None
            if isinstance(node, Tok) and node.kind == "name" and not _is_op(prev, ".", "|"):
                if node.text in ("starts", "ends") and _is_name(nxt, "with"):
                    merged = Raw(f" is oc_{node.text}_with ")
                elif node.text == "matches" and _operand_end(prev):
                    merged, j = Raw(" is oc_matches "), i
                elif node.text == "same" and _is_name(nxt, "as"):
                    merged = Raw("sameas")
                elif node.text == "divisible" and _is_name(nxt, "by"):
                    merged = Raw("divisibleby")
                elif node.text == "has" and _is_name(nxt, "some", "every"):
                    raise self.fail("'has some'/'has every' (arrow functions) are not supported")
            if merged is not None and j is not None:
                out.append(merged)
                prev = merged
                i = j + 1
                continue
            out.append(node)
            if not (isinstance(node, Tok) and node.kind == "ws"):
                prev = node
            i += 1
        return out

    def _fold(self, items: list[Node], op: str, func: str) -> list[Node]:
        while True:
            k = next((i for i, n in enumerate(items) if _is_op(n, op)), None)
            if k is None:
                return items
            start = self._operand_start(items, k)
            end = self._operand_stop(items, k)
            left = self.expr(items[start:k])
            right = self.expr(items[k + 1 : end])
            items = [*items[:start], Raw(f"{func}(({left}), ({right}))"), *items[end:]]

    def _operand_start(self, items: list[Node], k: int) -> int:
        j = _prev(items, k)
        if j is None or not _operand_end(items[j]):
            raise self.fail(f"missing left operand for {_text(items[k])!r}")
        while True:
            p = _prev(items, j)
            if p is not None and _is_op(items[p], ".", "|"):
                q = _prev(items, p)
                if q is None:
                    raise self.fail("expression starts with '.' or '|'")
                j = q
                continue
            node = items[j]
            if isinstance(node, Group) and node.open in "([" and p is not None and _operand_end(items[p]):
                j = p
                continue
            return j

    def _operand_stop(self, items: list[Node], k: int) -> int:
        j = _next(items, k)
        if j is None:
            raise self.fail(f"missing right operand for {_text(items[k])!r}")
        while _is_op(items[j], "-", "+") or _is_name(items[j], "not"):
            nj = _next(items, j)
            if nj is None:
                raise self.fail("missing operand")
            j = nj
        if not _operand_end(items[j]):
            raise self.fail(f"missing right operand for {_text(items[k])!r}")
        end = j + 1
        while True:
            n = _next(items, end - 1)
            if n is None:
                return end
            node = items[n]
            if _is_op(node, "."):
                a = _next(items, n)
                if a is None:
                    raise self.fail("expected an attribute after '.'")
                end = a + 1
                continue
            if _is_op(node, "|"):
                f = _next(items, n)
                if f is None or not _is_name(items[f]):
                    raise self.fail("expected a filter name after '|'")
                end = f + 1
                g = _next(items, f)
                after = items[g] if g is not None else None
                if g is not None and isinstance(after, Group) and after.open == "(":
                    end = g + 1
                continue
            if isinstance(node, Group) and node.open in "([":
                end = n + 1
                continue
            return end

    def _emit(self, items: list[Node]) -> str:
        out: list[str] = []
        prev: Node | None = None
        before_prev: Node | None = None
        for i, node in enumerate(items):
            if isinstance(node, Tok) and node.kind == "ws":
                out.append(" ")
                continue
            if isinstance(node, Raw):
                out.append(node.text)
            elif isinstance(node, Group):
                out.append(self._group(node, prev))
            elif node.kind == "name":
                j = _next(items, i)
                out.append(self._name(node.text, prev, before_prev, items[j] if j is not None else None))
            elif node.kind == "num":
                out.append(node.text.replace("_", ""))
            elif node.kind == "str":
                out.append(self._string(node))
            else:
                out.append(self._op(node.text))
            before_prev, prev = prev, node
        return "".join(out)

    def _op(self, op: str) -> str:
        if op in ("?", ":", "??", "..", "?:", "b-and", "b-or", "b-xor"):
            raise self.fail(f"unexpected {op!r}")
        if op == "=>":
            raise self.fail("arrow functions (=>) are not supported")
        if op == "...":
            raise self.fail("the spread operator (...) is not supported")
        if op in ("<=>", "===", "!==", "!"):
            raise self.fail(f"the {op!r} operator is not Twig")
        return op

    def _name(self, name: str, prev: Node | None, before_prev: Node | None, nxt: Node | None) -> str:
        if _is_op(prev, ".", "|"):
            return name  # attribute or filter name
        in_test = _is_name(prev, "is") or (_is_name(prev, "not") and _is_name(before_prev, "is"))
        lowered = name.lower()
        if in_test:
            return "null" if lowered in ("null", "none") else name
        if lowered in _CONSTANTS:
            return _CONSTANTS[lowered]
        called = isinstance(nxt, Group) and nxt.open == "("
        if called and name in FUNCTION_NAMES:
            return FUNCTION_PREFIX + name
        if name in self.promoted and not called:
            return f"{NS}.{name}"
        return name

    def _string(self, tok: Tok) -> str:
        parts = tok.parts or [""]
        if len(parts) == 1 and isinstance(parts[0], str):
            return repr(parts[0])
        pieces = [repr(p) if isinstance(p, str) else f"({self.expr(p)})" for p in parts if p != ""]
        return "(" + " ~ ".join(pieces) + ")"

    def _group(self, group: Group, prev: Node | None) -> str:
        if group.open == "(":
            if _operand_end(prev):
                return "(" + ", ".join(self._argument(a) for a in _split(group.items) if _strip(a)) + ")"
            return "(" + self.expr(group.items) + ")"
        if group.open == "[":
            if _operand_end(prev):
                return self._subscript(group)
            return "[" + ", ".join(self.expr(e) for e in _split(group.items) if _strip(e)) + "]"
        return "{" + ", ".join(self._hash_entry(e) for e in _split(group.items) if _strip(e)) + "}"

    def _argument(self, items: list[Node]) -> str:
        items = _strip(items)
        if len(items) > 2 and _is_name(items[0]):
            j = _next(items, 0)
            if j is not None and _is_op(items[j], "=", ":"):
                return f"{_text(items[0])}={self.expr(items[j + 1 :])}"
        return self.expr(items)

    def _subscript(self, group: Group) -> str:
        colon = next((i for i, n in enumerate(group.items) if _is_op(n, ":")), None)
        if colon is None:
            return "[" + self.expr(group.items) + "]"
        start_items = _strip(group.items[:colon])
        length_items = _strip(group.items[colon + 1 :])
        start = self.expr(start_items) if start_items else "0"
        if not length_items:
            return f"[{start}:]"
        return f"[{start}:oc_slice_stop(({start}), ({self.expr(length_items)}))]"

    def _hash_entry(self, items: list[Node]) -> str:
        items = _strip(items)
        colon = next((i for i, n in enumerate(items) if _is_op(n, ":")), None)
        if colon is None:
            if len(items) == 1 and _is_name(items[0]):
                name = _text(items[0])
                return f"{name!r}: {self._name(name, None, None, None)}"
            raise self.fail("a hash entry needs 'key: value'")
        key_items = _strip(items[:colon])
        value = self.expr(items[colon + 1 :])
        if len(key_items) == 1:
            key = key_items[0]
            if isinstance(key, Tok) and key.kind == "name":
                return f"{key.text!r}: {value}"
            if isinstance(key, Tok) and key.kind == "num":
                return f"{key.text.replace('_', '')!r}: {value}"
            if isinstance(key, Tok) and key.kind == "str":
                return f"{self._string(key)}: {value}"
            if isinstance(key, Group) and key.open == "(":
                return f"oc_key({self.expr(key.items)}): {value}"
        raise self.fail("a hash key must be a name, a number, a string or (an expression)")


# --- tags and templates --------------------------------------------------------------------------

_UNSUPPORTED_TAGS = {
    "include": "includes need a template loader",
    "extends": "template inheritance needs a template loader",
    "embed": "embedding needs a template loader",
    "use": "horizontal reuse needs a template loader",
    "import": "macro imports need a template loader",
    "from": "macro imports need a template loader",
    "macro": "macros are not supported in mapping templates",
    "block": "blocks are not supported in mapping templates",
    "sandbox": "the sandbox tag needs includes",
    "flush": "flush has no meaning in a mapping",
    "cache": "the cache tag is not supported",
}


_PLAIN_TAGS = frozenset({"else", "endif", "endfor", "endset", "endautoescape", "endwith"})


def _tag_name(code: str) -> tuple[str, str]:
    stripped = code.strip()
    m = re.match(r"[A-Za-z_][A-Za-z0-9_]*", stripped)
    if m is None:
        raise TwigSyntaxError(f"expected a tag name, got {stripped[:20]!r}")
    return m.group(0), stripped[m.end() :]


def _set_targets(rest: str) -> list[str]:
    head = rest.split("=", 1)[0] if re.search(r"(?<![=!<>])=(?!=)", rest) else rest
    return [t.strip() for t in head.split(",") if t.strip()]


def promoted_names(segments: list[Segment]) -> frozenset[str]:
    """Variables ``set`` inside a ``for`` loop (other than the loop's own targets)."""
    loops: list[set[str]] = []
    promoted: set[str] = set()
    loop_targets: set[str] = set()
    for seg in segments:
        if seg.kind != "block":
            continue
        tag, rest = _tag_name(seg.text)
        if tag == "for":
            head = re.split(r"\sin\s", " " + rest + " ", maxsplit=1)[0]
            targets = {t.strip() for t in head.split(",") if t.strip()}
            loops.append(targets)
            loop_targets |= targets
        elif tag == "endfor" and loops:
            loops.pop()
        elif tag == "set" and loops:
            for target in _set_targets(rest):
                if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", target) and not any(target in lt for lt in loops):
                    promoted.add(target)
    return frozenset(promoted - loop_targets)


class TemplateTranslator:
    def __init__(self, source: str) -> None:
        self.source = source
        self.segments = lex(source)
        self.promoted = promoted_names(self.segments)

    def translate(self) -> str:
        out: list[str] = []
        if self.promoted:
            inits = ", ".join(f"{n}={n}" for n in sorted(self.promoted))
            out.append(f"{{% set {NS} = namespace({inits}) %}}")
        for seg in self.segments:
            if seg.kind == "text":
                out.append(_literal(html_entity_decode(seg.text)))
            elif seg.kind == "comment":
                continue
            elif seg.kind == "verbatim":
                out.append("{% raw %}" + seg.text + "{% endraw %}")
            elif seg.kind == "print":
                tokens = _strip(tokenize(seg.text, seg.lineno))
                if len(tokens) == 1 and isinstance(tokens[0], Tok) and tokens[0].kind == "str":
                    parts = tokens[0].parts or [""]
                    if len(parts) == 1 and isinstance(parts[0], str):  # Twig leaves static strings unescaped
                        out.append(_literal(html_entity_decode(parts[0])))
                        continue
                tr = Translator(self.promoted, seg.lineno)
                out.append("{{ " + tr.expr(tokens) + " }}")
            else:
                out.append(self._block(seg))
        return "".join(out)

    def _block(self, seg: Segment) -> str:
        tag, rest = _tag_name(seg.text)
        tr = Translator(self.promoted, seg.lineno)
        if tag in _UNSUPPORTED_TAGS:
            raise TwigSyntaxError(f"the '{tag}' tag is not supported: {_UNSUPPORTED_TAGS[tag]}", seg.lineno)
        if tag in ("if", "elseif", "elif"):
            return "{% " + ("if " if tag == "if" else "elif ") + tr.expr(tokenize(rest, seg.lineno)) + " %}"
        if tag == "for":
            return self._for(rest, tr, seg.lineno)
        if tag == "set":
            return self._set(rest, tr, seg.lineno)
        if tag == "do":
            return "{% if (" + tr.expr(tokenize(rest, seg.lineno)) + ") %}{% endif %}"
        if tag == "apply":
            return "{% filter " + tr.expr(tokenize(rest, seg.lineno)) + " %}"
        if tag == "endapply":
            return "{% endfilter %}"
        if tag == "spaceless":
            return "{% filter oc_spaceless %}"
        if tag == "endspaceless":
            return "{% endfilter %}"
        if tag == "autoescape":
            flag = rest.strip().lower()
            return "{% autoescape " + ("false" if flag == "false" else "true") + " %}"
        if tag == "with":
            return self._with(rest, tr, seg.lineno)
        if tag not in _PLAIN_TAGS:
            raise TwigSyntaxError(f"unknown tag {tag!r}", seg.lineno)
        if rest.strip():
            raise TwigSyntaxError(f"unexpected {rest.strip()[:30]!r} after {tag!r}", seg.lineno)
        return "{% " + tag + " %}"

    def _for(self, rest: str, tr: Translator, lineno: int) -> str:
        items = tokenize(rest, lineno)
        k = next((i for i, n in enumerate(items) if _is_name(n, "in")), None)
        if k is None:
            raise TwigSyntaxError("expected 'in' in the for tag", lineno)
        targets = [t for seg in _split(items[:k]) for t in _strip(seg)]
        names = [t.text for t in targets if isinstance(t, Tok) and t.kind == "name"]
        if not names or len(names) > 2 or len(names) != len(targets):
            raise TwigSyntaxError(
                "a for loop takes one or two variable names (for value / for key, value)", lineno
            )
        body = items[k + 1 :]
        cond = None
        c = next((i for i, n in enumerate(body) if _is_name(n, "if")), None)
        if c is not None:
            cond = tr.expr(body[c + 1 :])
            body = body[:c]
        iterate = "oc_items" if len(names) == 2 else "oc_values"
        head = "{% for " + ", ".join(names) + " in (" + tr.expr(body) + ")|" + iterate
        return head + (f" if {cond}" if cond else "") + " %}"

    def _set(self, rest: str, tr: Translator, lineno: int) -> str:
        items = tokenize(rest, lineno)
        eq = next((i for i, n in enumerate(items) if _is_op(n, "=")), None)
        target_items = items if eq is None else items[:eq]
        targets = []
        for seg in _split(target_items):
            seg = _strip(seg)
            if len(seg) != 1 or not _is_name(seg[0]):
                raise TwigSyntaxError("set needs variable names before '='", lineno)
            name = _text(seg[0])
            targets.append(f"{NS}.{name}" if name in self.promoted else name)
        if eq is None:
            if len(targets) != 1:
                raise TwigSyntaxError("a block set takes one variable", lineno)
            return "{% set " + targets[0] + " %}"
        values = [tr.expr(v) for v in _split(items[eq + 1 :])]
        if len(values) != len(targets):
            raise TwigSyntaxError("set: as many values as variables are needed", lineno)
        if len(targets) == 1:
            return "{% set " + targets[0] + " = " + values[0] + " %}"
        return "{% set " + ", ".join(targets) + " = " + ", ".join(values) + " %}"

    def _with(self, rest: str, tr: Translator, lineno: int) -> str:
        items = _strip(tokenize(rest, lineno))
        if items and _is_name(items[-1], "only"):
            items = _strip(items[:-1])
        if not items:
            return "{% with %}"
        if len(items) == 1 and isinstance(items[0], Group) and items[0].open == "{":
            assigns = []
            for entry in _split(items[0].items):
                entry = _strip(entry)
                if not entry:
                    continue
                colon = next((i for i, n in enumerate(entry) if _is_op(n, ":")), None)
                key = _strip(entry[:colon]) if colon is not None else []
                if (
                    colon is None
                    or len(key) != 1
                    or not isinstance(key[0], Tok)
                    or key[0].kind not in ("name", "str")
                ):
                    raise TwigSyntaxError("with: use a hash with plain keys, e.g. {% with {a: 1} %}", lineno)
                name = key[0].text if key[0].kind == "name" else (key[0].parts or [""])[0]
                assigns.append(f"{name}={tr.expr(entry[colon + 1 :])}")
            return "{% with " + ", ".join(assigns) + " %}"
        raise TwigSyntaxError("with: only a literal hash is supported", lineno)


def _literal(text: str) -> str:
    """Template text as Jinja source: verbatim unless it would read as a Jinja tag."""
    if "{{" in text or "{%" in text or "{#" in text or text.endswith("{"):
        return "{{ " + repr(text) + " }}"
    return text


def translate(source: str) -> str:
    """Jinja2 source for a Twig template; raises TwigSyntaxError."""
    return TemplateTranslator(source).translate()
