"""Untrusted text made safe to show: on a terminal, in a markdown report, in the terminal app.

Names of entities, drivers, vehicles and sections, file names, reasons, actors, values read from
evidence files and error texts all come from outside: from an application file, from the command
line, from the store. Printed as they are, an escape sequence in a name could clear the screen,
set the terminal's title or clipboard (OSC 52) or print a hyperlink (OSC 8); a bidi override could
make ``ABC`` read as ``CBA``; a line break could forge an extra row of ``queue``. So every piece of
such text goes through :func:`visible` before it reaches a person:

* control characters (C0, DEL, C1: Unicode category Cc), format characters (category Cf: the
  bidi embeddings, overrides, isolates and marks U+202A–U+202E, U+2066–U+2069, U+200E, U+200F,
  U+061C, the zero-width space, joiner and non-joiner, the soft hyphen, the byte-order mark, tag
  characters…), the line and paragraph separators (U+2028, U+2029), lone surrogates (from file
  names that are not UTF-8) and the invisible fillers U+034F, U+115F, U+1160, U+17B4, U+17B5,
  U+3164 and U+FFA0 are written as escapes, the way Python writes them in a string literal:
  ``\\n``, ``\\r``, ``\\t``, ``\\x1b``, ``\\x9b``, ``\\u202e``, ``\\U000e0041``;
* everything else — Chinese and any other script, punctuation, symbols, spaces (the full-width
  space included) and variation selectors (which pick the glyph of a CJK character) — is kept as
  it is: a Chinese name displays as typed.

A backslash typed in the text is kept as it is, so ``\\x1b`` on the screen may also be those four
characters typed; ``--format json`` gives the exact text. The function is idempotent (its result
has nothing left to escape), so text may safely pass through it twice — in a message, and again at
the edge of the program.

:func:`visible_lines` does the same but keeps ``\\n`` as the line break of a text of several lines
(for the last pass over a whole report, whose line breaks are the report's own), :func:`markdown`
also escapes what markdown would read as markup, and :func:`visible_json` makes a JSON text safe to
print without changing the value it holds.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from typing import Any

__all__ = ["ESCAPED_CATEGORIES", "escaped", "markdown", "t", "visible", "visible_json", "visible_lines", "visible_params"]

#: Unicode general categories written as escapes.
ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
#: Characters of other categories that show nothing (default-ignorable fillers), escaped too.
_FILLERS = frozenset({0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x3164, 0xFFA0})
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_FILLER = re.compile("[" + "".join(map(chr, sorted(_FILLERS))) + "]")


def escaped(ch: str) -> bool:
    """Whether :func:`visible` writes the character ``ch`` as an escape."""
    return unicodedata.category(ch) in ESCAPED_CATEGORIES or ord(ch) in _FILLERS


def _escape(ch: str) -> str:
    named = _NAMED.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _clean(text: str) -> bool:
    """Nothing to escape in ``text`` (the quick answer for the common case)."""
    # str.isprintable() is False for every character of ESCAPED_CATEGORIES (and for some that
    # are kept: other spaces, private use, unassigned), so printable text needs only the fillers
    return text.isprintable() and _FILLER.search(text) is None


def visible(value: object) -> str:
    """``value`` as one line of text with every control, format (bidi, zero-width), line-break,
    surrogate and invisible filler character written as an escape (``\\x1b``, ``\\u202e``,
    ``\\n``). Anything not text is shown with ``str()`` first; ``None`` as ``—``."""
    if value is None:
        return "—"
    text = value if isinstance(value, str) else str(value)
    if _clean(text):
        return text
    return "".join(_escape(ch) if escaped(ch) else ch for ch in text)


def visible_lines(text: str) -> str:
    """A text of several lines made safe: :func:`visible` for each line, the ``\\n`` between them
    kept. Only for text whose line breaks are its own (a report, a message block): a value that
    must stay on one line goes through :func:`visible` before it is put into such a text."""
    if _clean(text.replace("\n", "")):
        return text
    return "\n".join(visible(line) for line in text.split("\n"))


# markdown: backslash-escape every ASCII punctuation mark markdown (CommonMark, GitHub) reads as
# markup inside a line — emphasis, code, links and images, raw HTML and entities, table cells,
# strikethrough — and, at the start of the text, what would open a heading, a list or a quote
_MD_INLINE = re.compile(r"([\\`*_\[\]<>|&~#])")
_MD_START = re.compile(r"^(\s*)(?:([-+=])|(\d+)(?=[.)]))")


def _md_start(m: re.Match) -> str:
    space, mark, digits = m.groups()
    return f"{space}\\{mark}" if mark else f"{space}{digits}\\"


def markdown(value: object) -> str:
    """``value`` as one line of markdown that renders as the text itself: :func:`visible`, then
    the characters markdown would read as markup backslash-escaped (so a name cannot add a table
    row, a link, an image, HTML or a heading)."""
    text = _MD_INLINE.sub(r"\\\1", visible(value))
    return _MD_START.sub(_md_start, text, count=1)


def visible_json(text: str) -> str:
    """A JSON text (``json.dumps(..., ensure_ascii=False)``) safe to print: every character
    :func:`visible` escapes is written as a JSON ``\\uXXXX`` escape instead (``json.dumps`` leaves
    DEL, the C1 controls, the bidi and zero-width characters and U+2028/9 raw, and a lone surrogate
    could not even be written to a UTF-8 terminal). The value it holds is unchanged; the line breaks
    of indented JSON (outside strings: ``json.dumps`` escapes those inside) are kept."""
    if _clean(text.replace("\n", "")):
        return text
    out = []
    for ch in text:
        if ch != "\n" and escaped(ch):
            code = ord(ch)
            if code >= 0x10000:  # a UTF-16 surrogate pair, as JSON spells it
                code -= 0x10000
                out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
            else:
                out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def visible_params(params: dict[str, Any]) -> dict[str, Any]:
    """The values of a message's ``{placeholders}``, each made :func:`visible` (numbers kept, so
    that they still format as numbers)."""
    return {k: v if isinstance(v, (int, float, Decimal)) else visible(v) for k, v in params.items()}


def t(lang: str, msgid: str, domain: str = "report", /, **params: object) -> str:
    """:func:`icv_permits.core.i18n.t` for what is shown: the message's own text as translated,
    every value substituted into it made :func:`visible` (a value cannot break the line or
    carry an escape sequence into the message)."""
    from icv_permits.core.i18n import t as translate

    return translate(lang, msgid, domain, **visible_params(params))


def problem(p):
    """A :class:`~icv_permits.core.errors.Problem` whose location and text values are made
    :func:`visible` (a msgid in a ``*_text`` value has nothing to escape, so it still translates)."""
    from icv_permits.core.errors import Problem

    params = {k: visible(v) if isinstance(v, str) else v for k, v in p.params.items()}
    return Problem(visible(p.location) if p.location else p.location, p.msgid, params, p.code)


def problems_text(exc, lang: str) -> str:
    """The problems of an :class:`~icv_permits.core.errors.InputError`, one a line, in ``lang``,
    each location and value made :func:`visible`."""
    return "\n".join(problem(p).render(lang) for p in exc.problems)
