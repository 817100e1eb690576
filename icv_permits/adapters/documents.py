"""Reading an application document (YAML or JSON) without ever showing the user a traceback.

:func:`read_document` reads a file, :func:`parse_document` parses bytes already in memory, and
:func:`validation_problems` turns a :class:`pydantic.ValidationError` into located
:class:`~icv_permits.core.errors.Problem` objects. Every failure raises
:class:`~icv_permits.core.errors.InputError` (exit code 2). Inputs are never modified and nothing is
written to disk.

Documented limits: a document is at most :data:`MAX_BYTES` (2 MiB) and its mappings and lists
nest at most :data:`MAX_DEPTH` (32) deep, the top-level mapping counting as depth 1.

YAML is read with a safe loader (libyaml when available) restricted further:

* dates and times are *not* converted: ``2026-01-05`` stays the string ``"2026-01-05"`` so that
  the model parses it and can say exactly what is wrong with ``2026-02-30``;
* integers are decimal only and floats have no sexagesimal or ``.inf``/``.nan`` forms, so
  ``0123`` (a licence number) and ``09:30`` (a time) stay strings instead of becoming 83 and 570;
* ``<<`` is an ordinary key (no merge) and ``=`` an ordinary string;
* anchors, aliases, explicit tags other than ``!!str``/``!!map``/``!!seq``, non-text keys,
  duplicate keys and multiple documents are refused.

Problem codes (``Problem.code``):

======================  ==========================================================================
code                    meaning
======================  ==========================================================================
``not_found``           the file does not exist
``is_directory``        the path is a directory
``not_regular``         the path is a pipe, device or socket (reading it could block forever)
``unreadable``          the file exists but cannot be read (the OS reason is given)
``empty``               the file is empty, or only whitespace / YAML comments
``too_large``           the file is larger than :data:`MAX_BYTES`
``encoding``            not UTF-8 (offset and line of the first bad byte), a UTF-16/32 byte-order
                        mark, a NUL byte, or a control character not allowed in a text file
``json_syntax``         JSON syntax error (line, column), including ``NaN``/``Infinity`` literals
``yaml_syntax``         YAML syntax error (line, column, PyYAML's description)
``yaml_tag``            an explicit YAML tag such as ``!!python/object`` or ``!!binary``
``alias``               a YAML anchor (``&x``) or alias (``*x``)
``duplicate_key``       the same key twice in one mapping / object
``multiple_documents``  more than one YAML document (``---``)
``too_deep``            mappings/lists nested more than :data:`MAX_DEPTH` deep
``not_a_mapping``       the top level is not a mapping (a list, text, a number...)
``key_type``            a YAML mapping key that is not text (``1:``, ``null:``, ``yes:``, ``[a]:``)
----------------------  --------------------------------------------------------------------------
``missing``             (validation) a required field is absent
``extra_forbidden``     (validation) an unknown field
``wrong_type``          (validation) a value of the wrong kind (e.g. a list where text belongs)
``enum``                (validation) a value outside the allowed set
``date``                (validation) a malformed or impossible date, date-time or time
``value_error``         (validation) a model validator rejected the value (its message is shown)
``constraint``          (validation) a bound or length/format/number-parsing constraint failed
``invalid``             (validation) any other pydantic error (pydantic's message is shown)
======================  ==========================================================================
"""

from __future__ import annotations

import difflib
import errno
import json
import os
import re
import stat
import types
import typing
from dataclasses import dataclass, field
from typing import Any

import pydantic
import yaml

from icv_permits.core.errors import (
    DOMAIN,
    InputError,
    Problem,
    kind_of,
    show,
)
from icv_permits.core.i18n import N_, translations
from icv_permits.core.personal_text import mask_value

__all__ = ["MAX_BYTES", "MAX_DEPTH", "parse_document", "read_document", "validation_problems"]

MAX_BYTES = 2 * 1024 * 1024
"""Largest accepted document, in bytes (2 MiB)."""

MAX_DEPTH = 32
"""Deepest accepted nesting of mappings and lists; the top-level mapping is depth 1."""

MAX_PROBLEMS = 100
"""The most problems of one document listed (in the document's order); the rest are counted in
one line. A file of a hundred thousand unknown keys is refused as quickly as a file of one."""
M_MORE_PROBLEMS = N_("{more} more problems not listed ({total} in all); fix those above first")


# --------------------------------------------------------------------------------------------
# Messages (domain "input")
# --------------------------------------------------------------------------------------------

