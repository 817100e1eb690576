"""The ``icv-permits`` command line. It parses options, calls :mod:`icv_permits.service`, prints.

Exit codes: 0 compliant / success, 1 non-compliant, 2 bad input or usage, 3 incomplete,
70 internal error (a bug: please report it). See ``docs/cli.md``.
"""

from __future__ import annotations

import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from . import __version__
from .errors import InputError
from .i18n import N_, t
from .pack import DEFAULT_PACK, PackError

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


app = typer.Typer(
    name="icv-permits",
    help="Pre-check ICV road-test and demonstration applications against the Anhui 2025 rules. "
    "智能网联汽车道路测试与示范应用申请预审。",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
rules_app = typer.Typer(help="The rule packs: list, show, lint. 规则包：列出、查看、检查。", no_args_is_help=True)
app.add_typer(rules_app, name="rules")

LangOpt = Annotated[Lang, typer.Option("--lang", "-l", help="Language of the output: zh or en. 输出语言。")]
PackOpt = Annotated[str, typer.Option("--pack", "-p", help="Rule pack id or folder. 规则包。")]


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"icv-permits {__version__}")
        raise typer.Exit(0)


@app.callback()
def main_options(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")] = False,
) -> None:
    """icv-permits."""


@app.command()
def check(
    file: Annotated[Path, typer.Argument(help="Application file (YAML or JSON). 申请文件。", show_default=False)],
    pack: PackOpt = DEFAULT_PACK,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Date to judge on (YYYY-MM-DD); default today in Asia/Shanghai. 判断日期。")] = None,
    lang: LangOpt = _default_lang(),
    fmt: Annotated[Format, typer.Option("--format", "-f", help="text, json or markdown.")] = Format.text,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show passing rules in full too. 显示全部结果。")] = False,
    lenient: Annotated[bool, typer.Option("--lenient", help="Skip bad rows of evidence files and list them in the decision instead of refusing the file. 跳过证据文件中的错误行。")] = False,
) -> None:
    """Check an application. Exit 0 compliant, 1 non-compliant, 3 incomplete, 2 bad input."""
    from . import render, service

    try:
        day = service.parse_as_of(as_of) if as_of is not None else None
        result = service.check_file(file, pack=pack, as_of=day, lenient=lenient)
    except InputError as exc:
        _fail(t(lang.value, N_("Bad input (exit 2):")) + "\n" + exc.render(lang.value))
    except PackError as exc:
        _fail(t(lang.value, N_("Rule pack problem (exit 2):")) + "\n" + exc.render(lang.value))
    sys.stdout.write(render.render(result.decision, result.pack, fmt.value, lang.value, verbose=verbose))
    raise typer.Exit(result.exit_code)


@app.command()
def schema() -> None:
    """Print the JSON Schema of an application file. 打印申请文件的JSON Schema。"""
    from .schema import application_schema_json

    sys.stdout.write(application_schema_json())


def _load(pack: str, lang: Lang):
    from .pack import load_pack

    try:
        return load_pack(pack)
    except PackError as exc:
        _fail(t(lang.value, N_("Rule pack problem (exit 2):")) + "\n" + exc.render(lang.value))


@rules_app.command("list")
def rules_list(pack: PackOpt = DEFAULT_PACK, lang: LangOpt = _default_lang(), fmt: Annotated[ListFormat, typer.Option("--format", "-f")] = ListFormat.text) -> None:
    """List the rules of a pack. 列出规则。"""
    from .rules_view import rules_json, rules_table

    p = _load(pack, lang)
    if fmt is ListFormat.json:
        sys.stdout.write(json.dumps(rules_json(p), ensure_ascii=False, indent=2) + "\n")
    else:
        sys.stdout.write(rules_table(p, lang.value))


@rules_app.command("show")
def rules_show(rule_id: Annotated[str, typer.Argument(help="Rule ID, e.g. EVD-01.")], pack: PackOpt = DEFAULT_PACK, lang: LangOpt = _default_lang()) -> None:
    """Show one rule: text, citation, confidence, parameters over time. 查看一条规则。"""
    from .rules_view import rule_detail

    p = _load(pack, lang)
    rid = rule_id.strip().upper()
    if rid not in p.rules:
        _fail(t(lang.value, N_("No rule {id} in pack {pack}."), id=rule_id, pack=p.id))
    sys.stdout.write(rule_detail(p, rid, lang.value))


@rules_app.command("lint")
def rules_lint(pack: Annotated[str | None, typer.Option("--pack", "-p", help="One pack; default every pack.")] = None, lang: LangOpt = _default_lang()) -> None:
    """Prove catalogue, parameters and code agree. Exit 0 only when clean. 检查规则包。"""
    from .lint import lint

    try:
        results = lint(pack)
    except PackError as exc:
        _fail(t(lang.value, N_("Rule pack problem (exit 2):")) + "\n" + exc.render(lang.value))
    bad = 0
    for pid, problems in results.items():
        if problems:
            bad += len(problems)
            typer.echo(t(lang.value, N_("{pack}: {n} problem(s)"), pack=pid, n=len(problems)))
            for p in problems:
                typer.echo(f"  {p}")
        else:
            typer.echo(t(lang.value, N_("{pack}: clean"), pack=pid))
    raise typer.Exit(1 if bad else 0)


def main() -> None:
    """Console entry point: never shows a traceback unless ICV_PERMITS_DEBUG is set."""
    try:
        app()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - last line of defence
        if os.environ.get("ICV_PERMITS_DEBUG"):
            raise
        msgid = N_("Internal error (exit 70): {error}. Set ICV_PERMITS_DEBUG=1 to see the traceback, and please report it.")
        try:
            text = t(_default_lang().value, msgid, error=type(exc).__name__)
        except Exception:  # noqa: BLE001 - the catalogue itself may be what is broken
            text = msgid.format(error=type(exc).__name__)
        sys.stderr.write(text + "\n")
        sys.exit(EXIT_INTERNAL)


if __name__ == "__main__":  # pragma: no cover
    main()
