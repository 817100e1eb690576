"""The ``icv-permits`` command line: one module per command group (``check``, ``rules``, ``office``,
``database``, ``audit``, ``app``). Each command parses its options, calls the service layer
(:mod:`icv_permits.services`), and prints a view (:mod:`icv_permits.present`); no behaviour lives
here.

Exit codes: 0 compliant / success, 1 non-compliant, 2 bad input or usage, 3 incomplete, 4 not found
or a broken log, 5 conflict, 6 database unavailable, 70 internal error (a bug: please report it).
See ``docs/cli.md``.

What the commands print goes out through :func:`write` (text: every line made safe with
:func:`icv_permits.core.visible.visible_lines`), :func:`write_json` (JSON: the same characters as
JSON escapes, the value unchanged), :func:`echo` and :func:`fail`: no control character, escape
sequence or bidi override from a name, a reason or a path reaches the terminal (docs/cli.md, "What
reaches the terminal"). The views escape each value where it is put into a line, so that a line
break in a value cannot make a line of its own either.
"""

from __future__ import annotations

import os
import re
import sys
from contextlib import contextmanager
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from icv_permits import __version__
from icv_permits.core.errors import DEFAULT_PACK, InputError, PackError  # noqa: F401 - DEFAULT_PACK for the command groups
from icv_permits.core.i18n import N_, t
from icv_permits.core.visible import problems_text, visible_json, visible_lines
from icv_permits.core.visible import t as visible_t

EXIT_INTERNAL = 70


class Lang(StrEnum):
    zh = "zh"
    en = "en"


