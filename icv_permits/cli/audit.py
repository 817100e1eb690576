"""``audit log|verify|reconcile|replay|explain|export|import|keygen|checkpoint``: the decision log."""

from __future__ import annotations

import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from icv_permits.cli import (
    DEFAULT_LANG,
    FmtOpt,
    LangOpt,
    ListFormat,
    echo,
    errors,
    fail,
    root,
    write,
    write_json,
)
from icv_permits.core.errors import InputError, Problem
from icv_permits.core.i18n import N_
from icv_permits.core.visible import t

audit_app = typer.Typer(help="The decision log: log, verify, reconcile, replay, explain, export, import. 决策日志审计。", no_args_is_help=True)
root.add_typer(audit_app, name="audit")


class PackMode(StrEnum):
    recorded = "recorded"
    current = "current"


def _store():
    from icv_permits.services.database import open_store

    return open_store()


@audit_app.command("log")
def audit_log(
    limit: Annotated[int, typer.Option("--limit", min=1, help="The last N records.")] = 50,
    lang: LangOpt = DEFAULT_LANG,
    fmt: FmtOpt = ListFormat.text,
) -> None:
    """The latest log records. 最近的日志记录。"""
    from icv_permits.present import audit as views
    from icv_permits.services import audit

    with errors(lang):  # the bodies are read as the records are shown: a body no writer made is a broken log
        records = audit.records_tail(_store(), limit)
        text = (json.dumps([r.to_json() for r in records], ensure_ascii=False, indent=2) + "\n" if fmt is ListFormat.json
                else views.log_table(records, lang.value))
    (write_json if fmt is ListFormat.json else write)(text)


@audit_app.command("verify")
def audit_verify(
    from_seq: Annotated[int, typer.Option("--from", min=1, help="Start at this sequence number (its predecessor's hash is the anchor).")] = 1,
    expect_head: Annotated[str | None, typer.Option("--expect-head", help="A head hash noted earlier: the record that had it must still be in the chain verified (the log may have grown since).")] = None,
    checkpoint: Annotated[list[Path] | None, typer.Option("--checkpoint", help="A signed checkpoint file (repeatable): the log must still hold its record with its hash.")] = None,
    public_key: Annotated[Path | None, typer.Option("--public-key", help="The office's public key (PEM) for --checkpoint; default $ICV_PERMITS_VERIFY_KEY_FILE.")] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=0, help="Processes for a long log (default 1: on two cores one process verifies faster than two; 0 = every core).")] = 1,
    lang: LangOpt = DEFAULT_LANG,
    fmt: FmtOpt = ListFormat.text,
) -> None:
    """Walk the hash chain, and check signed checkpoints. Exit 0 intact, 4 broken (names the first
    broken record or the failing checkpoint). 校验哈希链。"""
    from icv_permits.present import audit as views
    from icv_permits.services import audit

    with errors(lang):
        store = _store()
        checked = audit.check_checkpoints(store, checkpoint, public_key) if checkpoint else []
        rep = audit.verify(store, from_seq=from_seq, expect_head=expect_head, jobs=jobs or (os.cpu_count() or 1))
    if fmt is ListFormat.json:
        data = rep.to_json()
        if checkpoint:
            data["checkpoints"] = [c.to_json() for c in checked]
        write_json(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    else:
        write(views.verify_text(rep, lang.value) + views.checkpoints_text(checked, lang.value))
    raise typer.Exit(0 if rep.intact and all(c.ok for c in checked) else audit.EXIT_BROKEN)


@audit_app.command("reconcile")
def audit_reconcile(
    lang: LangOpt = DEFAULT_LANG,
    fmt: FmtOpt = ListFormat.text,
) -> None:
    """Prove the office's tables (submissions, versions, engine runs, reviews, notices, plates)
    against the decision log. Exit 0 when they agree, 4 naming each difference. 核对办公数据表与决策日志。"""
    from icv_permits.present import audit as views
    from icv_permits.services import reconcile

    with errors(lang):
        run = reconcile.reconcile(_store())
        if fmt is ListFormat.json:  # written as found: a long list never waits in memory
            write_json('{"differences": [')
            for i, d in enumerate(run):
                write_json(("," if i else "") + "\n  " + json.dumps(d.to_json(), ensure_ascii=False))
            summary = json.dumps(run.summary.to_json(), ensure_ascii=False, indent=2)
            write_json(("\n" if run.summary.differences else "") + "],\n" + summary[1:].lstrip("\n") + "\n")
        else:
            for d in run:
                write(views.difference_line(d, lang.value))
            write(views.reconcile_summary(run.summary, lang.value))
    raise typer.Exit(0 if run.summary.agrees else reconcile.EXIT_DIFFERS)


@audit_app.command("keygen")
def audit_keygen(
    out: Annotated[Path, typer.Option("--out", "-o", help="The private signing key file to create (mode 0600; never overwritten).")],
    public_out: Annotated[Path | None, typer.Option("--public-out", help="Also write the public key here; otherwise it is printed.")] = None,
    lang: LangOpt = DEFAULT_LANG,
) -> None:
    """Make the office signing key pair for checkpoints. 生成检查点签名密钥。"""
    from icv_permits.present import audit as views
    from icv_permits.services import audit

    with errors(lang):
        kid = audit.keygen(out, public_out)
        pem = None if public_out is not None else audit.public_key_pem(out)
    echo(views.key_made(kid, str(out), None if public_out is None else str(public_out), lang.value), err=True, nl=False)
    if pem is not None:
        sys.stdout.write(pem)  # made here: nothing from outside


@audit_app.command("checkpoint")
def audit_checkpoint(
    out: Annotated[Path, typer.Option("--out", "-o", help="The checkpoint file to write (never overwritten).")],
    key: Annotated[Path | None, typer.Option("--key", help="The office signing key (PEM); default $ICV_PERMITS_SIGNING_KEY_FILE.")] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=0, help="Processes for the verification of a long log (default 1; 0 = every core).")] = 1,
    lang: LangOpt = DEFAULT_LANG,
) -> None:
    """Verify the chain, then sign its head with the office key: a checkpoint to keep outside the
    office. Exit 4, nothing signed, when the chain is broken. 签署日志检查点。"""
    from icv_permits.present import audit as views
    from icv_permits.services import audit, office

    with errors(lang):
        rep, doc = audit.take_checkpoint(_store(), out, key_path=key, clock=office.clock_from_env(), jobs=jobs or (os.cpu_count() or 1))
    if doc is None:
        write(views.verify_text(rep, lang.value))
        fail(t(lang.value, N_("The chain is broken: no checkpoint was signed.")), audit.EXIT_BROKEN)
    write(views.checkpoint_written(doc, str(out), lang.value))