M_NOT_FOUND = N_("file not found")
M_IS_DIRECTORY = N_("this is a directory, not a file")
M_NOT_REGULAR = N_("this is not a regular file (a pipe, a device or a socket); save the application to a file")
M_UNREADABLE = N_("cannot read the file: {reason_text}")
M_EMPTY = N_("the file is empty (it contains no data, only whitespace or comments)")
M_TOO_LARGE = N_("the file is too large: {size} bytes; the limit is {limit} bytes (2 MiB)")
M_TOO_LARGE_READ = N_("the file is too large: more than the limit of {limit} bytes (2 MiB)")
M_NOT_UTF8 = N_(
    "the file is not valid UTF-8 text: the byte {byte} at byte offset {offset} (line {line}) "
    "cannot be decoded; save the file as UTF-8 (files saved as GBK/GB 2312 often cause this)"
)
M_UTF16 = N_("the file is encoded as {encoding}; save it as UTF-8")
M_NUL = N_(
    "the file contains a NUL byte at byte offset {offset} (line {line}); it is probably a binary "
    "file or UTF-16 text; save it as UTF-8 text"
)
M_CONTROL_CHAR = N_(
    "line {line}, column {column}: the control character {char} is not allowed in the file; "
    "remove it"
)
M_JSON_SYNTAX = N_("JSON syntax error at line {line}, column {column}: {problem_text}")
M_JSON_CONSTANT = N_(
    "JSON syntax error at line {line}, column {column}: {constant} is not a number allowed in "
    "the input"
)
M_JSON_CONSTANT_NOLINE = N_("JSON syntax error: {constant} is not a number allowed in the input")
M_JSON_NUMBER = N_("JSON syntax error: a number has too many digits")
M_YAML_SYNTAX = N_("YAML syntax error at line {line}, column {column}: {problem_text}")
M_YAML_SYNTAX_CONTEXT = N_(
    "YAML syntax error at line {line}, column {column}: {problem_text} (in the {context_text} "
    "that starts at line {context_line})"
)
M_YAML_SYNTAX_COLON = N_(
    "YAML syntax error at line {line}, column {column}: {problem_text}; line {hint_line} uses a "
    "full-width colon “：” where YAML needs an ASCII colon followed by a space (\": \")"
)
M_YAML_SYNTAX_NOLINE = N_("YAML syntax error: {problem_text}")
M_YAML_TAG = N_(
    "line {line}: the YAML tag {tag} is not allowed; write plain values (put text in quotes if "
    "needed)"
)
M_ALIAS = N_(
    "line {line}: anchors and aliases are not allowed (found {token}); write the value out in "
    "full"
)
M_DUPLICATE_KEY = N_(
    "line {line}: the key {key} appears twice in the same mapping ({path}; first at line "
    "{first_line})"
)
M_DUPLICATE_KEY_NOLINE = N_("the key {key} appears twice in the same mapping")
M_MULTIPLE_DOCUMENTS = N_(
    "line {line}: the file contains more than one YAML document (separated by \"---\"); put one "
    "application in each file"
)
M_TOO_DEEP = N_("line {line}: mappings and lists are nested more than {limit} levels deep")
M_TOO_DEEP_NOLINE = N_("mappings and lists are nested more than {limit} levels deep")
M_NOT_A_MAPPING = N_(
    "the top level of the document must be a mapping of field names to values (key: value), "
    "but it is {kind_text}"
)
M_NOT_A_MAPPING_COLON = N_(
    "the top level of the document must be a mapping of field names to values (key: value), "
    "but it is {kind_text}; it looks like a full-width colon “：” was used where YAML needs an "
    "ASCII colon followed by a space (\": \")"
)
M_KEY_TYPE = N_(
    "line {line}: in {path_text}, the key {key} is {kind_text}, but keys must be text; put the "
    "key in quotes"
)
TOP_LEVEL = N_("the top level")

# Validation messages.
M_MISSING = N_("required field is missing")
M_EXTRA = N_("unknown field {field}; check the spelling or remove it")
M_EXTRA_SUGGEST = N_("unknown field {field}; did you mean {suggestion}?")
M_WRONG_TYPE = N_("expected {expected_text}, but got {given_text} ({input})")
M_WRONG_TYPE_NOINPUT = N_("expected {expected_text}, but got {given_text}")
M_ENUM = N_("\"{input}\" is not an allowed value; choose one of: {allowed}")
M_ENUM_NOINPUT = N_("expected one of {allowed}, but got {given_text}")
M_DATE_MALFORMED = N_("\"{input}\" is not a valid date; write it as YYYY-MM-DD, e.g. 2026-01-05")
M_DATE_IMPOSSIBLE = N_("\"{input}\" is not a real date: that day does not exist in the calendar")
M_DATETIME = N_(
    "\"{input}\" is not a valid date and time; write it as YYYY-MM-DDTHH:MM:SS+08:00, "
    "e.g. 2026-01-05T09:30:00+08:00"
)
M_TIME = N_("\"{input}\" is not a valid time of day; write it as HH:MM, e.g. 09:30")
M_DATE_INEXACT = N_("{input} is not a date; write the date as YYYY-MM-DD, e.g. 2026-01-05")
M_INVALID = N_("invalid value: {message}")

# Expected kinds for ``wrong_type``.
EXPECT_TEXT = N_("text")
EXPECT_INTEGER = N_("a whole number")
EXPECT_NUMBER = N_("a number")
EXPECT_BOOL = N_("true or false")
EXPECT_MAPPING = N_("a mapping (key: value pairs)")
EXPECT_LIST = N_("a list")
EXPECT_DATE = N_("a date (YYYY-MM-DD)")
EXPECT_DATETIME = N_("a date and time")
EXPECT_TIME = N_("a time of day (HH:MM)")
EXPECT_DURATION = N_("a duration")
EXPECT_DECIMAL = N_("a decimal number")
EXPECT_NULL = N_("nothing (null)")
EXPECT_OTHER = N_("a value of another kind")

