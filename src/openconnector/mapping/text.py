"""Text helpers shared by both dialects: ASCII transliteration and slugs."""

from __future__ import annotations

import re
import unicodedata

# What NFKD cannot take apart, spelled the way glibc's ASCII//TRANSLIT spells it.
_TRANSLIT = str.maketrans(
    {
        "\u00c6": "AE",  # latin capital letter ae
        "\u00e6": "ae",  # latin small letter ae
        "\u00d8": "O",  # latin capital letter o with stroke
        "\u00f8": "o",  # latin small letter o with stroke
        "\u0152": "OE",  # latin capital ligature oe
        "\u0153": "oe",  # latin small ligature oe
        "\u00df": "ss",  # latin small letter sharp s
        "\u1e9e": "SS",  # latin capital letter sharp s
        "\u00de": "TH",  # latin capital letter thorn
        "\u00fe": "th",  # latin small letter thorn
        "\u00d0": "D",  # latin capital letter eth
        "\u00f0": "d",  # latin small letter eth
        "\u0110": "D",  # latin capital letter d with stroke
        "\u0111": "d",  # latin small letter d with stroke
        "\u0141": "L",  # latin capital letter l with stroke
        "\u0142": "l",  # latin small letter l with stroke
        "\u0126": "H",  # latin capital letter h with stroke
        "\u0127": "h",  # latin small letter h with stroke
        "\u0131": "i",  # latin small letter dotless i
        "\u014a": "NG",  # latin capital letter eng
        "\u014b": "ng",  # latin small letter eng
        "\u0138": "q",  # latin small letter kra
        "\u017f": "s",  # latin small letter long s
        "\u2013": "-",  # en dash
        "\u2014": "-",  # em dash
        "\u2010": "-",  # hyphen
        "\u2011": "-",  # non-breaking hyphen
        "\u2212": "-",  # minus sign
        "\u2018": "'",  # left single quotation mark
        "\u2019": "'",  # right single quotation mark
        "\u201a": "'",  # single low-9 quotation mark
        "\u201b": "'",  # single high-reversed-9 quotation mark
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u00ab": "<<",  # left-pointing double angle quotation mark
        "\u00bb": ">>",  # right-pointing double angle quotation mark
        "\u2039": "<",  # single left-pointing angle quotation mark
        "\u203a": ">",  # single right-pointing angle quotation mark
        "\u20ac": "EUR",  # euro sign
        "\u00a3": "GBP",  # pound sign
        "\u00a9": "(C)",  # copyright sign
        "\u00ae": "(R)",  # registered sign
        "\u00d7": "x",  # multiplication sign
        "\u00f7": ":",  # division sign
        "\u2022": "o",  # bullet
        "\u00b7": ".",  # middle dot
        "\u2026": "...",  # horizontal ellipsis
        "\u00a0": " ",  # no-break space
    }
)


def to_ascii(text: str, unknown: str = "?") -> str:
    """Transliterate to ASCII without touching the process locale (no setlocale, unlike the original).

    'Ærøskøbing', dashes and curly quotes become 'AEroskobing', '-' and '"'; what has no ASCII
    spelling becomes ``unknown``.
    """
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text.translate(_TRANSLIT))
    out = []
    for ch in decomposed:
        if ch.isascii():
            out.append(ch)
        elif unicodedata.combining(ch):
            continue
        else:
            out.append(unknown)
    return "".join(out)


_NOT_SLUG_PHP = re.compile(r"[^a-z0-9-]")
_DASHES = re.compile(r"-+")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def slugify_php(text: str) -> str:
    """The original's ``slugify`` filter: ASCII-lowercase, ' '/'_' → '-', drop the rest (accents too)."""
    lowered = text.translate({c: c + 32 for c in range(65, 91)})
    lowered = lowered.replace(" ", "-").replace("_", "-")
    return _DASHES.sub("-", _NOT_SLUG_PHP.sub("", lowered)).strip("-")


def slugify(text: str) -> str:
    """The native ``slugify``: transliterate accents first ('Café Déjà Vu' → 'cafe-deja-vu')."""
    return _NOT_ALNUM.sub("-", to_ascii(text, unknown="").lower()).strip("-")