@audit_app.command("replay")
def audit_replay(
    refs: Annotated[list[str] | None, typer.Argument(help="Decision IDs or sequence numbers (a submission or review replays its engine decision); none with --all.", show_default=False)] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every engine decision in the log.")] = False,
    pack: Annotated[str, typer.Option("--pack", help="recorded: the pack snapshot the decision used; current: today's rules/ (impact analysis); or the folder of an edited pack.")] = PackMode.recorded.value,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=0, help="Processes (0 = every core).")] = 0,
    lang: LangOpt = DEFAULT_LANG,
    fmt: FmtOpt = ListFormat.text,
) -> None:
    """Re-evaluate logged decisions. Exit 0 when all are identical, 1 when any differs, 4 when a named
    record is missing or holds no engine decision, or the log holds none. 重放决策。"""
    from icv_permits.present import audit as views
    from icv_permits.services import audit

    if not all_ and not refs:
        fail(t(lang.value, N_("Name decision IDs or sequence numbers, or give --all.")))
    with errors(lang):
        results = list(audit.replay_parallel(_store(), None if all_ else refs, pack_mode=pack, jobs=jobs or None))
    if fmt is ListFormat.json:
        write_json(json.dumps([r.to_json() for r in results], ensure_ascii=False, indent=2) + "\n")
    else:
        write(views.replay_text(results, lang.value))
    if not results:
        fail(t(lang.value, N_("Not found (exit 4):")) + "\n" + t(lang.value, N_("The log holds no engine decision to replay.")), 4)
    raise typer.Exit(0 if all(r.match for r in results) else 1)