# Constraint messages, by pydantic error type (placeholders are pydantic's ctx keys + input).
_CONSTRAINT_MESSAGES: dict[str, str] = {
    "greater_than": N_("must be greater than {gt}"),
    "greater_than_equal": N_("must be greater than or equal to {ge}"),
    "less_than": N_("must be less than {lt}"),
    "less_than_equal": N_("must be less than or equal to {le}"),
    "multiple_of": N_("must be a multiple of {multiple_of}"),
    "finite_number": N_("must be a finite number"),
    "too_short": N_("must contain at least {min_length} item(s), but has {actual_length}"),
    "too_long": N_("must contain at most {max_length} item(s), but has {actual_length}"),
    "string_too_short": N_("must be at least {min_length} character(s) long"),
    "string_too_long": N_("must be at most {max_length} character(s) long"),
    "string_pattern_mismatch": N_("does not have the required format (pattern {pattern})"),
    "string_unicode": N_("is not valid Unicode text (it holds half of a surrogate pair, such as \\ud800, which no file or database can store)"),
    "int_parsing": N_("\"{input}\" is not a whole number"),
    "int_parsing_size": N_("{input} is too large a number"),
    "int_from_float": N_("must be a whole number, but {input} has a fractional part"),
    "float_parsing": N_("\"{input}\" is not a number"),
    "decimal_parsing": N_("\"{input}\" is not a decimal number"),
    "decimal_max_digits": N_("must have at most {max_digits} digits in total"),
    "decimal_max_places": N_("must have at most {decimal_places} digits after the decimal point"),
    "decimal_whole_digits": N_("must have at most {whole_digits} digits before the decimal point"),
    "bool_parsing": N_("\"{input}\" is not a yes/no value; write true or false"),
    "date_past": N_("must be a date in the past"),
    "date_future": N_("must be a date in the future"),
    "datetime_past": N_("must be a date and time in the past"),
    "datetime_future": N_("must be a date and time in the future"),
}
_CONSTRAINT_FALLBACK = N_("does not meet a constraint: {message}")

# PyYAML / libyaml / json problem descriptions that have a translation (passed as *_text).
_KNOWN_PARSER_TEXTS = (
    N_("mapping values are not allowed in this context"),
    N_("mapping values are not allowed here"),
    N_("could not find expected ':'"),
    N_("did not find expected key"),
    N_("did not find expected ',' or ']'"),
    N_("did not find expected ',' or '}'"),
    N_("did not find expected '-' indicator"),
    N_("did not find expected <document start>"),
    N_("did not find expected node content"),
    N_("found unexpected end of stream"),
    N_("found character that cannot start any token"),
    N_("found unknown escape character"),
    N_("found undefined tag handle"),
    N_("found a tab character that violates indentation"),
    N_("block sequence entries are not allowed in this context"),
    N_("flow sequence"),
    N_("flow mapping"),
    N_("mapping"),
    N_("list"),
    N_("quoted text"),
    N_("key"),
    N_("Expecting value"),
    N_("Expecting ',' delimiter"),
    N_("Expecting ':' delimiter"),
    N_("Expecting property name enclosed in double quotes"),
    N_("Unterminated string starting at"),
    N_("Invalid control character at"),
    N_("Invalid \\escape"),
    N_("Invalid \\uXXXX escape"),
    N_("Extra data"),
    N_("Illegal trailing comma before end of object"),
    N_("Illegal trailing comma before end of array"),
    # OS reasons
    N_("permission denied"),
    N_("input/output error"),
    N_("too many levels of symbolic links"),
    N_("the file name is too long"),
    N_("the file name contains a NUL character"),
)
M_TAB = N_("a tab character was found; YAML indentation must use spaces, not tabs")

_YAML_CONTEXTS = {
    "while parsing a flow sequence": "flow sequence",
    "while parsing a flow mapping": "flow mapping",
    "while parsing a block mapping": "mapping",
    "while parsing a block collection": "list",
    "while scanning a quoted scalar": "quoted text",
    "while parsing a quoted scalar": "quoted text",
    "while scanning a double-quoted scalar": "quoted text",
    "while scanning a single-quoted scalar": "quoted text",
    "while scanning a simple key": "key",
}

_OS_REASONS = {
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EIO: "input/output error",
    errno.ELOOP: "too many levels of symbolic links",
    errno.ENAMETOOLONG: "the file name is too long",
}


def _fail(location: str, msgid: str, code: str, **params: str | int) -> InputError:
    return InputError([Problem(location, msgid, {k: mask_value(v) for k, v in params.items()}, code)])


def _size(n: int) -> str:
    return f"{n:,}"


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, ValueError):  # os.stat("a\0b")
        return "the file name contains a NUL character"
    if isinstance(exc, OSError):
        if exc.errno in _OS_REASONS:
            return _OS_REASONS[exc.errno]
        return exc.strerror or exc.__class__.__name__
    return exc.__class__.__name__


def read_document(path: str | os.PathLike) -> dict:
    """Read and parse the YAML or JSON file at ``path``; return its top-level mapping.

    The format is guessed from the file name as in :func:`parse_document`. Raises
    :class:`InputError` for any problem with the file or its contents.
    """
    name = os.fsdecode(os.fspath(path))
    try:
        info = os.stat(name)
    except (FileNotFoundError, NotADirectoryError):
        raise _fail(name, M_NOT_FOUND, "not_found") from None
    except (OSError, ValueError) as exc:
        raise _fail(name, M_UNREADABLE, "unreadable", reason_text=_os_reason(exc)) from None
    if stat.S_ISDIR(info.st_mode):
        raise _fail(name, M_IS_DIRECTORY, "is_directory")
    if not stat.S_ISREG(info.st_mode):
        raise _fail(name, M_NOT_REGULAR, "not_regular")
    if info.st_size > MAX_BYTES:
        raise _fail(
            name, M_TOO_LARGE, "too_large", size=_size(info.st_size), limit=_size(MAX_BYTES)
        )
    try:
        with open(name, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)  # guards files that grow or lie about their size
    except (FileNotFoundError, NotADirectoryError):
        raise _fail(name, M_NOT_FOUND, "not_found") from None
    except IsADirectoryError:
        raise _fail(name, M_IS_DIRECTORY, "is_directory") from None
    except (OSError, ValueError) as exc:
        raise _fail(name, M_UNREADABLE, "unreadable", reason_text=_os_reason(exc)) from None
    if len(data) > MAX_BYTES:
        raise _fail(name, M_TOO_LARGE_READ, "too_large", limit=_size(MAX_BYTES))
    return parse_document(data, name=name)


