"""The ``icv-permits`` command line. It parses options, calls :mod:`icv_permits.services.precheck`, prints.

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

from icv_permits import __version__
from icv_permits.core.errors import DEFAULT_PACK, InputError, PackError
from icv_permits.core.i18n import N_, t

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
    from icv_permits.present import report as render
    from icv_permits.services import precheck as service

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
    from icv_permits.core.schema import application_schema_json

    sys.stdout.write(application_schema_json())


def _load(pack: str, lang: Lang):
    from icv_permits.adapters.packs import load_pack

    try:
        return load_pack(pack)
    except PackError as exc:
        _fail(t(lang.value, N_("Rule pack problem (exit 2):")) + "\n" + exc.render(lang.value))


@rules_app.command("list")
def rules_list(pack: PackOpt = DEFAULT_PACK, lang: LangOpt = _default_lang(), fmt: Annotated[ListFormat, typer.Option("--format", "-f")] = ListFormat.text) -> None:
    """List the rules of a pack. 列出规则。"""
    from icv_permits.present.rules import rules_json, rules_table

    p = _load(pack, lang)
    if fmt is ListFormat.json:
        sys.stdout.write(json.dumps(rules_json(p), ensure_ascii=False, indent=2) + "\n")
    else:
        sys.stdout.write(rules_table(p, lang.value))


@rules_app.command("show")
def rules_show(rule_id: Annotated[str, typer.Argument(help="Rule ID, e.g. EVD-01.")], pack: PackOpt = DEFAULT_PACK, lang: LangOpt = _default_lang()) -> None:
    """Show one rule: text, citation, confidence, parameters over time. 查看一条规则。"""
    from icv_permits.present.rules import rule_detail

    p = _load(pack, lang)
    rid = rule_id.strip().upper()
    if rid not in p.rules:
        _fail(t(lang.value, N_("No rule {id} in pack {pack}."), id=rule_id, pack=p.id))
    sys.stdout.write(rule_detail(p, rid, lang.value))


@rules_app.command("lint")
def rules_lint(pack: Annotated[str | None, typer.Option("--pack", "-p", help="One pack; default every pack.")] = None, lang: LangOpt = _default_lang()) -> None:
    """Prove catalogue, parameters and code agree. Exit 0 only when clean. 检查规则包。"""
    from icv_permits.services.rules import lint

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


# ---------------------------------------------------------------- the regulator's workflow (store)

db_app = typer.Typer(help="The store's database: upgrade, status. 数据库：升级、状态。", no_args_is_help=True)
entity_app = typer.Typer(help="Entities on record. 主体记录。", no_args_is_help=True)
plates_app = typer.Typer(help="Temporary plates. 临时号牌。", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(entity_app, name="entity")
app.add_typer(plates_app, name="plates")

ActorOpt = Annotated[str | None, typer.Option("--actor", help="Who acts (recorded); default $ICV_PERMITS_ACTOR or the login name. 操作人。")]
FmtOpt = Annotated[ListFormat, typer.Option("--format", "-f", help="text or json.")]


def _store_errors(lang: Lang):
    """Maps store and input problems to their exit codes, with a message in ``lang``."""
    from contextlib import contextmanager

    @contextmanager
    def guard():
        try:
            yield
        except InputError as exc:
            heads = {2: N_("Bad input (exit 2):"), 4: N_("Not found (exit 4):"), 5: N_("Conflict (exit 5):"), 6: N_("Database unavailable (exit 6):")}
            _fail(t(lang.value, heads.get(exc.exit_code, heads[2])) + "\n" + exc.render(lang.value), exc.exit_code)
        except PackError as exc:
            _fail(t(lang.value, N_("Rule pack problem (exit 2):")) + "\n" + exc.render(lang.value))

    return guard()


def _open():
    from icv_permits.adapters.store.db import open_store

    return open_store()


def _clock():
    from icv_permits.services.office import clock_from_env

    return clock_from_env()


def _actor(actor: str | None) -> str:
    from icv_permits.services.office import default_actor

    return (actor or "").strip()[:100] or default_actor()


@db_app.command("upgrade")
def db_upgrade(lang: LangOpt = _default_lang()) -> None:
    """Create or migrate the database to this version's schema (Alembic). 创建或升级数据库。"""
    from icv_permits.adapters.store import db, personal

    with _store_errors(lang):
        before, after = db.upgrade()
        created = personal.ensure_key_file()
    typer.echo(t(lang.value, N_("Database {url}: schema {before} → {after}."), url=db.shown_url(db.database_url()), before=before or "—", after=after))
    if created:
        typer.echo(t(lang.value, N_("Created the secret key {path} (owner-only). Keep a copy, and use the same key on every workstation of the office: drivers are recognised across submissions by it."), path=str(created)))


