"""``tui``: the terminal app."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from icv_permits.cli import DEFAULT_LANG, LangOpt, root


class Mode(StrEnum):
    applicant = "applicant"
    regulator = "regulator"
    auditor = "auditor"


@root.command()
def tui(
    file: Annotated[Path | None, typer.Argument(help="An application or draft to open (applicant mode). 打开的申请文件。", show_default=False)] = None,
    mode: Annotated[Mode | None, typer.Option("--mode", "-m", help="Start in this mode; default: choose on the first screen.")] = None,
    lang: LangOpt = DEFAULT_LANG,
) -> None:
    """Open the terminal app: applicant, regulator and auditor modes. 打开终端界面。"""
    from icv_permits.tui.app import run as run_tui

    raise typer.Exit(run_tui(file=file, mode=mode.value if mode else None, lang=lang.value))