# --------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------

_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)
# Characters YAML 1.1 allows in a stream (the "printable" set), applied to JSON as well.
_NOT_PRINTABLE = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _line_col(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return line, column


def _decode(data: bytes, name: str) -> str:
    skipped = 0
    if data.startswith(b"\xef\xbb\xbf"):
        data, skipped = data[3:], 3
    else:
        for bom, encoding in _BOMS:
            if data.startswith(bom):
                raise _fail(name, M_UTF16, "encoding", encoding=encoding)
    nul = data.find(b"\x00")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if nul < 0 or exc.start < nul:
            raise _fail(
                name,
                M_NOT_UTF8,
                "encoding",
                byte=f"0x{data[exc.start]:02X}",
                offset=exc.start + skipped,
                line=data.count(b"\n", 0, exc.start) + 1,
            ) from None
        text = ""
    if nul >= 0:
        raise _fail(
            name, M_NUL, "encoding", offset=nul + skipped, line=data.count(b"\n", 0, nul) + 1
        )
    bad = _NOT_PRINTABLE.search(text)
    if bad:
        line, column = _line_col(text, bad.start())
        raise _fail(
            name,
            M_CONTROL_CHAR,
            "encoding",
            line=line,
            column=column,
            char=f"U+{ord(bad.group()):04X}",
        )
    return text


# --------------------------------------------------------------------------------------------
# Paths
# --------------------------------------------------------------------------------------------

_IDENTIFIER = re.compile(r"[^\W\d][\w-]*")


def format_path(parts: typing.Iterable[object]) -> str:
    """``("vehicles", 2, "vin")`` → ``"vehicles[2].vin"``; odd keys become ``["a b"]``."""
    out: list[str] = []
    for part in parts:
        if isinstance(part, int) and not isinstance(part, bool):
            out.append(f"[{part}]")
            continue
        text = str(part)
        if _IDENTIFIER.fullmatch(text) and len(text) <= 64:
            out.append(("." if out else "") + text)
        else:
            out.append('["' + show(text).replace("\\", "\\\\").replace('"', '\\"') + '"]')
    return "".join(out)


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------


def parse_document(data: bytes, *, name: str, fmt: str | None = None) -> dict:
    """Parse a YAML or JSON document held in memory; return its top-level mapping.

    ``name`` is the location used in messages. ``fmt`` is ``"yaml"``, ``"json"`` or ``None``:
    guessed from ``name`` (``.json`` → JSON, ``.yaml``/``.yml`` → YAML), otherwise JSON when
    the first non-blank character is ``{`` or ``[`` and YAML if not.
    """
    if fmt not in (None, "yaml", "json"):
        raise ValueError(f"unknown format {fmt!r}; expected 'yaml', 'json' or None")
    data = bytes(data)
    if len(data) > MAX_BYTES:
        raise _fail(name, M_TOO_LARGE, "too_large", size=_size(len(data)), limit=_size(MAX_BYTES))
    text = _decode(data, name)
    if not text.strip(" \t\r\n"):
        raise _fail(name, M_EMPTY, "empty")
    if fmt is None:
        suffix = os.path.splitext(name)[1].lower()
        if suffix == ".json":
            fmt = "json"
        elif suffix in (".yaml", ".yml"):
            fmt = "yaml"
        else:
            fmt = "json" if text.lstrip(" \t\r\n")[:1] in ("{", "[") else "yaml"
    if fmt == "json":
        document = _parse_json(text, name)
    else:
        document = _parse_yaml(text, name)
    if not isinstance(document, dict):
        msgid = M_NOT_A_MAPPING
        if fmt == "yaml" and isinstance(document, str) and "：" in document:
            msgid = M_NOT_A_MAPPING_COLON
        raise _fail(name, msgid, "not_a_mapping", kind_text=kind_of(document))
    return document


# ---- JSON ------------------------------------------------------------------------------------

_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|"|[{}\[\],:]|-?Infinity|NaN', re.S)


class _JsonDuplicate(Exception):
    def __init__(self, key: str):
        self.key = key


class _JsonConstant(Exception):
    def __init__(self, constant: str):
        self.constant = constant


@dataclass(slots=True)
class _JsonScan:
    duplicate: tuple[str, int, int, str] | None = None  # key, line, first line, path
    constant: tuple[str, int] | None = None  # literal, offset


@dataclass(slots=True)
class _JsonFrame:
    is_object: bool
    child: Any = 0  # key (object) or index (array) of the current child
    expecting_key: bool = True
    keys: dict = field(default_factory=dict)  # key -> offset of its first occurrence


def _scan_json(text: str, name: str) -> _JsonScan:
    """One pass over the tokens outside strings, without recursion.

    Raises ``too_deep`` as soon as the nesting passes MAX_DEPTH, and records where the first
    duplicate key and the first NaN/Infinity literal are, so that errors can name a line.
    """
    found = _JsonScan()
    stack: list[_JsonFrame] = []
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        first = token[0]
        if first == '"':
            if len(token) == 1:
                break  # unterminated string: json.loads reports it
            frame = stack[-1] if stack else None
            if frame is not None and frame.is_object and frame.expecting_key:
                try:
                    key = json.loads(token)
                except ValueError:
                    key = token[1:-1]
                if key in frame.keys:
                    if found.duplicate is None:
                        path = format_path([f.child for f in stack[:-1]] + [key])
                        found.duplicate = (
                            key,
                            _line_col(text, match.start())[0],
                            _line_col(text, frame.keys[key])[0],
                            path,
                        )
                else:
                    frame.keys[key] = match.start()
                frame.child = key
                frame.expecting_key = False
        elif first in "{[":
            if len(stack) >= MAX_DEPTH:
                raise _fail(
                    name,
                    M_TOO_DEEP,
                    "too_deep",
                    line=_line_col(text, match.start())[0],
                    limit=MAX_DEPTH,
                )
            stack.append(_JsonFrame(is_object=first == "{"))
        elif first in "}]":
            if stack:
                stack.pop()
        elif first == ",":
            if stack:
                frame = stack[-1]
                if frame.is_object:
                    frame.expecting_key = True
                else:
                    frame.child += 1
        elif first == ":":
            pass
        elif found.constant is None:  # NaN / Infinity / -Infinity
            found.constant = (token, match.start())
    return found


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict:
    result: dict = {}
    for key, value in pairs:
        if key in result:
            raise _JsonDuplicate(key)
        result[key] = value
    return result


def _json_constant(constant: str) -> Any:
    raise _JsonConstant(constant)


def _parse_json(text: str, name: str) -> Any:
    scan = _scan_json(text, name)
    try:
        return json.loads(text, object_pairs_hook=_json_pairs, parse_constant=_json_constant)
    except json.JSONDecodeError as exc:
        raise _fail(
            name,
            M_JSON_SYNTAX,
            "json_syntax",
            line=exc.lineno,
            column=exc.colno,
            problem_text=show(exc.msg, 120),
        ) from None
    except _JsonConstant as exc:
        if scan.constant is not None:
            line, column = _line_col(text, scan.constant[1])
            raise _fail(
                name, M_JSON_CONSTANT, "json_syntax", line=line, column=column, constant=exc.constant
            ) from None
        raise _fail(name, M_JSON_CONSTANT_NOLINE, "json_syntax", constant=exc.constant) from None
    except _JsonDuplicate as exc:
        if scan.duplicate is not None:
            key, line, first_line, path = scan.duplicate
            raise _fail(
                name,
                M_DUPLICATE_KEY,
                "duplicate_key",
                key=show(key),
                line=line,
                first_line=first_line,
                path=path,
            ) from None
        raise _fail(name, M_DUPLICATE_KEY_NOLINE, "duplicate_key", key=show(exc.key)) from None
    except RecursionError:
        raise _fail(name, M_TOO_DEEP_NOLINE, "too_deep", limit=MAX_DEPTH) from None
    except ValueError:  # e.g. an integer longer than Python's int/str conversion limit
        raise _fail(name, M_JSON_NUMBER, "json_syntax") from None


# ---- YAML ------------------------------------------------------------------------------------

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"


class _YamlLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe loader (libyaml when available) whose implicit types are only null, bool, decimal
    int and plain float: no timestamps, merge keys, ``=`` values, octal/hex/sexagesimal ints,
    or ``.inf``/``.nan``. The resolver table is a copy; the global SafeLoader is untouched."""


_YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag in (_BOOL, _NULL)]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}
_YamlLoader.add_implicit_resolver(_INT, re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$"), list("-+0123456789"))
_YamlLoader.add_implicit_resolver(
    _FLOAT,
    re.compile(
        r"^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?|[-+]?\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?)$"
    ),
    list("-+0123456789."),
)

_BOOL_VALUES = {"yes": True, "no": False, "true": True, "false": False, "on": True, "off": False}


def _resolve_scalar(value: str, implicit: tuple[bool, bool]) -> str:
    if implicit[0]:
        resolvers = _YamlLoader.yaml_implicit_resolvers
        for tag, regexp in resolvers.get(value[:1], []) + resolvers.get(None, []):
            if regexp.match(value):
                return tag
    return _STR


def _construct_scalar(tag: str, value: str) -> Any:
    if tag == _NULL:
        return None
    if tag == _BOOL:
        return _BOOL_VALUES[value.lower()]
    try:
        if tag == _INT:
            return int(value.replace("_", ""))
        if tag == _FLOAT:
            return float(value.replace("_", ""))
    except ValueError:  # more digits than Python will convert: leave it to the model
        return value
    return value


_FULLWIDTH_KEY = re.compile(r"^[ \t]*(?:-[ \t]+)?[^\s:：#'\"\[\]{}][^:：#]*：")


@dataclass(slots=True)
class _YamlFrame:
    obj: Any  # dict or list being built
    child: Any = None  # key or index of the child being built
    expecting_key: bool = True
    key_lines: dict = field(default_factory=dict)  # key -> line of first occurrence


def _short_tag(tag: str) -> str:
    if tag.startswith("tag:yaml.org,2002:"):
        tag = "!!" + tag[len("tag:yaml.org,2002:") :]
    return show(tag, 60)


def _mark_line(event: Any) -> int:
    return event.start_mark.line + 1


def _yaml_error(exc: yaml.YAMLError, text: str, name: str) -> InputError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None)
    problem = str(problem or getattr(exc, "reason", None) or exc.__class__.__name__)
    if mark is None:
        return _fail(name, M_YAML_SYNTAX_NOLINE, "yaml_syntax", problem_text=show(problem, 120))
    line, column = mark.line + 1, mark.column + 1
    if "nesting depth" in problem:  # libyaml's own limit (1000), met while scanning ahead
        return _fail(name, M_TOO_DEEP, "too_deep", line=line, limit=MAX_DEPTH)
    lines = text.split("\n")
    at = lines[mark.line][mark.column : mark.column + 1] if mark.line < len(lines) else ""
    problem_text = M_TAB if "cannot start any token" in problem and at == "\t" else show(problem, 120)
    context_mark = getattr(exc, "context_mark", None)
    first = context_mark.line if context_mark is not None else max(mark.line - 1, 0)
    for number in range(min(first, mark.line), min(mark.line, len(lines) - 1) + 1):
        if _FULLWIDTH_KEY.match(lines[number]):
            return _fail(
                name,
                M_YAML_SYNTAX_COLON,
                "yaml_syntax",
                line=line,
                column=column,
                problem_text=problem_text,
                hint_line=number + 1,
            )
    context = _YAML_CONTEXTS.get(getattr(exc, "context", None) or "")
    if context and context_mark is not None and context_mark.line != mark.line:
        return _fail(
            name,
            M_YAML_SYNTAX_CONTEXT,
            "yaml_syntax",
            line=line,
            column=column,
            problem_text=problem_text,
            context_text=context,
            context_line=context_mark.line + 1,
        )
    return _fail(name, M_YAML_SYNTAX, "yaml_syntax", line=line, column=column, problem_text=problem_text)


def _parse_yaml(text: str, name: str) -> Any:
    """Build the document from libyaml's event stream, without recursion.

    Each check (depth, anchors, tags, keys, documents) happens as soon as its event arrives, so a
    100,000-deep document stops at depth MAX_DEPTH + 1 without being read further.
    """
    stack: list[_YamlFrame] = []
    documents = 0
    root: Any = None
    root_blank = False

    def attach(value: Any, event: Any) -> None:
        nonlocal root, root_blank
        if not stack:
            root = value
            root_blank = isinstance(event, yaml.ScalarEvent) and event.value == "" and event.implicit[0]
            return
        frame = stack[-1]
        if isinstance(frame.obj, list):
            frame.child = len(frame.obj)
            frame.obj.append(value)
        elif frame.expecting_key:
            line = _mark_line(event)
            if not isinstance(value, str):
                path = format_path(f.child for f in stack[:-1])
                if isinstance(value, dict):
                    shown = "{...}"
                elif isinstance(value, list):
                    shown = "[...]"
                else:
                    shown = show(value)
                raise _fail(
                    name,
                    M_KEY_TYPE,
                    "key_type",
                    line=line,
                    path_text=path or TOP_LEVEL,
                    key=shown,
                    kind_text=kind_of(value),
                )
            if value in frame.key_lines:
                raise _fail(
                    name,
                    M_DUPLICATE_KEY,
                    "duplicate_key",
                    line=line,
                    key=show(value),
                    first_line=frame.key_lines[value],
                    path=format_path([f.child for f in stack[:-1]] + [value]),
                )
            frame.key_lines[value] = line
            frame.child = value
            frame.expecting_key = False
        else:
            frame.obj[frame.child] = value
            frame.expecting_key = True

    try:
        for event in yaml.parse(text, Loader=_YamlLoader):
            if isinstance(event, yaml.ScalarEvent):
                if event.anchor is not None:
                    raise _fail(
                        name, M_ALIAS, "alias", line=_mark_line(event), token="&" + show(event.anchor)
                    )
                tag = event.tag
                if tag is None or tag == "!":
                    tag = _resolve_scalar(event.value, event.implicit)
                elif tag != _STR:
                    raise _fail(
                        name, M_YAML_TAG, "yaml_tag", line=_mark_line(event), tag=_short_tag(tag)
                    )
                attach(_construct_scalar(tag, event.value), event)
            elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                line = _mark_line(event)
                if event.anchor is not None:
                    raise _fail(name, M_ALIAS, "alias", line=line, token="&" + show(event.anchor))
                is_map = isinstance(event, yaml.MappingStartEvent)
                if event.tag not in (None, "!", _MAP if is_map else _SEQ):
                    raise _fail(name, M_YAML_TAG, "yaml_tag", line=line, tag=_short_tag(event.tag))
                if len(stack) >= MAX_DEPTH:
                    raise _fail(name, M_TOO_DEEP, "too_deep", line=line, limit=MAX_DEPTH)
                container: Any = {} if is_map else []
                attach(container, event)
                stack.append(_YamlFrame(container))
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                stack.pop()
            elif isinstance(event, yaml.AliasEvent):
                raise _fail(
                    name, M_ALIAS, "alias", line=_mark_line(event), token="*" + show(event.anchor)
                )
            elif isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise _fail(
                        name, M_MULTIPLE_DOCUMENTS, "multiple_documents", line=_mark_line(event)
                    )
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, name) from None
    if documents == 0 or (root is None and root_blank):
        raise _fail(name, M_EMPTY, "empty")
    return root


# --------------------------------------------------------------------------------------------
# Validation errors
# --------------------------------------------------------------------------------------------

_MISSING_TYPES = {
    "missing",
    "missing_argument",
    "missing_keyword_only_argument",
    "missing_positional_only_argument",
}
_EXTRA_TYPES = {"extra_forbidden", "unexpected_keyword_argument", "unexpected_positional_argument"}
_TYPE_EXPECTED = {
    "string_type": EXPECT_TEXT,
    "string_sub_type": EXPECT_TEXT,
    "int_type": EXPECT_INTEGER,
    "float_type": EXPECT_NUMBER,
    "decimal_type": EXPECT_DECIMAL,
    "bool_type": EXPECT_BOOL,
    "dict_type": EXPECT_MAPPING,
    "mapping_type": EXPECT_MAPPING,
    "model_type": EXPECT_MAPPING,
    "model_attributes_type": EXPECT_MAPPING,
    "dataclass_type": EXPECT_MAPPING,
    "dataclass_exact_type": EXPECT_MAPPING,
    "typed_dict_type": EXPECT_MAPPING,
    "list_type": EXPECT_LIST,
    "tuple_type": EXPECT_LIST,
    "set_type": EXPECT_LIST,
    "frozen_set_type": EXPECT_LIST,
    "iterable_type": EXPECT_LIST,
    "date_type": EXPECT_DATE,
    "datetime_type": EXPECT_DATETIME,
    "time_type": EXPECT_TIME,
    "timedelta_type": EXPECT_DURATION,
    "none_required": EXPECT_NULL,
    "bytes_type": EXPECT_TEXT,
    "is_instance_of": EXPECT_OTHER,
}
_ENUM_TYPES = {"enum", "literal_error"}
_DATE_TYPES = {"date_parsing", "date_from_datetime_parsing"}
_DATETIME_TYPES = {"datetime_parsing", "datetime_from_date_parsing", "datetime_object_invalid"}
_TIME_TYPES = {"time_parsing"}
_VALUE_TYPES = {"value_error", "assertion_error"}
_OTHER_CONSTRAINTS = {"uuid_parsing", "url_parsing", "string_unicode", "decimal_not_finite"}
_ISO_DATE = re.compile(r"\s*\d{4}-\d{2}-\d{2}\s*")


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, (str, int, float)) or hasattr(value, "isoformat")


def _param(value: object) -> str | int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return show(value, 80)


def _allowed(expected: object) -> str:
    """pydantic's ``"'M1', 'N1' or 'O'"`` → ``"M1, N1, O"`` (quotes kept if a value needs them)."""
    text = str(expected)
    head, sep, tail = text.rpartition(" or ")
    items = (head.split(", ") + [tail]) if sep else text.split(", ")
    if all(len(i) >= 2 and i[0] == i[-1] == "'" and "'" not in i[1:-1] for i in items):
        items = [i[1:-1] for i in items]
    return ", ".join(items)  # from the model's schema, not from the user: never clipped


def _is_known_msgid(text: str) -> bool:
    try:
        return translations("zh", DOMAIN).gettext(text) != text
    except OSError:
        return False


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated[...] and Optional[...] from an annotation."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return None
            annotation = members[0]
            continue
        return annotation


def _field_names(model: Any, path: tuple) -> list[str]:
    """Field names (and aliases) of the model found at ``path`` inside ``model``; best effort."""
    current = model
    for part in path:
        current = _unwrap(current)
        if current is None:
            return []
        if isinstance(current, type) and issubclass(current, pydantic.BaseModel):
            if not isinstance(part, str):
                return []
            found = None
            for fname, finfo in current.model_fields.items():
                if part in (fname, finfo.alias, finfo.validation_alias):
                    found = finfo
                    break
            if found is None:
                return []
            current = found.annotation
            continue
        origin, args = typing.get_origin(current), typing.get_args(current)
        if origin in (list, tuple, set, frozenset) and args and isinstance(part, int):
            current = args[0]
        elif origin is dict and len(args) == 2:
            current = args[1]
        else:
            return []
    current = _unwrap(current)
    if not (isinstance(current, type) and issubclass(current, pydantic.BaseModel)):
        return []
    names: list[str] = []
    for fname, finfo in current.model_fields.items():
        names.append(finfo.alias if isinstance(finfo.alias, str) else fname)
    return names


def _suggest(field_name: str, model: Any, path: tuple) -> str | None:
    try:
        names = _field_names(model, path)
    except Exception:  # introspection is a nicety; never let it hide the real problem
        return None
    if not names:
        return None
    by_lower = {n.lower(): n for n in names}
    match = difflib.get_close_matches(field_name.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[match[0]] if match else None


def _problem_for(error: dict, model: Any) -> Problem:
    kind = error.get("type", "")
    loc = tuple(error.get("loc", ()))
    if loc and loc[-1] == "[key]":  # pydantic's marker for "the key of this mapping entry"
        loc = loc[:-1]
    location = format_path(loc)
    raw = value = error.get("input")
    if loc and isinstance(loc[-1], str):
        from icv_permits.core.model.ids import mask

        value = mask(loc[-1], raw)  # an ID or phone number is never repeated in clear
    value = mask_value(value)  # nor one typed into any other field (core/personal_text.py)
    ctx = error.get("ctx") or {}
    message = show(error.get("msg", ""), 200)

    if kind in _MISSING_TYPES:
        return Problem(location, M_MISSING, {}, "missing")

    if kind in _EXTRA_TYPES:
        name = str(loc[-1]) if loc else ""
        suggestion = _suggest(name, model, loc[:-1]) if model is not None and loc else None
        if suggestion and suggestion != name:
            params = {"field": show(name), "suggestion": suggestion}
            return Problem(location, M_EXTRA_SUGGEST, params, "extra_forbidden")
        return Problem(location, M_EXTRA, {"field": show(name)}, "extra_forbidden")

    if kind in _TYPE_EXPECTED:
        params: dict = {"expected_text": _TYPE_EXPECTED[kind], "given_text": kind_of(raw)}
        if _is_scalar(value):
            params["input"] = show(value)
            return Problem(location, M_WRONG_TYPE, params, "wrong_type")
        return Problem(location, M_WRONG_TYPE_NOINPUT, params, "wrong_type")

    if kind in _ENUM_TYPES:
        allowed = _allowed(ctx.get("expected", ""))
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return Problem(location, M_ENUM, {"input": show(value), "allowed": allowed}, "enum")
        return Problem(
            location, M_ENUM_NOINPUT, {"allowed": allowed, "given_text": kind_of(raw)}, "enum"
        )

    if kind in _DATE_TYPES | _DATETIME_TYPES | _TIME_TYPES | {"date_from_datetime_inexact"}:
        if not _is_scalar(value):
            expected = EXPECT_DATE if kind in _DATE_TYPES else EXPECT_DATETIME
            if kind in _TIME_TYPES:
                expected = EXPECT_TIME
            return Problem(
                location,
                M_WRONG_TYPE_NOINPUT,
                {"expected_text": expected, "given_text": kind_of(raw)},
                "wrong_type",
            )
        shown = show(value)
        if kind == "date_from_datetime_inexact":
            msgid = M_DATE_INEXACT
        elif kind in _TIME_TYPES:
            msgid = M_TIME
        elif kind in _DATETIME_TYPES:
            msgid = M_DATETIME
        elif isinstance(value, str) and _ISO_DATE.fullmatch(value):
            msgid = M_DATE_IMPOSSIBLE
        else:
            msgid = M_DATE_MALFORMED
        return Problem(location, msgid, {"input": shown}, "date")

    if kind in _VALUE_TYPES:
        err = ctx.get("error")
        args = getattr(err, "args", ())
        if (
            len(args) == 2
            and isinstance(args[0], str)
            and isinstance(args[1], dict)
            and _is_known_msgid(args[0])
        ):
            params = {str(k): _param(v) for k, v in args[1].items()}
            return Problem(location, args[0], params, "value_error")
        text = str(err) if err is not None else message
        if _is_known_msgid(text):
            return Problem(location, text, {}, "value_error")
        return Problem(location, M_INVALID, {"message": show(text, 200)}, "value_error")

    if kind in _CONSTRAINT_MESSAGES or kind in _OTHER_CONSTRAINTS:
        params = {str(k): _param(v) for k, v in ctx.items() if k != "error"}
        params["message"] = message
        if _is_scalar(value):
            params.setdefault("input", show(value))
        if kind in ("too_short", "too_long") and isinstance(value, str):
            kind = "string_" + kind  # a constrained text field reports its length as an item count
        msgid = _CONSTRAINT_MESSAGES.get(kind, _CONSTRAINT_FALLBACK)
        return Problem(location, msgid, params, "constraint")

    return Problem(location, M_INVALID, {"message": message}, "invalid")


def validation_problems(
    exc: pydantic.ValidationError, *, model: type[pydantic.BaseModel] | None = None
) -> list[Problem]:
    """Turn a pydantic ``ValidationError`` into Problems located by field path.

    Paths are built from ``loc``: ``("vehicles", 2, "vin")`` → ``vehicles[2].vin``. Passing the
    ``model`` that was validated lets an unknown field get a "did you mean ...?" suggestion
    (pydantic's error does not list the known fields).
    """
    try:
        errors = exc.errors(include_url=False)
    except Exception:  # errors() can fail to serialise exotic ctx values; fall back to JSON
        errors = json.loads(exc.json(include_url=False))
    problems = [_masked(_problem_for(error, model), error.get("input")) for error in errors[:MAX_PROBLEMS]]
    if len(errors) > MAX_PROBLEMS:
        problems.append(Problem("", M_MORE_PROBLEMS, {"more": len(errors) - MAX_PROBLEMS, "total": len(errors)}, "more_problems"))
    return problems


def _masked(problem: Problem, raw: object) -> Problem:
    """``problem`` with every ID or phone number in its values masked, whatever the field (its
    location is kept). A value a validator clipped from the input (``text[:40]``) may end inside a
    number that it no longer shows whole: it is then cut from the masked input instead."""
    params = {key: _masked_param(value, raw) for key, value in problem.params.items()}
    return problem if params == problem.params else Problem(problem.location, problem.msgid, params, problem.code)


def _masked_param(value: object, raw: object) -> object:
    masked = mask_value(value)
    if masked != value or not isinstance(value, str) or not isinstance(raw, str):
        return masked
    clipped = value.removesuffix("…")
    for source in (raw, raw.strip()):
        if clipped and len(clipped) < len(source) and source.startswith(clipped):
            whole = mask_value(source)
            if whole != source:
                return str(whole)[: len(clipped)] + "…"
    return value
