"""``submit``, ``queue``, ``show``, ``decide``, ``notices``, ``plates renew``, ``entity show``: the
regulator's office."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from icv_permits.cli import (
    DEFAULT_LANG,
    DEFAULT_PACK,
    ActorOpt,
    FmtOpt,
    Lang,
    LangOpt,
    ListFormat,
    PackOpt,
    errors,
    fail,
    root,
    write,
    write_json,
)
from icv_permits.core.i18n import N_
from icv_permits.core.labels import STATES
from icv_permits.core.visible import t

entity_app = typer.Typer(help="Entities on record. 主体记录。", no_args_is_help=True)
plates_app = typer.Typer(help="Temporary plates. 临时号牌。", no_args_is_help=True)
root.add_typer(entity_app, name="entity")
root.add_typer(plates_app, name="plates")


def open_store():
    from icv_permits.services.database import open_store

    return open_store()


@root.command()
def submit(
    file: Annotated[Path, typer.Argument(help="Application file (YAML or JSON). 申请文件。", show_default=False)],
    resubmits: Annotated[int | None, typer.Option("--resubmits", help="The returned submission this file corrects. 补正的申请编号。")] = None,
    pack: PackOpt = DEFAULT_PACK,
    actor: ActorOpt = None,
    lang: LangOpt = DEFAULT_LANG,
    fmt: FmtOpt = ListFormat.text,
    lenient: Annotated[bool, typer.Option("--lenient", help="Skip bad rows of evidence files. 跳过证据文件中的错误行。")] = False,
) -> None:
    """Import an application and re-check it against the rules and the records. 受理申请并复核。"""
    from icv_permits.present import office as views
    from icv_permits.services import office

    with errors(lang):
        result = office.submit(open_store(), file, actor=office.default_actor(actor), clock=office.clock_from_env(), pack=pack, resubmits=resubmits, lenient=lenient)
    if fmt is ListFormat.json:
        write_json(views.dumps({"submission": result.submission.to_json(), "new_submission": result.new_submission,
                                  "decision": result.decision.to_json_dict()}))
    else:
        write(views.submitted(result, lang.value))


@root.command("queue")
def queue_cmd(
    state: Annotated[list[str] | None, typer.Option("--state", help="under_review (default), returned, approved, rejected; repeatable.")] = None,
    all_states: Annotated[bool, typer.Option("--all", help="Every state. 全部。")] = False,
    lang: LangOpt = DEFAULT_LANG,
    fmt: FmtOpt = ListFormat.text,
) -> None:
    """Submissions waiting for a decision, oldest first. 待审核的申请。"""
    from icv_permits.present import office as views
    from icv_permits.services import office

    known = list(STATES)
    states = known if all_states else (state or ["under_review"])
    bad = [x for x in states if x not in known]
    if bad:
        fail(t(lang.value, N_("Unknown state {value}; use one of {known}."), value=bad[0], known=", ".join(known)))
    with errors(lang):
        found = office.queue(open_store(), states=states)
    if fmt is ListFormat.json:
        write_json(views.dumps([v.to_json() for v in found]))
    else:
        write(views.queue(found, lang.value))


@root.command("show")
def show_cmd(
    submission_id: Annotated[int, typer.Argument(help="Submission number. 申请编号。")],
    lang: LangOpt = DEFAULT_LANG,
    fmt: FmtOpt = ListFormat.text,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show passing rules in full too.")] = False,
) -> None:
    """A submission: versions, engine runs, decisions, notices and its latest report. 查看申请。"""
    from icv_permits.present import office as views
    from icv_permits.services import office, packs

    with errors(lang):
        view, decision = office.show(open_store(), submission_id)
        pack = packs.load(decision.pack_id) if decision is not None else None
    if fmt is ListFormat.json:
        write_json(views.dumps({"submission": view.to_json(), "decision": decision.to_json_dict() if decision else None}))
    else:
        write(views.submission(view, decision, pack, lang.value, verbose=verbose))


@root.command()
def decide(
    submission_id: Annotated[int, typer.Argument(help="Submission number. 申请编号。")],
    approve: Annotated[bool, typer.Option("--approve", help="Approve: issue the notice and plates. 批准。")] = False,
    return_: Annotated[bool, typer.Option("--return", help="Return for correction (补正). 退回补正。")] = False,
    reject: Annotated[bool, typer.Option("--reject", help="Reject. 不予批准。")] = False,
    reason: Annotated[str | None, typer.Option("--reason", help="Written reason (required to return, reject, or go against the engine). 理由。")] = None,
    if_revision: Annotated[int | None, typer.Option("--if-revision", help="Only if the submission is still at this revision (as shown). 仅当版本号一致时。")] = None,
    pack: PackOpt = DEFAULT_PACK,
    actor: ActorOpt = None,
    lang: LangOpt = DEFAULT_LANG,
    fmt: FmtOpt = ListFormat.text,
) -> None:
    """Decide a submission under review. 审核决定。"""
    from icv_permits.present import office as views
    from icv_permits.services import office

    chosen = [name for name, on in (("approve", approve), ("return", return_), ("reject", reject)) if on]
    if len(chosen) != 1:
        fail(t(lang.value, N_("Give exactly one of --approve, --return, --reject.")))
    with errors(lang):
        result = office.decide(open_store(), submission_id, chosen[0], reason=reason, actor=office.default_actor(actor), clock=office.clock_from_env(), pack=pack,
                          expected_revision=if_revision)
    if fmt is ListFormat.json:
        write_json(views.dumps({"submission": result.submission.to_json(), "review": result.review, "notice": result.notice,
                                  "decision": result.decision.to_json_dict()}))
    else:
        write(views.decided(result, lang.value))


def _days(text: str, lang: Lang) -> int:
    import re

    m = re.fullmatch(r"\s*(\d{1,4})\s*d?\s*", text or "")
    if not m:
        fail(t(lang.value, N_("--expiring-within takes a number of days such as 30d, not {value}."), value=text[:20]))
    return int(m.group(1))


@root.command("notices")
def notices_cmd(
    expiring_within: Annotated[str | None, typer.Option("--expiring-within", help="Only those whose notice or plates end within N days, e.g. 30d.")] = None,
    entity: Annotated[str | None, typer.Option("--entity", help="Only this entity's (credit code).")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Also ended and superseded notices.")] = False,
    lang: LangOpt = DEFAULT_LANG,
    fmt: FmtOpt = ListFormat.text,
) -> None:
    """Notices in force, soonest to end first. 有效通知书。"""
    from icv_permits.present import office as views
    from icv_permits.services import office

    days = _days(expiring_within, lang) if expiring_within is not None else None
    with errors(lang):
        rows = office.list_notices(open_store(), clock=office.clock_from_env(), expiring_within_days=days, credit_code=entity, include_inactive=all_)
    write_json(views.dumps(rows)) if fmt is ListFormat.json else write(views.notices(rows, lang.value))


@plates_app.command("renew")
def plates_renew(
    notice: Annotated[str, typer.Argument(help="Notice number, e.g. AH-DA-2026-0001. 通知书编号。")],
    vin: Annotated[str | None, typer.Option("--vin", help="Only this vehicle.")] = None,
    pack: PackOpt = DEFAULT_PACK,
    actor: ActorOpt = None,
    lang: LangOpt = DEFAULT_LANG,
    fmt: FmtOpt = ListFormat.text,
) -> None:
    """Renew the plates of a notice's vehicles (≤ 6 months, never past the notice). 换领号牌。"""
    from icv_permits.present import office as views
    from icv_permits.services import office

    with errors(lang):
        result = office.renew_plates(open_store(), notice, actor=office.default_actor(actor), clock=office.clock_from_env(), pack=pack, vin=vin)
    write_json(views.dumps(result)) if fmt is ListFormat.json else write(views.renewed(result, lang.value))


@entity_app.command("show")
def entity_show(
    credit_code: Annotated[str, typer.Argument(help="Unified social credit code. 统一社会信用代码。")],
    lang: LangOpt = DEFAULT_LANG,
    fmt: FmtOpt = ListFormat.text,
) -> None:
    """An entity's history: submissions, notices, plates, drivers. 主体历史。"""
    from icv_permits.present import office as views
    from icv_permits.services import office

    with errors(lang):
        data = office.entity_history(open_store(), credit_code, clock=office.clock_from_env())
    write_json(views.dumps(data)) if fmt is ListFormat.json else write(views.entity(data, lang.value))
