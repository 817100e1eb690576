"""``rules list|show|docs|diff|lint|test``: the rule packs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from icv_permits.cli import (
    DEFAULT_LANG,
    DEFAULT_PACK,
    LangOpt,
    ListFormat,
    PackOpt,
    echo,
    errors,
    root,
    write,
    write_json,
)
from icv_permits.core.i18n import N_
from icv_permits.core.visible import t

rules_app = typer.Typer(help="The rule packs: list, show, docs, diff, lint, test. 规则包：列出、查看、文档、比较、检查、测试。", no_args_is_help=True)
root.add_typer(rules_app, name="rules")


@rules_app.command("list")
def rules_list(pack: PackOpt = DEFAULT_PACK, lang: LangOpt = DEFAULT_LANG, fmt: Annotated[ListFormat, typer.Option("--format", "-f")] = ListFormat.text) -> None:
    """List the rules of a pack. 列出规则。"""
    from icv_permits.present.rules import rules_json, rules_table
    from icv_permits.services import packs

    with errors(lang):
        p = packs.load(pack)
    if fmt is ListFormat.json:
        write_json(json.dumps(rules_json(p), ensure_ascii=False, indent=2) + "\n")
    else:
        write(rules_table(p, lang.value))


@rules_app.command("show")
def rules_show(
    rule_id: Annotated[str, typer.Argument(help="Rule ID, e.g. EVD-01.")],
    pack: PackOpt = DEFAULT_PACK,
    lang: LangOpt = DEFAULT_LANG,
    fmt: Annotated[ListFormat, typer.Option("--format", "-f")] = ListFormat.text,
) -> None:
    """One page for one rule: its law and source, parameters over time with their citations, reason
    codes, check code, pack cases and project tests. Exit 2 for an unknown ID (the closest are named).
    查看一条规则的完整说明。"""
    from icv_permits.present.rules import page_json, rule_page_text
    from icv_permits.services import rules

    with errors(lang):
        page = rules.rule_page(pack, rule_id)
    if fmt is ListFormat.json:
        write_json(json.dumps(page_json(page), ensure_ascii=False, indent=2) + "\n")
    else:
        write(rule_page_text(page, lang.value))


@rules_app.command("docs")
def rules_docs(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the pages into (docs/rules in this repository).")],
    pack: Annotated[str | None, typer.Option("--pack", "-p", help="One pack (id or folder); default every bundled pack.")] = None,
    lang: LangOpt = DEFAULT_LANG,
) -> None:
    """Generate one Markdown page per rule and an index (deterministic: regenerate and commit). 生成每条规则一页的文档。"""
    from icv_permits.present.rules import rules_docs as render
    from icv_permits.services import rules

    with errors(lang):
        ids = [pack] if pack else rules.available_packs()
        pages = {}
        for pid in ids:
            found = rules.rule_pages(pid)
            pages[found[0].pack.id if found else pid] = found
        written = rules.write_docs(out, render(pages, lang.value))
    echo(t(lang.value, N_("{n} file(s) written under {out}"), n=len(written), out=str(out)), err=True)


@rules_app.command("diff")
def rules_diff(
    a: Annotated[str, typer.Argument(help="The pack before: a pack folder, a bundled pack id, or a pack revision (hash or unique prefix) in the database.")],
    b: Annotated[str, typer.Argument(help="The pack after, as A.")],
    db: Annotated[str | None, typer.Option("--db", help="Database URL holding the pack snapshots (default $ICV_PERMITS_DATABASE_URL or the local database).")] = None,
    lang: LangOpt = DEFAULT_LANG,
    fmt: Annotated[ListFormat, typer.Option("--format", "-f")] = ListFormat.text,
) -> None:
    """What changed between two packs: rules, fields, parameters and their dated values with
    citations, sources, sections. Exit 0 identical, 1 they differ, 2 bad input. 比较两个规则包。"""
    from icv_permits.present.rules import diff_json, diff_text
    from icv_permits.services import rules

    with errors(lang):
        d = rules.diff(a, b, db)
    if fmt is ListFormat.json:
        write_json(json.dumps(diff_json(d), ensure_ascii=False, indent=2) + "\n")
    else:
        write(diff_text(d, lang.value))
    raise typer.Exit(0 if d.identical else 1)


@rules_app.command("lint")
def rules_lint(
    pack: Annotated[str | None, typer.Option("--pack", "-p", help="One pack; default every pack.")] = None,
    lang: LangOpt = DEFAULT_LANG,
    strict: Annotated[bool, typer.Option("--strict", help="Also fail for a threshold without a pack test case at each side of its boundary.")] = False,
) -> None:
    """Prove catalogue, parameters, code and the pack's own tests agree. Exit 0 only when clean. 检查规则包。"""
    from icv_permits.services import rules

    with errors(lang):
        results = rules.lint(pack)
        gaps = {pid: rules.coverage_gaps(pid) for pid in results}
    bad = 0
    for pid, problems in results.items():
        if problems:
            bad += len(problems)
            echo(t(lang.value, N_("{pack}: {n} problem(s)"), pack=pid, n=len(problems)))
            for p in problems:
                echo(f"  {p}")
        else:
            echo(t(lang.value, N_("{pack}: clean"), pack=pid))
        if gaps[pid]:
            if strict:
                bad += len(gaps[pid])
                echo(t(lang.value, N_("{pack}: {n} threshold boundary(ies) without a pack test case at that side"), pack=pid, n=len(gaps[pid])))
            else:
                echo(t(lang.value, N_("{pack}: warning: {n} threshold boundary(ies) without a pack test case at that side (--strict fails)"),
                       pack=pid, n=len(gaps[pid])))
            for g in gaps[pid]:
                echo(f"  {g}")
    raise typer.Exit(1 if bad else 0)


@rules_app.command("test")
def rules_test(
    pack: Annotated[str | None, typer.Option("--pack", "-p", help="One pack (id or folder); default every pack.")] = None,
    lang: LangOpt = DEFAULT_LANG,
) -> None:
    """Run the pack's own test cases (rules/<pack>/tests/*.yaml). Exit 0 all pass, 1 a case fails, 2 a malformed test file. 运行规则包自带的测试用例。"""
    from icv_permits.services import rules

    with errors(lang):
        results = rules.run_tests(pack)
    failed = 0
    for pid, cases in results.items():
        bad = [c for c in cases if not c.passed]
        failed += len(bad)
        for c in cases:
            if c.passed:
                echo(t(lang.value, N_("pass  {file}: {case}"), file=c.file, case=c.name))
            else:
                echo(t(lang.value, N_("FAIL  {file}: {case}"), file=c.file, case=c.name))
                for d in c.differences:
                    echo("      " + t(lang.value, N_("{rule}: expected {expected}, got {got}"), rule=d.rule, expected=d.expected, got=d.got))
        if not cases:
            echo(t(lang.value, N_("{pack}: no test cases"), pack=pid))
        else:
            echo(t(lang.value, N_("{pack}: {passed} of {n} case(s) pass"), pack=pid, passed=len(cases) - len(bad), n=len(cases)))
    raise typer.Exit(1 if failed else 0)