@db_app.command("status")
def db_status(lang: LangOpt = _default_lang(), fmt: FmtOpt = ListFormat.text) -> None:
    """Show which database is used and its schema revision. 显示数据库及其版本。"""
    from icv_permits.adapters.store import db

    url = db.database_url()
    with _store_errors(lang):
        path = db._sqlite_file(url)
        engine = db._engine(url)
        if path is not None and not path.exists():
            current = None  # not created yet: say so without creating an empty file
        else:
            try:
                current = db.current_revision(engine)
            except Exception as exc:  # noqa: BLE001 - reported as unavailable
                raise db.unavailable(url, exc) from None
    head = db.head_revision()
    data = {"url": db.shown_url(url), "backend": engine.dialect.name, "schema": current, "head": head, "up_to_date": current == head}
    if fmt is ListFormat.json:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    else:
        typer.echo(t(lang.value, N_("Database {url} ({backend}): schema {current}, this version needs {head}."),
                     url=data["url"], backend=data["backend"], current=current or "—", head=head))
        if current != head:
            typer.echo(t(lang.value, N_("Run `icv-permits db upgrade` to bring it up to date.")) if current is None or current in db.known_revisions()
                       else t(lang.value, N_("The database is newer than this icv-permits: upgrade icv-permits.")))
    raise typer.Exit(0 if current == head else 2)


@app.command()
def submit(
    file: Annotated[Path, typer.Argument(help="Application file (YAML or JSON). 申请文件。", show_default=False)],
    resubmits: Annotated[int | None, typer.Option("--resubmits", help="The returned submission this file corrects. 补正的申请编号。")] = None,
    pack: PackOpt = DEFAULT_PACK,
    actor: ActorOpt = None,
    lang: LangOpt = _default_lang(),
    fmt: FmtOpt = ListFormat.text,
    lenient: Annotated[bool, typer.Option("--lenient", help="Skip bad rows of evidence files. 跳过证据文件中的错误行。")] = False,
) -> None:
    """Import an application and re-check it against the rules and the records. 受理申请并复核。"""
    from icv_permits.present import office as R
    from icv_permits.services import office as W

    with _store_errors(lang):
        result = W.submit(_open(), file, actor=_actor(actor), clock=_clock(), pack=pack, resubmits=resubmits, lenient=lenient)
    if fmt is ListFormat.json:
        sys.stdout.write(R.dumps({"submission": result.submission.to_json(), "new_submission": result.new_submission,
                                  "decision": result.decision.to_json_dict()}))
    else:
        sys.stdout.write(R.submitted(result, lang.value))


@app.command("queue")
def queue_cmd(
    state: Annotated[list[str] | None, typer.Option("--state", help="under_review (default), returned, approved, rejected; repeatable.")] = None,
    all_states: Annotated[bool, typer.Option("--all", help="Every state. 全部。")] = False,
    lang: LangOpt = _default_lang(),
    fmt: FmtOpt = ListFormat.text,
) -> None:
    """Submissions waiting for a decision, oldest first. 待审核的申请。"""
    from icv_permits.adapters.store.tables import State
    from icv_permits.present import office as R
    from icv_permits.services import office as W

    known = [x.value for x in State]
    states = known if all_states else (state or [State.under_review.value])
    bad = [x for x in states if x not in known]
    if bad:
        _fail(t(lang.value, N_("Unknown state {value}; use one of {known}."), value=bad[0], known=", ".join(known)))
    with _store_errors(lang):
        views = W.queue(_open(), states=states)
    if fmt is ListFormat.json:
        sys.stdout.write(R.dumps([v.to_json() for v in views]))
    else:
        sys.stdout.write(R.queue(views, lang.value))


@app.command("show")
def show_cmd(
    submission_id: Annotated[int, typer.Argument(help="Submission number. 申请编号。")],
    lang: LangOpt = _default_lang(),
    fmt: FmtOpt = ListFormat.text,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show passing rules in full too.")] = False,
) -> None:
    """A submission: versions, engine runs, decisions, notices and its latest report. 查看申请。"""
    from icv_permits.adapters.packs import load_pack
    from icv_permits.present import office as R
    from icv_permits.services import office as W

    with _store_errors(lang):
        view, decision = W.show(_open(), submission_id)
        pack = load_pack(decision.pack_id) if decision is not None else None
    if fmt is ListFormat.json:
        sys.stdout.write(R.dumps({"submission": view.to_json(), "decision": decision.to_json_dict() if decision else None}))
    else:
        sys.stdout.write(R.submission(view, decision, pack, lang.value, verbose=verbose))


