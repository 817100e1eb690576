"""Problems with the user's input, and the exception that carries them.

A :class:`Problem` is data, not text: a location (a file name or a field path such as
``vehicles[2].vin``), an English message template marked with :func:`~icv_permits.core.i18n.N_`
(gettext domain ``input``), the values for its ``{named}`` placeholders, and a stable machine
code. It is rendered in a language only when it is shown, so the same problem can be printed
in Chinese for the operator and in English in a log.

Parameter values are ``str`` or ``int``. A parameter whose name ends in ``_text`` holds a
msgid of the ``input`` domain (for example ``N_("a list")``) and is translated before it is
substituted; text that is not a known msgid passes through unchanged, so such a parameter may
also carry free text (for example an operating-system error message).

:class:`InputError` means "the input is bad" (exit code 2). It always carries at least one
Problem, and never needs a traceback to be understood.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from icv_permits.core.i18n import N_, translations

__all__ = ["DOMAIN", "InputError", "Problem", "show"]

#: gettext domain of every message in this module and in :mod:`icv_permits.adapters.documents`.
DOMAIN = "input"

#: Longest piece of user input ever echoed back in a message.
SHOW_LIMIT = 40


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the input.

    ``location`` is a file name, or a field path such as ``vehicles[2].vin``; ``""`` means the
    document root and is rendered without a prefix.
    """

    location: str
    msgid: str
    params: dict = field(hash=False)
    code: str

    def __post_init__(self) -> None:
        for key, value in self.params.items():
            if not isinstance(key, str) or not isinstance(value, (str, int)):
                raise TypeError(
                    f"Problem parameter {key!r} must be str or int, not {type(value).__name__}"
                )

    def message(self, lang: str) -> str:
        """The translated message alone, without the location."""
        catalogue = translations(lang, DOMAIN)
        params = {
            key: catalogue.gettext(value) if key.endswith("_text") and isinstance(value, str) else value
            for key, value in self.params.items()
        }
        return _fill(catalogue.gettext(self.msgid), params, fallback=self.msgid)

    def render(self, lang: str) -> str:
        """``"<location>: <message>"`` in ``lang`` (``"zh"`` or ``"en"``)."""
        text = self.message(lang)
        return f"{self.location}: {text}" if self.location else text


class InputError(Exception):
    """Bad input: exit code 2. Carries one or more :class:`Problem` objects."""

    exit_code = 2

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]):
        problems = list(problems)
        if not problems:
            raise ValueError("InputError needs at least one Problem")
        super().__init__(problems)
        self.problems: list[Problem] = problems

    @property
    def codes(self) -> list[str]:
        return [p.code for p in self.problems]

    def render(self, lang: str) -> str:
        """One problem per line, in ``lang``."""
        return "\n".join(p.render(lang) for p in self.problems)

    def __str__(self) -> str:
        return self.render("en")


class LogBroken(InputError):
    """Exit 4: what the log holds is not what was written — a stored value no writer makes (a body
    that is not JSON, a time that is not an instant), found by a reader that is not ``audit
    verify``; the message says so and points to verify, which names the break."""

    exit_code = 4
    heading = N_("Log BROKEN (exit 4):")


class StoreAltered(InputError):
    """Exit 4: a row of the office's tables holds what the office never writes (a state that is no
    state, a document that is not JSON, a decision that is no decision, a reference to no row) —
    changed behind its back; ``audit reconcile`` shows what differs from the log."""

    exit_code = 4
    heading = N_("Records ALTERED (exit 4):")


M_ROW_ALTERED = N_("its {what} is not as the office writes it: the office's tables were changed behind its back; "
                   "`icv-permits audit reconcile` shows what differs from the log")


def altered_row(ref: str, what: str) -> StoreAltered:
    return StoreAltered([Problem(ref, M_ROW_ALTERED, {"what": what}, "altered")])


class _KeepMissing(dict):
    """A format mapping that leaves an unknown ``{placeholder}`` as it is."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _fill(template: str, params: dict, *, fallback: str) -> str:
    """``template.format(**params)``, but a broken translation never raises."""
    if not params:
        return template
    for text in (template, fallback):
        try:
            return text.format_map(_KeepMissing(params))
        except (ValueError, IndexError, AttributeError, KeyError):
            continue
    return template


# Characters escaped in messages besides C0/C1 controls: line/paragraph separators, the
# full-width space (easily typed by mistake in Chinese input methods) and zero-width characters.
_INVISIBLE = frozenset({0x2028, 0x2029, 0x3000, 0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0xFEFF})


def show(value: object, limit: int = SHOW_LIMIT) -> str:
    """A short, printable rendering of a scalar from the user's input.

    At most ``limit`` characters of the input are kept (then ``…``); control characters are
    written as ``\\xNN``/``\\uNNNN`` (as are the full-width space and zero-width characters) so
    that a message never contains a raw line break, an escape sequence or an invisible
    character; YAML spellings are used for ``None`` and booleans.
    """
    if value is None:
        text = "null"
    elif value is True or value is False:
        text = "true" if value else "false"
    elif hasattr(value, "isoformat"):
        text = value.isoformat()
    else:
        text = str(value)
    clipped = text[:limit]
    out = []
    for ch in clipped:
        code = ord(ch)
        if code < 0x20 or 0x7F <= code < 0xA0 or code in _INVISIBLE:
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out) + ("…" if len(text) > limit else "")


# Words used as ``*_text`` parameters: the kind of a value found in the input.
KIND_MAPPING = N_("a mapping")
KIND_LIST = N_("a list")
KIND_STRING = N_("text")
KIND_NUMBER = N_("a number")
KIND_INTEGER = N_("a whole number")
KIND_BOOL = N_("true/false")
KIND_NULL = N_("null (an empty value)")
KIND_OTHER = N_("a value of another kind")


def kind_of(value: object) -> str:
    """The msgid naming what kind of value ``value`` is (for ``*_text`` parameters)."""
    if value is None:
        return KIND_NULL
    if isinstance(value, bool):
        return KIND_BOOL
    if isinstance(value, int):
        return KIND_INTEGER
    if isinstance(value, float):
        return KIND_NUMBER
    if isinstance(value, str):
        return KIND_STRING
    if isinstance(value, dict):
        return KIND_MAPPING
    if isinstance(value, (list, tuple)):
        return KIND_LIST
    return KIND_OTHER


DEFAULT_PACK = "anhui-2025"
"""The rule pack used when none is named (re-exported by :mod:`icv_permits.core.pack`)."""


class PackError(Exception):
    """A pack cannot be found or is malformed (exit code 2).

    Errors a user can cause (an unknown ``--pack``) carry a msgid of the ``report`` domain so they
    render in Chinese too; errors inside a pack's files are for its maintainer and stay English.
    """

    exit_code = 2

    def __init__(self, message: str, msgid: str | None = None, **params: object):
        super().__init__(message)
        self.msgid = msgid
        self.params = params

    def render(self, lang: str) -> str:
        if self.msgid is None:
            return str(self)
        from icv_permits.core.i18n import t

        return t(lang, self.msgid, "report", **self.params)
