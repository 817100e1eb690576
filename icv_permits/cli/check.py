"""``check`` and ``schema``: an applicant's pre-check."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from icv_permits.cli import (
    DEFAULT_LANG,
    DEFAULT_PACK,
    Format,
    LangOpt,
    PackOpt,
    errors,
    root,
    write,
    write_json,
)


@root.command()
def check(
    file: Annotated[Path, typer.Argument(help="Application file (YAML or JSON). 申请文件。", show_default=False)],
    pack: PackOpt = DEFAULT_PACK,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Date to judge on (YYYY-MM-DD); default today in Asia/Shanghai. 判断日期。")] = None,
    lang: LangOpt = DEFAULT_LANG,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="text, json or markdown.")] = Format.text,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show passing rules in full too. 显示全部结果。")] = False,
    lenient: Annotated[bool, typer.Option("--lenient", help="Skip bad rows of evidence files and list them in the decision instead of refusing the file. 跳过证据文件中的错误行。")] = False,
) -> None:
    """Check an application. Exit 0 compliant, 1 non-compliant, 3 incomplete, 2 bad input."""
    from icv_permits.present import report
    from icv_permits.services import precheck

    with errors(lang):
        day = precheck.parse_as_of(as_of) if as_of is not None else None
        result = precheck.check_file(file, pack=pack, as_of=day, lenient=lenient)
    text = report.render(result.decision, result.pack, fmt.value, lang.value, verbose=verbose)
    write_json(text) if fmt is Format.json else write(text)
    raise typer.Exit(result.exit_code)


@root.command()
def schema() -> None:
    """Print the JSON Schema of an application file. 打印申请文件的JSON Schema。"""
    from icv_permits.core.schema import application_schema_json

    sys.stdout.write(application_schema_json())  # generated from the model: nothing from outside