@app.command()
def decide(
    submission_id: Annotated[int, typer.Argument(help="Submission number. 申请编号。")],
    approve: Annotated[bool, typer.Option("--approve", help="Approve: issue the notice and plates. 批准。")] = False,
    return_: Annotated[bool, typer.Option("--return", help="Return for correction (补正). 退回补正。")] = False,
    reject: Annotated[bool, typer.Option("--reject", help="Reject. 不予批准。")] = False,
    reason: Annotated[str | None, typer.Option("--reason", help="Written reason (required to return, reject, or go against the engine). 理由。")] = None,
    if_revision: Annotated[int | None, typer.Option("--if-revision", help="Only if the submission is still at this revision (as shown). 仅当版本号一致时。")] = None,
    pack: PackOpt = DEFAULT_PACK,
    actor: ActorOpt = None,
    lang: LangOpt = _default_lang(),
    fmt: FmtOpt = ListFormat.text,
) -> None:
    """Decide a submission under review. 审核决定。"""
    from icv_permits.present import office as R
    from icv_permits.services import office as W

    chosen = [name for name, on in (("approve", approve), ("return", return_), ("reject", reject)) if on]
    if len(chosen) != 1:
        _fail(t(lang.value, N_("Give exactly one of --approve, --return, --reject.")))
    with _store_errors(lang):
        result = W.decide(_open(), submission_id, chosen[0], reason=reason, actor=_actor(actor), clock=_clock(), pack=pack,
                          expected_revision=if_revision)
    if fmt is ListFormat.json:
        sys.stdout.write(R.dumps({"submission": result.submission.to_json(), "review": result.review, "notice": result.notice,
                                  "decision": result.decision.to_json_dict()}))
    else:
        sys.stdout.write(R.decided(result, lang.value))


def _days(text: str, lang: Lang) -> int:
    import re

    m = re.fullmatch(r"\s*(\d{1,4})\s*d?\s*", text or "")
    if not m:
        _fail(t(lang.value, N_("--expiring-within takes a number of days such as 30d, not {value}."), value=text[:20]))
    return int(m.group(1))