class Format(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


class ListFormat(StrEnum):
    text = "text"
    json = "json"


def _default_lang() -> Lang:
    env = os.environ.get("ICV_PERMITS_LANG", "zh").lower()
    return Lang.en if env.startswith("en") else Lang.zh


DEFAULT_LANG = _default_lang()

#: The command line, on which each command group registers its commands when its module is imported
#: (:data:`GROUPS`); ``app``, the same object, is had with every group registered.
root = typer.Typer(
    name="icv-permits",
    help="Pre-check ICV road-test and demonstration applications against the Anhui 2025 rules. "
    "智能网联汽车道路测试与示范应用申请预审。",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

LangOpt = Annotated[Lang, typer.Option("--lang", "-l", help="Language of the output: zh or en. 输出语言。")]
PackOpt = Annotated[str, typer.Option("--pack", "-p", help="Rule pack id or folder. 规则包。")]
FmtOpt = Annotated[ListFormat, typer.Option("--format", "-f", help="text or json.")]
ActorOpt = Annotated[str | None, typer.Option("--actor", help="Who acts (recorded); default $ICV_PERMITS_ACTOR or the login name. 操作人。")]


def write(text: str) -> None:
    """Text on standard output, each line made visible (its own line breaks kept)."""
    sys.stdout.write(visible_lines(text))


def write_json(text: str) -> None:
    """A JSON text on standard output, with the characters :func:`write` would escape written as
    JSON ``\\uXXXX`` escapes: a program reading it gets the same value."""
    sys.stdout.write(visible_json(text))


def echo(text: str, err: bool = False, nl: bool = True) -> None:
    """A line for a person (``typer.echo``), made visible."""
    typer.echo(visible_lines(text), err=err, nl=nl)


def fail(message: str, code: int = 2) -> NoReturn:
    echo(message, err=True)
    raise typer.Exit(code)


_HEADS = {2: N_("Bad input (exit 2):"), 4: N_("Not found (exit 4):"), 5: N_("Conflict (exit 5):"), 6: N_("Database unavailable (exit 6):"), 7: N_("Refused by the database (exit 7):")}


@contextmanager
def errors(lang: Lang):
    """Bad input, a missing record, a conflict, an unavailable database or a bad pack: a message in
    ``lang`` under a heading that names the exit code, and that exit code. Each problem's location
    (often a file name) and values are made visible before they are put into its message."""
    try:
        yield
    except InputError as exc:
        head = getattr(exc, "heading", None) or _HEADS.get(exc.exit_code, _HEADS[2])
        fail(t(lang.value, head) + "\n" + problems_text(exc, lang.value), exc.exit_code)
    except PackError as exc:
        text = visible_t(lang.value, exc.msgid, "report", **exc.params) if exc.msgid is not None else str(exc)
        fail(t(lang.value, N_("Rule pack problem (exit 2):")) + "\n" + text)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"icv-permits {__version__}")
        raise typer.Exit(0)


@root.callback()
def main_options(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")] = False,
) -> None:
    """icv-permits."""


#: The command groups: the modules of this package that register commands on :data:`root` when
#: imported, in the order ``--help`` lists them, each with the names of what it registers.
GROUPS: dict[str, tuple[str, ...]] = {
    "check": ("check", "schema"),
    "office": ("submit", "queue", "show", "decide", "notices", "entity", "plates"),
    "app_cmd": ("tui",),
    "audit": ("audit",),
    "database": ("db",),
    "rules": ("rules",),
}
_GROUP_OF = {name: group for group, names in GROUPS.items() for name in names}


def _register(groups) -> None:
    """Import the command groups ``groups`` (names of :data:`GROUPS`), so that their commands are on
    :data:`root`, listed in the order of :data:`GROUPS` whatever the order they were imported in."""
    from importlib import import_module

    for group in groups:
        import_module(f"{__name__}.{group}")
    order = list(GROUPS)
    root.registered_commands.sort(key=lambda c: order.index(c.callback.__module__.rpartition(".")[2]))
    root.registered_groups.sort(key=lambda g: order.index(_GROUP_OF[g.name]))


def __getattr__(name: str):
    """``app``: the command line with every command group registered (what ``--help`` lists)."""
    if name == "app":
        _register(GROUPS)
        globals()["app"] = root
        return root
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if TYPE_CHECKING:
    app = root


def _groups_for(argv: list[str]) -> tuple[str, ...]:
    """The command groups a command line needs: that of the command it names first, when it does;
    else all of them (the help, the version, a mistyped command and its suggestions list them)."""
    group = _GROUP_OF.get(argv[0]) if argv else None
    return (group,) if group is not None else tuple(GROUPS)


_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")  # a byte that is not UTF-8, as Python keeps it (surrogateescape)
M_ARG_NOT_UTF8 = N_("argument {number} (“{shown}”) is not UTF-8 text; type it, or name the file, in UTF-8")
M_ENV_NOT_UTF8 = N_("the environment variable {name} is not UTF-8 text; set it in UTF-8")


def _not_utf8(lang: str) -> str | None:
    """The message for a command-line argument or an ``ICV_PERMITS_*`` variable that holds bytes
    that are not UTF-8: such text can be neither stored, shown nor compared, so it is refused
    before any command reads it."""
    for number, arg in enumerate(sys.argv[1:], 1):
        if _ESCAPED_BYTE.search(arg):
            shown = _ESCAPED_BYTE.sub(lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}", arg)
            return t(lang, _HEADS[2]) + "\n" + t(lang, M_ARG_NOT_UTF8, number=number, shown=visible_lines(shown[:80]))
    for name, value in os.environ.items():
        if name.startswith("ICV_PERMITS_") and _ESCAPED_BYTE.search(value):
            return t(lang, _HEADS[2]) + "\n" + t(lang, M_ENV_NOT_UTF8, name=visible_lines(name))
    return None


def _lang_of(argv: list[str]) -> str:
    """The language a command line asks for (``--lang``/``-l``), else the default."""
    lang = DEFAULT_LANG.value
    for i, a in enumerate(argv):
        if a in ("--lang", "-l") and i + 1 < len(argv) and argv[i + 1] in ("zh", "en"):
            lang = argv[i + 1]
        elif a.startswith("--lang=") and a[7:] in ("zh", "en"):
            lang = a[7:]
    return lang


def main() -> None:
    """Console entry point: never shows a traceback unless ICV_PERMITS_DEBUG is set."""
    try:
        refused = _not_utf8(_lang_of(sys.argv[1:]))
        if refused is not None:
            sys.stderr.write(refused + "\n")
            sys.exit(2)
        _register(_groups_for(sys.argv[1:]))
        root()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("ICV_PERMITS_DEBUG"):
            raise
        msgid = N_("Internal error (exit 70): {error}. Set ICV_PERMITS_DEBUG=1 to see the traceback, and please report it.")
        lang = _lang_of(sys.argv[1:])
        try:
            text = t(lang, msgid, error=type(exc).__name__)
        except Exception:  # noqa: BLE001 - the catalogue itself may be what is broken
            text = msgid.format(error=type(exc).__name__)
        sys.stderr.write(text + "\n")
        sys.exit(EXIT_INTERNAL)


if __name__ == "__main__":  # pragma: no cover
    main()