@audit_app.command("explain")
def audit_explain(
    ref: Annotated[str, typer.Argument(help="Decision ID or sequence number.")],
    lang: LangOpt = DEFAULT_LANG,
) -> None:
    """Explain one logged decision, from what was recorded only; exit 4 (and a warning first) when a
    record shown fails verification. 解释一条决策。"""
    from icv_permits.present import audit as views
    from icv_permits.services import audit

    with errors(lang):
        store = _store()
        parts = audit.explain(store, ref)
        faults = audit.explain_faults(store, parts)
    text = views.explanation(parts, lang.value)
    if faults:  # shown all the same (what the record claims), under a warning, with the exit code of a broken log
        write("\n".join(views.untrusted(seq, faults[seq], lang.value) for seq in sorted(faults)) + "\n\n" + text)
        raise typer.Exit(4)
    write(text)


@audit_app.command("export")
def audit_export(
    out: Annotated[Path | None, typer.Option("--out", "-o", help="File to write; default standard output.")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="jsonl (the only format).")] = "jsonl",
    lang: LangOpt = DEFAULT_LANG,
) -> None:
    """Export the whole log (records and pack snapshots) as JSON Lines. 导出日志。"""
    from icv_permits.services import audit

    if fmt != "jsonl":
        fail(t(lang.value, N_("Unknown format {value}; the export format is jsonl."), value=fmt[:20]))
    with errors(lang):
        n = audit.export_to(_store(), out, _JsonOut())
    echo(t(lang.value, N_("{n} records exported."), n=n), err=True)


class _JsonOut:
    """Standard output for JSON Lines written piece by piece: each piece through
    :func:`~icv_permits.cli.write_json` (a bidi or C1 character of a value as a JSON escape, the
    same value for whoever reads it). An export to a file (``--out``) is written as it is."""

    def write(self, text: str) -> int:
        write_json(text)
        return len(text)

    def flush(self) -> None:
        sys.stdout.flush()


def shown_check(lang: str):
    """For ``audit import``: each record shown as ``audit log`` and ``audit explain`` show it (the same
    views), so that a record they could not show is refused at the door rather than met by an
    auditor as an internal error: ``audit log``'s summary of its body (the rest of its line reads
    nothing of the body but with ``.get``), ``audit explain``'s text of the record, and the decision
    an engine record holds laid out as the Markdown report, which reads of it all the text report
    reads, without wrapping lines to a terminal's width (a third of the time)."""
    from icv_permits.present import audit as views
    from icv_permits.present.report import render_markdown

    def shown(rec, decision, pack) -> None:
        views.summary(rec, lang)
        views.explain(rec, None, None, lang)
        if decision is not None:
            render_markdown(decision, pack, lang)

    return shown


@audit_app.command("import")
def audit_import(
    file: Annotated[Path, typer.Argument(help="A file written by audit export.")],
    lang: LangOpt = DEFAULT_LANG,
) -> None:
    """Verify an export and load it into this (empty) database, a line at a time, in one transaction.
    Exit 2 naming the line and field of anything that is not a line of an export (nothing loaded),
    4 if its chain is broken (nothing loaded). 导入并校验。"""
    from icv_permits.present import audit as views
    from icv_permits.services import audit

    with errors(lang):
        try:
            fh = file.open(encoding="utf-8", newline=None)
        except OSError as exc:
            raise InputError([Problem(str(file), N_("cannot read the file: {error_text}"), {"error_text": exc.strerror or type(exc).__name__}, "unreadable")]) from None
        with fh:
            try:
                rep = audit.import_jsonl(_store(), fh, shown=shown_check(lang.value))
            except UnicodeDecodeError:
                raise InputError([Problem(str(file), N_("the file is not UTF-8 text"), {}, "not_utf8")]) from None
    write(views.verify_text(rep, lang.value))
    if rep.intact:
        echo(t(lang.value, N_("{n} records imported."), n=rep.checked))
    else:
        line = next((b.detail.get("line") for b in rep.faults if b.detail.get("line")), None)
        if line is not None:
            echo(t(lang.value, N_("The first break is on line {line} of the file; nothing was loaded."), line=line))
        else:
            echo(t(lang.value, N_("Nothing was loaded.")))
    raise typer.Exit(0 if rep.intact else audit.EXIT_BROKEN)