@app.command("notices")
def notices_cmd(
    expiring_within: Annotated[str | None, typer.Option("--expiring-within", help="Only those whose notice or plates end within N days, e.g. 30d.")] = None,
    entity: Annotated[str | None, typer.Option("--entity", help="Only this entity's (credit code).")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Also ended and superseded notices.")] = False,
    lang: LangOpt = _default_lang(),
    fmt: FmtOpt = ListFormat.text,
) -> None:
    """Notices in force, soonest to end first. 有效通知书。"""
    from icv_permits.present import office as R
    from icv_permits.services import office as W

    days = _days(expiring_within, lang) if expiring_within is not None else None
    with _store_errors(lang):
        rows = W.list_notices(_open(), clock=_clock(), expiring_within_days=days, credit_code=entity, include_inactive=all_)
    sys.stdout.write(R.dumps(rows) if fmt is ListFormat.json else R.notices(rows, lang.value))


@plates_app.command("renew")
def plates_renew(
    notice: Annotated[str, typer.Argument(help="Notice number, e.g. AH-DA-2026-0001. 通知书编号。")],
    vin: Annotated[str | None, typer.Option("--vin", help="Only this vehicle.")] = None,
    pack: PackOpt = DEFAULT_PACK,
    actor: ActorOpt = None,
    lang: LangOpt = _default_lang(),
    fmt: FmtOpt = ListFormat.text,
) -> None:
    """Renew the plates of a notice's vehicles (≤ 6 months, never past the notice). 换领号牌。"""
    from icv_permits.present import office as R
    from icv_permits.services import office as W

    with _store_errors(lang):
        result = W.renew_plates(_open(), notice, actor=_actor(actor), clock=_clock(), pack=pack, vin=vin)
    sys.stdout.write(R.dumps(result) if fmt is ListFormat.json else R.renewed(result, lang.value))


@entity_app.command("show")
def entity_show(
    credit_code: Annotated[str, typer.Argument(help="Unified social credit code. 统一社会信用代码。")],
    lang: LangOpt = _default_lang(),
    fmt: FmtOpt = ListFormat.text,
) -> None:
    """An entity's history: submissions, notices, plates, drivers. 主体历史。"""
    from icv_permits.present import office as R
    from icv_permits.services import office as W

    with _store_errors(lang):
        data = W.entity_history(_open(), credit_code, clock=_clock())
    sys.stdout.write(R.dumps(data) if fmt is ListFormat.json else R.entity(data, lang.value))


# ---------------------------------------------------------------- the terminal app (issue #6)


class Mode(StrEnum):
    applicant = "applicant"
    regulator = "regulator"
    auditor = "auditor"


@app.command()
def tui(
    file: Annotated[Path | None, typer.Argument(help="An application or draft to open (applicant mode). 打开的申请文件。", show_default=False)] = None,
    mode: Annotated[Mode | None, typer.Option("--mode", "-m", help="Start in this mode; default: choose on the first screen.")] = None,
    lang: LangOpt = _default_lang(),
) -> None:
    """Open the terminal app: applicant, regulator and auditor modes. 打开终端界面。"""
    from tui.app import run as run_tui

    raise typer.Exit(run_tui(file=file, mode=mode.value if mode else None, lang=lang.value))


# ---------------------------------------------------------------- the decision log (audit)

audit_app = typer.Typer(help="The decision log: log, verify, replay, explain, export, import. 决策日志审计。", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


class PackMode(StrEnum):
    recorded = "recorded"
    current = "current"


@audit_app.command("log")
def audit_log(
    limit: Annotated[int, typer.Option("--limit", help="The last N records.")] = 50,
    lang: LangOpt = _default_lang(),
    fmt: FmtOpt = ListFormat.text,
) -> None:
    """The latest log records. 最近的日志记录。"""
    from icv_permits.present import audit as A
    from icv_permits.services import audit as ledger

    with _store_errors(lang):
        store = _open()
        last, _ = ledger.head(store)
        records = list(ledger.iter_records(store, max(1, last - limit + 1)))
    if fmt is ListFormat.json:
        sys.stdout.write(json.dumps([r.to_json() for r in records], ensure_ascii=False, indent=2) + "\n")
    else:
        sys.stdout.write(A.log_table(records, lang.value))


@audit_app.command("verify")
def audit_verify(
    from_seq: Annotated[int, typer.Option("--from", min=1, help="Start at this sequence number (its predecessor's hash is the anchor).")] = 1,
    expect_head: Annotated[str | None, typer.Option("--expect-head", help="A head hash noted earlier: the log must still contain it as its last hash.")] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=0, help="Processes for a long log (0 = every core).")] = 0,
    lang: LangOpt = _default_lang(),
    fmt: FmtOpt = ListFormat.text,
) -> None:
    """Walk the hash chain. Exit 0 intact, 4 broken (names the first broken record). 校验哈希链。"""
    from icv_permits.present import audit as A
    from icv_permits.services import audit as ledger

    with _store_errors(lang):
        rep = ledger.verify(_open(), from_seq=from_seq, expect_head=expect_head, jobs=jobs or (os.cpu_count() or 1))
    sys.stdout.write(json.dumps(rep.to_json(), ensure_ascii=False, indent=2) + "\n" if fmt is ListFormat.json else A.verify_text(rep, lang.value))
    raise typer.Exit(0 if rep.intact else ledger.EXIT_BROKEN)


@audit_app.command("replay")
def audit_replay(
    refs: Annotated[list[str] | None, typer.Argument(help="Decision IDs or sequence numbers; none with --all.", show_default=False)] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every engine decision in the log.")] = False,
    pack: Annotated[str, typer.Option("--pack", help="recorded: the pack snapshot the decision used; current: today's rules/; or the path of a pack folder (impact analysis of an edited pack).")] = PackMode.recorded.value,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=0, help="Processes (0 = every core).")] = 0,
    lang: LangOpt = _default_lang(),
    fmt: FmtOpt = ListFormat.text,
) -> None:
    """Re-evaluate logged decisions. Exit 0 when all are identical, 1 when any differs. 重放决策。"""
    from icv_permits.present import audit as A
    from icv_permits.services import audit as ledger

    if not all_ and not refs:
        _fail(t(lang.value, N_("Name decision IDs or sequence numbers, or give --all.")))
    if pack not in (PackMode.recorded.value, PackMode.current.value):
        from icv_permits.adapters.packs import load_pack

        try:
            load_pack(pack)  # a folder: refuse a bad one before reading the log
        except PackError as exc:
            _fail(t(lang.value, N_("Rule pack problem (exit 2):")) + "\n" + exc.render(lang.value))
    with _store_errors(lang):
        results = list(ledger.replay_parallel(_open(), None if all_ else refs, pack_mode=pack, jobs=jobs or None))
    if fmt is ListFormat.json:
        sys.stdout.write(json.dumps([r.to_json() for r in results], ensure_ascii=False, indent=2) + "\n")
    else:
        sys.stdout.write(A.replay_text(results, lang.value))
    raise typer.Exit(0 if all(r.match for r in results) else 1)


