"""Turning a file's bytes into text, a chunk at a time, with errors that say which byte is wrong.

Python's text wrappers report a decode error relative to their internal buffer; a user needs the
byte offset in the file (so they can open it in a hex editor, or see that it is Latin-1).
"""

from __future__ import annotations

import codecs
import hashlib
import io
import itertools
import re
from collections.abc import Iterator
from typing import Protocol

CHUNK = 1 << 20


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class FileFailure(Exception):
    """The file as a whole cannot be read (wrong encoding, truncated, records path missing): it goes
    to the failed folder and the run says why. ``str()`` starts with the file name."""


class HashingReader:
    """Passes bytes through and hashes them, for ``after: keep``'s content fingerprint."""

    def __init__(self, inner: Readable) -> None:
        self._inner = inner
        self._hash = hashlib.sha256()

    def read(self, size: int = -1, /) -> bytes:
        data = self._inner.read(size)
        self._hash.update(data)
        return data

    def hexdigest(self) -> str:
        """Hash of the whole file: reads what the parser left unread."""
        while self.read(CHUNK):
            pass
        return self._hash.hexdigest()


class PeekReader:
    """A reader whose first bytes can be looked at (BOM, XML declaration) without losing them."""

    def __init__(self, inner: Readable) -> None:
        self._inner = inner
        self._head = b""

    def peek(self, size: int) -> bytes:
        while len(self._head) < size:
            more = self._inner.read(size - len(self._head))
            if not more:
                break
            self._head += more
        return self._head[:size]

    def read(self, size: int = -1, /) -> bytes:
        if self._head:
            head, self._head = self._head, b""
            if size < 0:
                return head + self._inner.read(-1)
            return head
        return self._inner.read(size)


class TextSource:
    """Decodes ``raw`` incrementally; a decode error names the file and the byte offset."""

    def __init__(self, raw: Readable, encoding: str, file: str) -> None:
        self._raw = raw
        self.encoding = encoding
        self.file = file
        self.offset = 0  # bytes handed to the decoder so far

    def chunks(self) -> Iterator[str]:
        decoder = codecs.getincrementaldecoder(self.encoding)("strict")
        first = True
        while True:
            data = self._raw.read(CHUNK)
            pending = len(decoder.getstate()[0])
            try:
                text = decoder.decode(data, final=not data)
            except UnicodeDecodeError as exc:
                at = self.offset - pending + exc.start
                bad = exc.object[exc.start : exc.start + 4]
                raise FileFailure(
                    f"{self.file}: not valid {self.encoding} at byte {at} ({exc.reason}; bytes {bad!r}); "
                    f"set read.encoding to the file's encoding (e.g. cp1252, latin-1)"
                ) from None
            self.offset += len(data)
            if first and text:
                first = False
                if text[0] == "\ufeff":  # byte order mark
                    text = text[1:]
            if text:
                yield text
            if not data:
                return

    def lines(self) -> Iterator[str]:
        """Physical lines with their line ends (``\\n``, ``\\r\\n`` or ``\\r``), as the csv module
        wants them (the equivalent of ``open(newline="")``)."""
        return itertools.chain.from_iterable(self.line_chunks())

    def line_chunks(self) -> Iterator[list[str]]:
        """:meth:`lines` a decoded chunk at a time (a list per chunk, never empty): chained with
        ``itertools.chain.from_iterable`` a parser gets its lines at C speed, not through a Python
        generator step per line."""
        tail = ""
        for text in self.chunks():
            if tail:
                text = tail + text
            lines = _split_lines(text)
            last = lines[-1]
            # an unterminated last line, or one ending in \r that a \n may follow: finish it next time
            tail = lines.pop() if last[-1] != "\n" else ""
            if lines:
                yield lines
        if tail:
            yield [tail]


#: line boundaries of str.splitlines that are not line ends in a CSV/NDJSON file
_NOT_LINE_ENDS = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


def _split_lines(text: str) -> list[str]:
    """``text`` split after each ``\\n``, ``\\r\\n`` and ``\\r``, line ends kept.

    ``str.splitlines`` does that twice as fast as ``io.StringIO(newline="")``, but also splits at
    vertical tab, form feed, ``\\x1c-\\x1e``, NEL and the Unicode line/paragraph separators; a
    chunk holding one of those (rare; checked at memchr speed) takes the exact, slower way.
    """
    for ch in _NOT_LINE_ENDS:
        if ch in text:
            return io.StringIO(text, newline="").readlines()
    return text.splitlines(keepends=True)


class Utf8Reader:
    """Bytes re-encoded as UTF-8 from a :class:`TextSource`, for parsers that take bytes (lxml,
    ijson) after our decoder has checked the encoding and reported any error with its offset."""

    def __init__(self, text: TextSource) -> None:
        self._chunks = text.chunks()
        self._buf = b""

    def read(self, size: int = -1, /) -> bytes:
        if not self._buf:
            chunk = next(self._chunks, None)
            if chunk is None:
                return b""
            self._buf = chunk.encode("utf-8")
        if size < 0 or size >= len(self._buf):
            out, self._buf = self._buf, b""
        else:
            out, self._buf = self._buf[:size], self._buf[size:]
        return out


_XML_DECL = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")


def sniff_xml_encoding(head: bytes, file: str) -> str:
    """The encoding an XML document declares (BOM first, then the declaration), else UTF-8."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    m = _XML_DECL.match(head)
    if m:
        name = m.group(1).decode("ascii")
        try:
            return codecs.lookup(name).name
        except LookupError:
            raise FileFailure(f"{file}: declares an unknown encoding {name!r}; set read.encoding") from None
    return "utf-8"
