"""The regulator's workflow: submissions, review, notices and plates, entity history.

One service layer under the CLI and the TUI. It opens the store, reads and writes it in short
transactions, runs the pure engine with the store's records (``RegistryFacts``) and never trusts a
verdict that comes with a file: every submission and every decision re-runs the engine.

States: ``submit`` → ``under_review`` → ``approved`` | ``returned`` (补正) | ``rejected``; a returned
submission comes back to ``under_review`` as a new version when it is re-submitted. Every change
bumps the submission's ``revision``; a decision made on a revision that is no longer current is
refused (optimistic concurrency), so of two regulators deciding at once one wins and the other is
told, and nothing is lost. A submission and a decision lock the application's entity and vehicles
before they read the records (``records.lock_parties``), so what they read stays true until they
commit: one submission under review per application, one entity's active notice per vehicle.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import pendulum
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from icv_permits.core.canonical import canonical_json, utc_timestamp
from icv_permits.adapters.settings import clock_from_env, default_actor  # noqa: F401 - the office's actor and clock
from icv_permits.core.engine import evaluate, validity
from icv_permits.core.engine.core import history_notices
from icv_permits.core.engine.decision import Decision, Outcome, Verdict
from icv_permits.core.errors import InputError, Problem, altered_row
from icv_permits.core.i18n import N_
from icv_permits.core.labels import NOTICE_STATUSES, STATES, VERDICT_WORDS
from icv_permits.adapters.documents import read_document
from icv_permits.core.model.application import Activity, Application, NoticeKind, Province
from icv_permits.core.model.application import Notice as NoticeModel
from icv_permits.core.model.evidence import EvidenceSummary
from icv_permits.core.model.ids import normalize_identifier
from icv_permits.core.model.registry import RegistryFacts
from icv_permits.core.model.types import TIMEZONE
from icv_permits.core.model.types import NUL_MESSAGE
from icv_permits.core.personal_text import mask_text
from icv_permits.core.pack import DEFAULT_PACK, Pack, office_pack
from icv_permits.adapters.packs import available_packs, load_pack
from icv_permits.services.precheck import Clock, SystemClock, parse_application
from icv_permits.services import audit
from icv_permits.adapters.store import tables
from icv_permits.adapters.store.db import MAX_ROW_ID, Conflict, NotFound, Store, row_id
from icv_permits.adapters.store import personal, records
from icv_permits.adapters.store.personal import Keys


NOTICE_KIND = {
    Activity.road_test: NoticeKind.road_test,
    Activity.demonstration_application: NoticeKind.demonstration_application,
    Activity.demonstration_operation: NoticeKind.demonstration_operation,
}

# the states a decision can leave, and where each action leads
TRANSITIONS = {
    (tables.State.under_review, tables.Action.approve): tables.State.approved,
    (tables.State.under_review, tables.Action.return_): tables.State.returned,
    (tables.State.under_review, tables.Action.reject): tables.State.rejected,
}



def _storable(option: str, text: str) -> str:
    """A reason or an actor typed in (the terminal app lets any character through): no NUL, which
    no database stores."""
    if "\x00" in text:
        raise InputError([Problem(option, NUL_MESSAGE, {}, "nul")])
    return text

def _now(clock: Clock) -> tuple[dt.datetime, pendulum.Date]:
    """(UTC instant, today in Asia/Shanghai) from the injected clock."""
    now = clock.now()
    utc = now.in_timezone("UTC")
    return dt.datetime(utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, utc.microsecond, tzinfo=dt.timezone.utc), now.in_timezone(TIMEZONE).date()


# ---------------------------------------------------------------- personal data


@dataclass
class SubmissionView:
    id: int
    state: str
    revision: int
    version: int
    activity: str
    application_id: str | None
    credit_code: str
    entity_name: str
    created_at: str
    updated_at: str
    verdict: str | None = None
    vehicles: int = 0
    versions: list[dict] = field(default_factory=list)
    runs: list[dict] = field(default_factory=list)
    reviews: list[dict] = field(default_factory=list)
    notices: list[dict] = field(default_factory=list)

    def to_json(self) -> dict:
        return self.__dict__.copy()


@dataclass
class SubmitResult:
    submission: SubmissionView
    decision: Decision
    pack: Pack
    new_submission: bool


@dataclass
class DecideResult:
    submission: SubmissionView
    review: dict
    decision: Decision
    pack: Pack
    notice: dict | None = None


def effective_history(app: Application, registry: RegistryFacts, day: dt.date, home: Province | None) -> list[NoticeModel]:
    """The history the engine will judge on ``day`` (records, other provinces' notices from the
    file, nothing issued after ``day``): what the evidence reader matches trips against."""
    return history_notices(app, registry, day, home)


# ---------------------------------------------------------------- submit


def _load_file(path: str | Path) -> tuple[Application, bytes]:
    p = Path(path)
    doc = read_document(p)
    app = parse_application(doc, name=str(p))
    return app, p.read_bytes()


def _pack(pack: str | Pack) -> Pack:
    """The pack the office works with: one of its installed packs (never a folder a client points
    at: an edited copy of the rules would decide and be logged as if they were the office's), naming
    its home province and its numbering."""
    if isinstance(pack, str) and pack not in available_packs():
        raise InputError([Problem("--pack", N_("the office judges with its installed rule packs only ({packs}), not {value}; a pack folder is for a pre-check or an audit replay"),
                                  {"packs": ", ".join(available_packs()), "value": pack[:80]}, "pack_not_installed")])
    return office_pack(pack if isinstance(pack, Pack) else load_pack(pack))


def _submission(s: Session, sub_id: int, *, lock: bool = False) -> tables.Submission:
    row_id(sub_id, str(sub_id)[:40], N_("no submission with this number"), "no_submission")
    q = select(tables.Submission).where(tables.Submission.id == sub_id)
    if lock:
        q = q.with_for_update()
    sub = s.exec(q).scalars().first()
    if sub is None:
        raise NotFound([Problem(str(sub_id), N_("no submission with this number"), {}, "no_submission")])
    return sub


def submit(
    store: Store,
    path: str | Path,
    *,
    actor: str,
    clock: Clock | None = None,
    pack: str | Pack = DEFAULT_PACK,
    resubmits: int | None = None,
    lenient: bool = False,
) -> SubmitResult:
    """Import an application file as a new submission, or as a new version of a returned one, and
    check it against the pack and the office's records. The file's own verdict, if any, is ignored."""
    clock = clock or SystemClock()
    now, today = _now(clock)
    actor = mask_text(_storable("--actor", actor))  # numbers typed into free text are never stored (core/personal_text.py)
    app, raw = _load_file(path)
    p = _pack(pack)
    keys = Keys.load(store.url)
    lookups = {d.ref: keys.id_lookup(d.id_number) for d in app.drivers}

    evidence = None
    if app.evidence is not None:
        from icv_permits.adapters.evidence import summarise

        with store.read() as s:
            history = effective_history(app, records.registry_facts(s, app, today, now, lookups, store, home=p.home_province), today, p.home_province)
        evidence = summarise(app, Path(path).parent, p, today, lenient=lenient, history=history)

    judged, doc, changed_fields = personal.pseudonymise(app, keys, p.id_mask)
    with store.write() as s:
        # before anything is read: the entity's submissions and notices and the vehicles' notices
        # stay as read until this transaction ends
        records.lock_parties(s, app.entity.credit_code, [v.vin for v in app.vehicles])
        records.rekey_drivers(s, app, keys, lookups)  # drivers on record under an older lookup scheme
        registry = records.registry_facts(s, app, today, now, lookups, store, home=p.home_province)
        if evidence is not None and _rt_windows(effective_history(app, registry, today, p.home_province)) != _rt_windows(history):
            raise Conflict([Problem(str(path), N_("the records changed while the evidence was read; submit again"), {}, "records_changed")])
        entity, _vehicles, _drivers = records.upsert_parties(s, app, keys, now)
        sub, new = _target_submission(s, app, entity, resubmits, path)
        decision = evaluate(judged, p, today, evidence, registry)
        try:
            with s.begin_nested():  # so that the clash below can still be looked up and named
                if new:
                    sub = tables.Submission(entity_id=entity.id, application_id=app.application_id, activity=app.activity.value,
                                            state=tables.State.under_review.value, current_version=1, revision=1, created_at=now, updated_at=now)
                    s.add(sub)
                    s.flush()
                else:
                    changed = s.execute(
                        update(tables.Submission)
                        .where(tables.Submission.id == sub.id, tables.Submission.revision == sub.revision, tables.Submission.state == tables.State.returned.value)
                        .values(state=tables.State.under_review.value, current_version=sub.current_version + 1, revision=sub.revision + 1,
                                updated_at=now, activity=app.activity.value, application_id=app.application_id)
                    )
                    if changed.rowcount != 1:
                        raise _changed(sub.id)
        except IntegrityError as exc:
            # the database's guard (migration 0006), should the look-up above ever miss one
            clash = records.under_review(s, entity.id, app.application_id) if records.one_under_review_violated(exc) else None
            if clash is None:
                raise
            raise _already_under_review(path, app.application_id, clash.id) from None
        if not new:
            s.refresh(sub)
        version = tables.SubmissionVersion(
            submission_id=sub.id, number=sub.current_version, submitted_at=now, actor=actor, file_name=mask_text(Path(path).name)[:500],
            file_sha256=hashlib.sha256(raw).hexdigest(), application_digest=decision.application_digest,
            document=canonical_json(doc), masked_fields=canonical_json(changed_fields), driver_lookups=canonical_json(lookups), key_fingerprint=keys.fingerprint,
            evidence=canonical_json(evidence.model_dump(mode="json")) if evidence is not None else None,
        )
        s.add(version)
        s.flush()
        run = _run(version.id, now, actor, "submit", today, p, decision)
        s.add(run)
        s.flush()
        audit.snapshot_pack(s, p, now)
        engine_rec = audit.append(s, "engine_decision", audit.engine_body(
            submission_id=sub.id, version=version.number, purpose="submit", engine_run_id=run.id, claimed_actor=actor,
            clock=utc_timestamp(now), snapshot=doc, masked_fields=changed_fields, decision=decision, pack=p), now)
        audit.append(s, "submission", {
            "type": "submission", "submission_id": sub.id, "version": version.number, "new_submission": new, "state": sub.state,
            "file_name": version.file_name, "file_sha256": version.file_sha256, "claimed_actor": actor,
            "engine_decision": engine_rec.decision_id}, now)
        view = _view(s, sub)
    return SubmitResult(view, decision, p, new)


def _rt_windows(notices: list[NoticeModel]) -> list[tuple]:
    return sorted((n.number, n.issued, n.valid_until, tuple(sorted(n.vins)), tuple(sorted(n.sections)))
                  for n in notices if n.kind is NoticeKind.road_test)


def _changed(sub_id: int) -> Conflict:
    return Conflict([Problem(str(sub_id), N_("the submission was changed by someone else meanwhile; look at it again (`show`) and retry"), {}, "stale_revision")])


def _already_under_review(path, application_id: str, sub_id: int) -> Conflict:
    return Conflict([Problem(str(path), N_("application {ref} is already under review as submission {id}; it takes a new version only after it is returned"),
                             {"ref": application_id, "id": sub_id}, "already_under_review")])


def _target_submission(s: Session, app: Application, entity: tables.Entity, resubmits: int | None, path) -> tuple[tables.Submission | None, bool]:
    """Where ``app`` goes: ``(the returned submission it corrects, False)``, or ``(None, True)`` for a
    new submission. Called under the entity's lock (``records.lock_parties``): no other submission of this entity
    can appear or change state until the caller commits. An application id already under review
    takes no second submission under review, neither a new one nor a correction of another."""
    current = records.under_review(s, entity.id, app.application_id) if app.application_id else None
    if resubmits is not None:
        sub = _submission(s, resubmits)
        if sub.entity_id != entity.id:
            raise Conflict([Problem(str(path), N_("submission {id} belongs to another entity; a correction must come from the same entity"), {"id": resubmits}, "other_entity")])
        if sub.state != tables.State.returned.value:
            raise Conflict([Problem(str(path), N_("submission {id} is {state_text}; only a returned submission takes a corrected version"),
                                    {"id": resubmits, "state_text": STATES[sub.state]}, "not_returned")])
        if current is not None and current.id != sub.id:
            raise _already_under_review(path, app.application_id, current.id)
        return sub, False
    if current is not None:
        raise _already_under_review(path, app.application_id, current.id)
    if app.application_id:
        returned = s.exec(select(tables.Submission).where(tables.Submission.entity_id == entity.id, tables.Submission.application_id == app.application_id,
                                                          tables.Submission.state == tables.State.returned.value)
                          .order_by(tables.Submission.id.desc())).scalars().first()
        if returned is not None:
            return returned, False
    return None, True


def _run(version_id: int, now: dt.datetime, actor: str, purpose: str, day: dt.date, p: Pack, decision: Decision) -> tables.EngineRun:
    return tables.EngineRun(version_id=version_id, run_at=now, actor=actor, purpose=purpose, as_of=day, pack_id=p.id,
                       pack_revision=p.revision, verdict=decision.verdict.value, decision=canonical_json(decision.to_json_dict()))


# ---------------------------------------------------------------- decide


def _items(decision: Decision) -> list[dict]:
    """What the applicant must correct: every failing rule and every missing field."""
    out = []
    for f in decision.findings:
        if f.outcome in (Outcome.failed, Outcome.missing):
            out.append({"rule_id": f.rule_id, "outcome": f.outcome.value, "reason": f.reason, "subject": f.subject.ref,
                        "subject_label": f.subject.label, "field": f.field})
    return out


def decide(
    store: Store,
    sub_id: int,
    action: tables.Action | str,
    *,
    reason: str | None,
    actor: str,
    clock: Clock | None = None,
    pack: str | Pack = DEFAULT_PACK,
    expected_revision: int | None = None,
) -> DecideResult:
    """Approve, return or reject a submission under review.

    The engine runs again as of the decision day with the records as they are now; deciding
    against its verdict needs a written reason, and returning or rejecting always does. Approval
    issues the notice and the plates. ``expected_revision`` is the revision the regulator looked
    at: if the submission changed since, nothing is written and :class:`Conflict` is raised."""
    clock = clock or SystemClock()
    action = tables.Action(action)
    reason = mask_text(_storable("--reason", (reason or "").strip())) or None  # as stored, logged and exported: no ID or phone number in clear
    actor = mask_text(_storable("--actor", actor))
    now, today = _now(clock)
    p = _pack(pack)
    if expected_revision is not None and (isinstance(expected_revision, bool) or not 1 <= expected_revision <= MAX_ROW_ID):
        raise InputError([Problem("--if-revision", N_("a revision is a whole number from 1 to {max}, not {value}"),
                                  {"max": MAX_ROW_ID, "value": str(expected_revision)[:40]}, "bad_revision")])
    with store.write() as s:
        sub = _submission(s, sub_id, lock=True)
        from_state = sub.state
        if expected_revision is not None and sub.revision != expected_revision:
            raise Conflict([Problem(str(sub_id), N_("the submission is at revision {current}, not {expected}: someone changed it meanwhile; look at it again"),
                                    {"current": sub.revision, "expected": expected_revision}, "stale_revision")])
        try:
            state = tables.State(sub.state)
        except ValueError:  # no state the office writes
            raise altered_row(f"submission {sub_id}", "state") from None
        to_state = TRANSITIONS.get((state, action))
        if to_state is None:
            raise Conflict([Problem(str(sub_id), N_("submission {id} is {state_text}; only a submission under review can be approved, returned or rejected"),
                                    {"id": sub_id, "state_text": STATES[sub.state]}, "illegal_transition")])
        version = s.exec(select(tables.SubmissionVersion).where(tables.SubmissionVersion.submission_id == sub.id,
                                                           tables.SubmissionVersion.number == sub.current_version)).scalars().one()
        try:  # what the office stored when the version was submitted: anything else was written behind its back
            app = Application.model_validate_json(version.document)
            evidence = EvidenceSummary.model_validate_json(version.evidence) if version.evidence else None
            lookups = json.loads(version.driver_lookups)
        except ValueError:  # pydantic's ValidationError and JSON's errors are ValueErrors
            raise altered_row(f"submission {sub_id}", "document") from None
        # the entity's notices and the vehicles' notices of other entities stay as read until this
        # decision commits: of two approvals naming one vehicle for two entities, the second reads
        # the first's notice (REC-02)
        records.lock_parties(s, app.entity.credit_code, [v.vin for v in app.vehicles])
        registry = records.registry_facts(s, app, today, now, lookups, store, home=p.home_province)
        decision = evaluate(app, p, today, evidence, registry)
        verdict = decision.verdict
        against = (action is tables.Action.approve and verdict is not Verdict.compliant) or (
            action is not tables.Action.approve and verdict is Verdict.compliant)
        if reason is None and (against or action is not tables.Action.approve):
            msg = (N_("the engine finds this submission {verdict_text}: deciding against it needs a written reason (--reason)") if against
                   else N_("returning or rejecting needs a written reason for the applicant (--reason)"))
            raise InputError([Problem("--reason", msg, {"verdict_text": VERDICT_WORDS[verdict.value]}, "reason_required")])
        run = _run(version.id, now, actor, "decide", today, p, decision)
        s.add(run)
        s.flush()
        changed = s.execute(update(tables.Submission).where(tables.Submission.id == sub.id, tables.Submission.revision == sub.revision)
                         .values(state=to_state.value, revision=sub.revision + 1, updated_at=now))
        if changed.rowcount != 1:
            raise _changed(sub.id)
        items = _items(decision) if action is tables.Action.return_ else []
        review = tables.Review(submission_id=sub.id, version_id=version.id, engine_run_id=run.id, action=action.value,
                          from_state=from_state, to_state=to_state.value, reason=reason, against_engine=against,
                          items=canonical_json(items), actor=actor, decided_at=now)
        s.add(review)
        s.flush()
        notice, superseded = None, []
        if action is tables.Action.approve:
            notice, superseded = _issue(s, sub, version, app, p, today, now, lookups)
        audit.snapshot_pack(s, p, now)
        engine_rec = audit.append(s, "engine_decision", audit.engine_body(
            submission_id=sub.id, version=version.number, purpose="decide", engine_run_id=run.id, claimed_actor=actor,
            clock=utc_timestamp(now), snapshot=json.loads(version.document), masked_fields=json.loads(version.masked_fields),
            decision=decision, pack=p), now)
        audit.append(s, "review", {
            "type": "review", "submission_id": sub.id, "version": version.number, "action": action.value, "from_state": from_state,
            "to_state": to_state.value, "reason": reason, "against_engine": against, "items": items, "claimed_actor": actor,
            "engine_decision": engine_rec.decision_id, "notice": notice, "superseded": superseded}, now)
        s.refresh(sub)
        view = _view(s, sub)
        review_view = _review_view(review)
    return DecideResult(view, review_view, decision, p, notice)


def _review_view(r: tables.Review) -> dict:
    return {"id": r.id, "action": r.action, "from_state": r.from_state, "to_state": r.to_state, "reason": r.reason,
            "against_engine": r.against_engine, "items": json.loads(r.items), "actor": r.actor, "decided_at": utc_timestamp(r.decided_at),
            "version_id": r.version_id, "engine_run_id": r.engine_run_id}


# ---------------------------------------------------------------- notices and plates


def _issue(s: Session, sub: tables.Submission, version: tables.SubmissionVersion, app: Application, p: Pack, today: dt.date, now: dt.datetime,
           lookups: dict[str, str]) -> tuple[dict, list[dict]]:
    """Issue the notice and its plates; returns its view and what it superseded (each old notice's
    number, new status and ``valid_until``, and the plates it shortened), which the review record
    states so that ``audit reconcile`` can prove those changes against the log."""
    original_until = None
    original = None
    if app.modifiers.adding_vehicles and app.adding and app.adding.original_notice:
        original = s.exec(select(tables.Notice).where(tables.Notice.number == app.adding.original_notice, tables.Notice.entity_id == sub.entity_id)).scalars().first()
        if original is not None:
            original_until = original.valid_until
    start, until = validity.notice_validity(app, p, today, original_until)
    if until < start:
        raise Conflict([Problem(str(sub.id), N_("nothing left to approve: the period applied for (or the original notice) ends on {end}, before {start}"),
                                {"end": until.isoformat(), "start": start.isoformat()}, "period_over")])
    kind = NOTICE_KIND[app.activity]
    notice = tables.Notice(number=records.take_number(s, tables.Notice, p, p.meta.numbering.notice[kind], today.year), entity_id=sub.entity_id, submission_id=sub.id, version_id=version.id,
                      kind=kind.value, issued=today, valid_from=start, valid_until=until,
                      status=tables.NoticeStatus.active.value, sections=canonical_json(sorted(app.sections)),
                      configurations=canonical_json(sorted({v.configuration for v in app.vehicles if v.configuration})), created_at=now)
    vins = {v.vin for v in app.vehicles}
    # a re-application supersedes the entity's notice of the same kind for the same vehicles: the old
    # one (and its plates) ends the day before the new one starts. The new notice names the last one
    # it replaces when it is inserted: the database refuses any later change of it (migration 0005)
    superseded = []
    if app.modifiers.renewal:
        for old in s.exec(select(tables.Notice).where(tables.Notice.entity_id == sub.entity_id, tables.Notice.kind == notice.kind,
                                                 tables.Notice.status == tables.NoticeStatus.active.value, tables.Notice.valid_until >= today)
                          .order_by(tables.Notice.id)).scalars().all():
            old_vins = set(s.exec(select(tables.Vehicle.vin).join(tables.NoticeVehicle, tables.NoticeVehicle.vehicle_id == tables.Vehicle.id)
                                  .where(tables.NoticeVehicle.notice_id == old.id)).scalars().all())
            if old_vins & vins and old is not original:
                superseded.append(old)
    notice.replaces_id = superseded[-1].id if superseded else None
    s.add(notice)
    s.flush()
    effects = []
    for old in superseded:
        old.status = tables.NoticeStatus.superseded.value
        old.valid_until = validity.superseded_until(old.valid_until, start)
        shortened = []
        for pl in s.exec(select(tables.Plate).where(tables.Plate.notice_id == old.id).order_by(tables.Plate.id)).scalars().all():
            if pl.valid_until > old.valid_until:
                pl.valid_until = old.valid_until
                shortened.append({"number": pl.number, "valid_until": pl.valid_until.isoformat()})
        effects.append({"number": old.number, "status": old.status, "valid_until": old.valid_until.isoformat(), "plates": shortened})
    vehicles = {r.vin: r for r in s.exec(select(tables.Vehicle).where(tables.Vehicle.vin.in_(list(vins)))).scalars().all()}
    drivers = {ref: s.exec(select(tables.Driver).where(records.driver_named([lookup]))).scalars().one() for ref, lookup in lookups.items()}
    plates = []
    for v in app.vehicles:
        row = vehicles[v.vin]
        s.add(tables.NoticeVehicle(notice_id=notice.id, vehicle_id=row.id))
        for ref in dict.fromkeys(v.drivers):
            s.add(tables.NoticeDriver(notice_id=notice.id, driver_id=drivers[ref].id, vehicle_id=row.id))
        pf, pu = validity.plate_validity(start, until, p, today)
        plates.append(_new_plate(s, p, notice.id, row.id, pf, pu, today, now))
    s.flush()
    return _notice_view(s, notice), effects


def _new_plate(s: Session, p: Pack, notice_id: int, vehicle_id: int, start: dt.date, until: dt.date, today: dt.date, now: dt.datetime,
               renews: int | None = None) -> tables.Plate:
    plate = tables.Plate(number=records.take_number(s, tables.Plate, p, p.meta.numbering.plate, today.year), notice_id=notice_id, vehicle_id=vehicle_id, valid_from=start,
                    valid_until=until, renews_id=renews, issued_at=now)
    s.add(plate)
    return plate


def _notice_view(s: Session, n: tables.Notice, day: dt.date | None = None) -> dict:
    rows = s.exec(select(tables.Plate, tables.Vehicle.vin).join(tables.Vehicle, tables.Vehicle.id == tables.Plate.vehicle_id)
                  .where(tables.Plate.notice_id == n.id).order_by(tables.Vehicle.vin, tables.Plate.valid_from)).all()
    entity = s.get(tables.Entity, n.entity_id)
    return {
        "number": n.number, "kind": n.kind, "status": n.status, "issued": n.issued.isoformat(), "valid_from": n.valid_from.isoformat(),
        "valid_until": n.valid_until.isoformat(), "credit_code": entity.credit_code, "entity_name": entity.name,
        "submission_id": n.submission_id, "sections": json.loads(n.sections), "configurations": json.loads(n.configurations),
        "vins": sorted({vin for _, vin in rows}),
        "plates": [{"number": pl.number, "vin": vin, "valid_from": pl.valid_from.isoformat(), "valid_until": pl.valid_until.isoformat(),
                    "renews": pl.renews_id} for pl, vin in rows],
    }


RENEWAL_WINDOW = "plate.renewal_window_days"


def _renewal_window(p: Pack, today: dt.date, where: str) -> int:
    """How many days before plates end they may be renewed: the pack's parameter in force today."""
    param = p.parameters.get(RENEWAL_WINDOW)
    current = param.at(today) if param is not None else None
    if current is None or not isinstance(current.value, int) or isinstance(current.value, bool) or current.value < 0:
        raise Conflict([Problem(where, N_("rule pack {pack} gives no renewal window for plates ({param}) in force on {day}; plates cannot be renewed"),
                                {"pack": p.id, "param": RENEWAL_WINDOW, "day": today.isoformat()}, "no_renewal_window")])
    return current.value


def renew_plates(store: Store, notice_number: str, *, actor: str, clock: Clock | None = None, pack: str | Pack = DEFAULT_PACK,
                 vin: str | None = None) -> dict:
    """Renew the plates of a notice's vehicles: each new plate starts the day after the current one
    ends (or today, if it has ended) and runs at most N months, never past the notice. Plates are
    renewed only within the pack's ``plate.renewal_window_days`` days before they end, so renewals
    cannot be stacked months ahead."""
    clock = clock or SystemClock()
    now, today = _now(clock)
    actor = mask_text(_storable("--actor", actor))
    p = _pack(pack)
    with store.write() as s:
        n = s.exec(select(tables.Notice).where(tables.Notice.number == notice_number.strip()).with_for_update()).scalars().first()
        if n is None:
            raise NotFound([Problem(notice_number, N_("no notice with this number"), {}, "no_notice")])
        if n.status not in (tables.NoticeStatus.active.value, tables.NoticeStatus.superseded.value) or n.valid_until < today:
            raise Conflict([Problem(n.number, N_("notice {number} is no longer in force ({status_text}, valid until {until}): the entity re-applies instead"),
                                    {"number": n.number, "status_text": NOTICE_STATUSES[n.status], "until": n.valid_until.isoformat()}, "notice_not_active")])
        q = select(tables.Plate, tables.Vehicle.vin).join(tables.Vehicle, tables.Vehicle.id == tables.Plate.vehicle_id).where(tables.Plate.notice_id == n.id)
        if vin:
            q = q.where(tables.Vehicle.vin == normalize_identifier(vin))
        latest: dict[str, tables.Plate] = {}
        for pl, v in s.exec(q).all():
            if v not in latest or (pl.valid_until, pl.id) > (latest[v].valid_until, latest[v].id):
                latest[v] = pl
        if not latest:
            raise NotFound([Problem(vin or n.number, N_("no plates of notice {number} for this vehicle"), {"number": n.number}, "no_plates")])
        renewed = []
        window = _renewal_window(p, today, n.number)
        opens = today + dt.timedelta(days=window)
        too_early = []
        for v, pl in sorted(latest.items()):
            if pl.valid_until >= n.valid_until:
                continue
            if pl.valid_until > opens:
                too_early.append((v, pl))
                continue
            start = max(pl.valid_until + dt.timedelta(days=1), today)
            f, u = validity.plate_validity(start, n.valid_until, p, today)
            new = _new_plate(s, p, n.id, pl.vehicle_id, f, u, today, now, renews=pl.id)
            renewed.append({"vin": v, "number": new.number, "valid_from": f.isoformat(), "valid_until": u.isoformat(), "renews": pl.number})
        if not renewed and too_early:
            v, pl = min(too_early, key=lambda x: x[1].valid_until)
            raise Conflict([Problem(n.number, N_("the plates of {vin} run until {until}; renewal opens {days} days before they end, on {opens}"),
                                    {"vin": v, "until": pl.valid_until.isoformat(), "days": window,
                                     "opens": (pl.valid_until - dt.timedelta(days=window)).isoformat()}, "renewal_too_early")])
        if not renewed:
            raise Conflict([Problem(n.number, N_("the plates already run to the end of notice {number} ({until}); nothing to renew"),
                                    {"number": n.number, "until": n.valid_until.isoformat()}, "nothing_to_renew")])
        s.flush()
        audit.append(s, "plates_renewed", {"type": "plates_renewed", "notice": n.number, "renewed": renewed, "claimed_actor": actor,
                                            "pack": {"id": p.id, "revision": p.revision}, "clock": utc_timestamp(now)}, now)
        return {"notice": _notice_view(s, n), "renewed": renewed}


def list_notices(store: Store, *, clock: Clock | None = None, expiring_within_days: int | None = None, credit_code: str | None = None,
                 include_inactive: bool = False) -> list[dict]:
    """Notices in force (or all), soonest to expire first; ``expiring_within_days`` keeps those
    whose notice or any current plate ends within that many days."""
    _, today = _now(clock or SystemClock())
    with store.read() as s:
        q = select(tables.Notice).order_by(tables.Notice.valid_until, tables.Notice.number)
        if not include_inactive:
            q = q.where(records.active_notices(today))
        if credit_code:
            q = q.join(tables.Entity, tables.Entity.id == tables.Notice.entity_id).where(tables.Entity.credit_code == normalize_identifier(credit_code))
        out = []
        for n in s.exec(q).scalars().all():
            view = _notice_view(s, n)
            latest: dict[str, str] = {}
            for pl in view["plates"]:
                latest[pl["vin"]] = max(latest.get(pl["vin"], ""), pl["valid_until"])
            view["plates_run_until"] = min(latest.values(), default=None)
            view["days_left"] = (n.valid_until - today).days
            if expiring_within_days is not None:
                horizon = (today + dt.timedelta(days=expiring_within_days)).isoformat()
                ends = [view["valid_until"]] + ([view["plates_run_until"]] if view["plates_run_until"] else [])
                if min(ends) > horizon:
                    continue
            out.append(view)
        return out


# ---------------------------------------------------------------- reading


def _view(s: Session, sub: tables.Submission, *, full: bool = False) -> SubmissionView:
    entity = s.get(tables.Entity, sub.entity_id)
    versions = s.exec(select(tables.SubmissionVersion).where(tables.SubmissionVersion.submission_id == sub.id).order_by(tables.SubmissionVersion.number)).scalars().all()
    current = next((v for v in versions if v.number == sub.current_version), None)
    runs = []
    if versions:
        runs = s.exec(select(tables.EngineRun).where(tables.EngineRun.version_id.in_([v.id for v in versions])).order_by(tables.EngineRun.id)).scalars().all()
    last = runs[-1] if runs else None
    if entity is None:
        raise altered_row(f"submission {sub.id}", "entity")
    vehicles = _vehicles_in(current.document, f"submission {sub.id}") if current else 0
    view = SubmissionView(
        id=sub.id, state=sub.state, revision=sub.revision, version=sub.current_version, activity=sub.activity,
        application_id=sub.application_id, credit_code=entity.credit_code, entity_name=entity.name,
        created_at=utc_timestamp(sub.created_at), updated_at=utc_timestamp(sub.updated_at), verdict=last.verdict if last else None, vehicles=vehicles,
    )
    if full:
        vnum = {v.id: v.number for v in versions}
        view.versions = [{"number": v.number, "submitted_at": utc_timestamp(v.submitted_at), "actor": v.actor, "file_name": v.file_name,
                          "file_sha256": v.file_sha256, "application_digest": v.application_digest} for v in versions]
        view.runs = [{"id": r.id, "version": vnum[r.version_id], "purpose": r.purpose, "run_at": utc_timestamp(r.run_at), "as_of": r.as_of.isoformat(),
                      "actor": r.actor, "pack_id": r.pack_id, "pack_revision": r.pack_revision, "verdict": r.verdict} for r in runs]
        reviews = s.exec(select(tables.Review).where(tables.Review.submission_id == sub.id).order_by(tables.Review.id)).scalars().all()
        view.reviews = [_review_view(r) | {"version": vnum[r.version_id]} for r in reviews]
        notices = s.exec(select(tables.Notice).where(tables.Notice.submission_id == sub.id).order_by(tables.Notice.id)).scalars().all()
        view.notices = [_notice_view(s, n) for n in notices]
    return view


def _vehicles_in(document: str, ref: str) -> int:
    """How many vehicles a stored application document lists (one the office stored: a JSON
    object with a list of vehicles; anything else was written behind its back)."""
    try:
        return len(json.loads(document)["vehicles"])
    except (ValueError, KeyError, TypeError, RecursionError):
        raise altered_row(ref, "document") from None


def queue(store: Store, *, states: list[str] | None = None) -> list[SubmissionView]:
    """Submissions in the given states (default: under review), oldest change first. A handful of
    queries for the whole list (not three per row), so a queue of 10,000 stays quick."""
    states = states or [tables.State.under_review.value]
    with store.read() as s:
        rows = s.execute(select(tables.Submission, tables.Entity.credit_code, tables.Entity.name).join(tables.Entity, tables.Entity.id == tables.Submission.entity_id)
                         .where(tables.Submission.state.in_(states)).order_by(tables.Submission.updated_at, tables.Submission.id)).all()
        current: dict[int, tuple[int, int]] = {}  # submission id → (version id, vehicles)
        verdicts: dict[int, str] = {}  # version id → verdict of its latest engine run
        ids = [sub.id for sub, _, _ in rows]
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            wanted = {sub.id: sub.current_version for sub, _, _ in rows[i:i + 500]}
            for sid, vid, number, doc in s.execute(select(tables.SubmissionVersion.submission_id, tables.SubmissionVersion.id,
                                                          tables.SubmissionVersion.number, tables.SubmissionVersion.document)
                                                   .where(tables.SubmissionVersion.submission_id.in_(chunk))).all():
                if wanted.get(sid) == number:
                    current[sid] = (vid, _vehicles_in(doc, f"submission {sid}"))
            vids = [v for v, _ in (current[x] for x in chunk if x in current)]
            for vid, verdict in s.execute(select(tables.EngineRun.version_id, tables.EngineRun.verdict).where(tables.EngineRun.version_id.in_(vids))
                                          .order_by(tables.EngineRun.id)).all():
                verdicts[vid] = verdict
        out = []
        for sub, code, name in rows:
            vid, vehicles = current.get(sub.id, (None, 0))
            out.append(SubmissionView(
                id=sub.id, state=sub.state, revision=sub.revision, version=sub.current_version, activity=sub.activity,
                application_id=sub.application_id, credit_code=code, entity_name=name, created_at=utc_timestamp(sub.created_at),
                updated_at=utc_timestamp(sub.updated_at), verdict=verdicts.get(vid), vehicles=vehicles))
        return out


def show(store: Store, sub_id: int) -> tuple[SubmissionView, Decision | None]:
    """A submission with its versions, engine runs, reviews and notices, and its latest decision."""
    with store.read() as s:
        sub = _submission(s, sub_id)
        view = _view(s, sub, full=True)
        decision = None
        if view.runs:
            run = s.get(tables.EngineRun, view.runs[-1]["id"])
            try:
                decision = Decision.model_validate_json(run.decision)
            except ValueError:  # pydantic's ValidationError too: no decision the engine made
                raise altered_row(f"submission {sub_id}", "decision") from None
        return view, decision


def entity_history(store: Store, credit_code: str, *, clock: Clock | None = None) -> dict:
    """An entity's submissions, notices (with plates), vehicles and drivers (masked)."""
    _, today = _now(clock or SystemClock())
    code = normalize_identifier(credit_code)
    with store.read() as s:
        entity = s.exec(select(tables.Entity).where(tables.Entity.credit_code == code)).scalars().first()
        if entity is None:
            raise NotFound([Problem(code, N_("no entity with this credit code on record"), {}, "no_entity")])
        subs = s.exec(select(tables.Submission).where(tables.Submission.entity_id == entity.id).order_by(tables.Submission.id)).scalars().all()
        notices = s.exec(select(tables.Notice).where(tables.Notice.entity_id == entity.id).order_by(tables.Notice.issued, tables.Notice.id)).scalars().all()
        nviews = []
        for n in notices:
            v = _notice_view(s, n)
            v["in_force"] = n.status == tables.NoticeStatus.active.value and n.valid_from <= today <= n.valid_until
            nviews.append(v)
        drivers = s.exec(select(tables.Driver).join(tables.NoticeDriver, tables.NoticeDriver.driver_id == tables.Driver.id)
                         .join(tables.Notice, tables.Notice.id == tables.NoticeDriver.notice_id).where(tables.Notice.entity_id == entity.id)
                         .distinct().order_by(tables.Driver.id)).scalars().all()
        return {
            "credit_code": entity.credit_code, "name": entity.name, "first_seen": utc_timestamp(entity.created_at),
            "submissions": [_view(s, x).to_json() for x in subs],
            "notices": nviews,
            "drivers": [{"name": d.name, "id_masked": d.id_masked} for d in drivers],
            "first_operation_done": any(n.kind == NoticeKind.demonstration_operation.value for n in notices),
        }


def vin_conflicts(store: Store, *, clock: Clock | None = None) -> list[dict]:
    """VINs on active notices of two or more entities at once (should be none)."""
    _, today = _now(clock or SystemClock())
    with store.read() as s:
        q = (select(tables.Vehicle.vin, tables.Entity.credit_code, tables.Notice.number)
             .join(tables.NoticeVehicle, tables.NoticeVehicle.vehicle_id == tables.Vehicle.id)
             .join(tables.Notice, tables.Notice.id == tables.NoticeVehicle.notice_id)
             .join(tables.Entity, tables.Entity.id == tables.Notice.entity_id).where(records.active_notices(today)).order_by(tables.Vehicle.vin, tables.Notice.number))
        by_vin: dict[str, list[tuple[str, str]]] = {}
        for vin, code, number in s.exec(q).all():
            by_vin.setdefault(vin, []).append((code, number))
        return [{"vin": vin, "notices": [{"credit_code": c, "notice": n} for c, n in rows]}
                for vin, rows in by_vin.items() if len({c for c, _ in rows}) > 1]


def submission_history(store: Store, sub_id: int) -> list[dict]:
    """What happened to a submission, oldest first: each version submitted, each engine run, each
    regulator's decision (with its reason and the notice it issued) and each renewal of the plates
    of its notices — with the time and who did it. Read only.

    A renewal's actor is the one its ``plates_renewed`` record of the decision log names (the
    plates themselves keep no actor)."""
    with store.read() as s:
        sub = _submission(s, sub_id)
        versions = s.exec(select(tables.SubmissionVersion).where(tables.SubmissionVersion.submission_id == sub.id)
                          .order_by(tables.SubmissionVersion.number)).scalars().all()
        vnum = {v.id: v.number for v in versions}
        events: list[dict] = [{"kind": "submitted", "at": utc_timestamp(v.submitted_at), "actor": v.actor, "version": v.number,
                               "file_name": v.file_name} for v in versions]
        runs = s.exec(select(tables.EngineRun).where(tables.EngineRun.version_id.in_(list(vnum) or [-1]))
                      .order_by(tables.EngineRun.id)).scalars().all() if vnum else []
        events += [{"kind": "engine", "at": utc_timestamp(r.run_at), "actor": r.actor, "version": vnum[r.version_id], "purpose": r.purpose,
                    "verdict": r.verdict, "as_of": r.as_of.isoformat()} for r in runs]
        notices = s.exec(select(tables.Notice).where(tables.Notice.submission_id == sub.id).order_by(tables.Notice.id)).scalars().all()
        by_version = {n.version_id: n for n in notices}
        for r in s.exec(select(tables.Review).where(tables.Review.submission_id == sub.id).order_by(tables.Review.id)).scalars().all():
            n = by_version.get(r.version_id) if r.action == tables.Action.approve.value else None
            events.append({"kind": "review", "at": utc_timestamp(r.decided_at), "actor": r.actor, "version": vnum[r.version_id],
                           "action": r.action, "to_state": r.to_state, "reason": r.reason, "against_engine": r.against_engine,
                           "notice": None if n is None else {"number": n.number, "valid_from": n.valid_from.isoformat(),
                                                             "valid_until": n.valid_until.isoformat()}})
        renewals: dict[tuple[str, str], dict] = {}
        for n in notices:
            rows = s.exec(select(tables.Plate, tables.Vehicle.vin).join(tables.Vehicle, tables.Vehicle.id == tables.Plate.vehicle_id)
                          .where(tables.Plate.notice_id == n.id, tables.Plate.renews_id.is_not(None))
                          .order_by(tables.Plate.issued_at, tables.Vehicle.vin)).all()
            for pl, vin in rows:
                ev = renewals.setdefault((n.number, utc_timestamp(pl.issued_at)), {
                    "kind": "renewal", "at": utc_timestamp(pl.issued_at), "actor": "", "notice": n.number, "plates": []})
                ev["plates"].append({"vin": vin, "number": pl.number, "valid_from": pl.valid_from.isoformat(), "valid_until": pl.valid_until.isoformat()})
        if renewals:
            wanted = {p["number"]: ev for ev in renewals.values() for p in ev["plates"]}
            for (body,) in s.execute(select(tables.DecisionLog.body).where(tables.DecisionLog.kind == "plates_renewed")).all():
                rec = json.loads(body)
                for r in rec.get("renewed", []) if isinstance(rec, dict) else []:
                    ev = wanted.get(r.get("number")) if isinstance(r, dict) else None
                    if ev is not None and isinstance(rec.get("claimed_actor"), str):
                        ev["actor"] = rec["claimed_actor"]
        events += list(renewals.values())
    order = {"submitted": 0, "engine": 1, "review": 2, "renewal": 3}
    return sorted(events, key=lambda e: (e["at"], e.get("version", 1 << 30), order[e["kind"]]))