@audit_app.command("explain")
def audit_explain(
    ref: Annotated[str, typer.Argument(help="Decision ID or sequence number.")],
    lang: LangOpt = _default_lang(),
) -> None:
    """Explain one logged decision, from what was recorded only. 解释一条决策。"""
    from icv_permits.core.engine.decision import Decision
    from icv_permits.present import audit as A
    from icv_permits.services import audit as ledger

    with _store_errors(lang):
        store = _open()
        rec = ledger.find(store, ref)
        parts = []
        engine_rec = rec
        if rec.kind == "review" and rec.body.get("engine_decision"):
            parts.append(A.explain(rec, None, None, lang.value))
            engine_rec = ledger.find(store, rec.body["engine_decision"])
        if engine_rec.kind == "engine_decision":
            body = engine_rec.body
            pack = ledger.pack_from_snapshot(store, body["pack"]["revision"])
            parts.append(A.explain(engine_rec, Decision.model_validate(body["decision"]), pack, lang.value))
        elif not parts:
            parts.append(A.explain(rec, None, None, lang.value))
    sys.stdout.write("\n".join(parts))


@audit_app.command("export")
def audit_export(
    out: Annotated[Path | None, typer.Option("--out", "-o", help="File to write; default standard output.")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="jsonl (the only format).")] = "jsonl",
    lang: LangOpt = _default_lang(),
) -> None:
    """Export the whole log (records and pack snapshots) as JSON Lines. 导出日志。"""
    from icv_permits.services import audit as ledger

    if fmt != "jsonl":
        _fail(t(lang.value, N_("Unknown format {value}; the export format is jsonl."), value=fmt[:20]))
    with _store_errors(lang):
        store = _open()
        if out is None:
            n = ledger.export_jsonl(store, sys.stdout)
        else:
            tmp = out.with_name(out.name + ".part")
            with tmp.open("w", encoding="utf-8") as fh:
                n = ledger.export_jsonl(store, fh)
            os.replace(tmp, out)
    typer.echo(t(lang.value, N_("{n} records exported."), n=n), err=True)


@audit_app.command("import")
def audit_import(
    file: Annotated[Path, typer.Argument(help="A file written by audit export.")],
    lang: LangOpt = _default_lang(),
) -> None:
    """Verify an export and load it into this (empty) database. Exit 4 if its chain is broken. 导入并校验。"""
    from icv_permits.core.errors import Problem
    from icv_permits.present import audit as A
    from icv_permits.services import audit as ledger

    with _store_errors(lang):
        try:
            fh = file.open(encoding="utf-8")
        except OSError as exc:
            raise InputError([Problem(str(file), N_("cannot read the file: {error_text}"), {"error_text": exc.strerror or type(exc).__name__}, "unreadable")]) from None
        with fh:
            try:
                rep = ledger.import_jsonl(_open(), fh)
            except UnicodeDecodeError:
                raise InputError([Problem(str(file), N_("the file is not UTF-8 text"), {}, "not_utf8")]) from None
    sys.stdout.write(A.verify_text(rep, lang.value))
    if rep.intact:
        typer.echo(t(lang.value, N_("{n} records imported."), n=rep.checked))
    raise typer.Exit(0 if rep.intact else ledger.EXIT_BROKEN)


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
        argv = sys.argv[1:]
        lang = _default_lang().value
        for i, a in enumerate(argv):
            if a in ("--lang", "-l") and i + 1 < len(argv) and argv[i + 1] in ("zh", "en"):
                lang = argv[i + 1]
            elif a.startswith("--lang=") and a[7:] in ("zh", "en"):
                lang = a[7:]
        try:
            text = t(lang, msgid, error=type(exc).__name__)
        except Exception:  # noqa: BLE001 - the catalogue itself may be what is broken
            text = msgid.format(error=type(exc).__name__)
        sys.stderr.write(text + "\n")
        sys.exit(EXIT_INTERNAL)


if __name__ == "__main__":  # pragma: no cover
    main()
