"""Text views of the decision log for auditors: the log, verification, replay, explanation.

What a record holds (actors, reasons, file names, paths, names in a decision) is untrusted text:
it is shown only as a value of a message (the ``t`` of :mod:`icv_permits.core.visible`), through
:func:`~icv_permits.core.visible.visible`, or in a :func:`~icv_permits.present.office.table` cell.
"""

from __future__ import annotations

from icv_permits.core.engine.decision import Decision
from icv_permits.core.i18n import N_
from icv_permits.core.visible import t, visible
from icv_permits.core.pack import Pack
from icv_permits.core.labels import RECORD_KINDS
from icv_permits.present.office import local, state_text, table
from icv_permits.present.report import render_text, verdict_text
from icv_permits.core.checkpoint import CheckpointResult
from icv_permits.core.log import Break, Record, ReplayResult, VerifyReport
from icv_permits.core.reconcile import Difference, Summary

PURPOSE = {"submit": N_("on submission"), "decide": N_("re-run to decide")}
MASKING = {"stand_in": N_("stand-in number, same check result"), "kept_invalid": N_("masked, kept invalid"), "mask": N_("masked")}
PROBLEM = {
    "edited": N_("its content does not match its hash: the record was changed"),
    "link": N_("its prev_hash is not the hash of the record before it: a record was inserted, deleted or moved before it"),
    "gap": N_("record {expected_seq} is missing: the next record found is {found_seq}"),
    "order": N_("record {found_seq} stands where record {expected_seq} should: records were moved"),
    "head": N_("the log head says seq {head_seq} but the last record is {last_seq}: the tail of the log was cut or the head altered"),
    "anchor": N_("the expected head {expected_head} is not a record of the verified chain: the log was cut or rewritten at or before that anchor"),
    "time": N_("record {seq} was recorded at {recorded_at}, before record {previous_seq} ({previous_recorded_at}): times go backwards along the log"),
}
REVIEWED = {"approve": N_("approved"), "return": N_("returned for correction"), "reject": N_("rejected")}
"""A regulator's decision as the log tells it (what was done; ``ACTIONS`` names the command)."""
RECORD_FAULT = {
    "snapshot": N_("it was judged with pack snapshot {revision}, which does not hash to its revision: the rules it holds were changed after they were stored"),
    "head": N_("it stands past the log head (seq {head_seq}): the head was altered or the record added behind the log's back"),
}
OUTSIDE_CHAIN = {
    "snapshot": N_("Pack snapshot {revision} BROKEN: its content hashes to {computed}, not to its revision: the snapshot was changed after it was stored."),
    "head_missing": N_("The log's head (table log_head) is missing: the {last_seq} records verified cannot be checked against a cut tail, and nothing can be added to the log. `icv-permits db upgrade` puts the head back only while the log is empty."),
    "snapshot_unproven": N_("Note: pack snapshot {revision} ({pack_id}) is stored in the older form, whose revision cannot be recomputed, and is not today's pack of that revision: verification cannot prove it genuine; replay its decisions to see that they still come out as recorded."),
    "trigger_missing": N_("Append-only trigger {trigger} on {table} is missing: the table can be changed without a trace (`icv-permits db upgrade` restores it)."),
    "trigger_disabled": N_("Append-only trigger {trigger} on {table} is disabled: the table can be changed without a trace (`icv-permits db upgrade` restores it)."),
    "trigger_altered": N_("Append-only trigger {trigger} on {table} is not as the migration made it: the table may be changed without a trace (`icv-permits db upgrade` restores it)."),
    "office_trigger_missing": N_("Trigger {trigger} on {table}, which keeps what the office issued as it was issued, is missing: the table can be changed in place without a trace (`icv-permits db upgrade` restores it; `icv-permits audit reconcile` shows what differs from the log)."),
    "office_trigger_disabled": N_("Trigger {trigger} on {table}, which keeps what the office issued as it was issued, is disabled: the table can be changed in place without a trace (`icv-permits db upgrade` restores it; `icv-permits audit reconcile` shows what differs from the log)."),
    "office_trigger_altered": N_("Trigger {trigger} on {table}, which keeps what the office issued as it was issued, is not as the migration made it: the table may be changed in place without a trace (`icv-permits db upgrade` restores it; `icv-permits audit reconcile` shows what differs from the log)."),
}




def summary(rec: Record, lang: str) -> str:
    body = rec.body
    if rec.kind == "engine_decision":
        purpose = body.get("purpose")
        what = f"{verdict_text(lang, body.get('verdict'))} ({t(lang, PURPOSE[purpose]) if purpose in PURPOSE else visible(purpose)})"
    elif rec.kind == "review":
        action = body.get("action")
        what = t(lang, REVIEWED[action]) if action in REVIEWED else visible(action or "")
        if body.get("against_engine"):
            what += " " + t(lang, N_("(against the engine)"))
    elif rec.kind == "submission":
        what = f"v{visible(body.get('version'))} {visible(body.get('file_name', ''))}"
    else:
        what = visible(body.get("notice", ""))
    return visible(what)


def log_table(records: list[Record], lang: str) -> str:
    if not records:
        return t(lang, N_("The log is empty.")) + "\n"
    headers = [t(lang, N_("Seq")), t(lang, N_("Recorded")), t(lang, N_("Kind")), t(lang, N_("Actor")), t(lang, N_("Submission")),
               t(lang, N_("What")), t(lang, N_("Decision ID"))]
    rows = [[str(r.seq), local(r.recorded_at), t(lang, RECORD_KINDS.get(r.kind, r.kind)),
             f"{r.actor}/{r.body.get('claimed_actor', '')}", str(r.body.get("submission_id", "—")), summary(r, lang), r.decision_id[:8]]
            for r in records]
    return table(headers, rows)


def _warning_lines(rep: VerifyReport, lang: str) -> list[str]:
    return [t(lang, OUTSIDE_CHAIN[b.problem], **dict(b.detail)) for b in rep.warnings if b.problem in OUTSIDE_CHAIN]


def verify_text(rep: VerifyReport, lang: str) -> str:
    if rep.intact:
        return "\n".join([t(lang, N_("Chain intact: {n} records checked (seq {first}–{last}); head {hash}."), n=rep.checked, first=rep.first_seq,
                                 last=rep.last_seq, hash=rep.head_hash), *_warning_lines(rep, lang)]) + "\n"
    out = []
    chain = [b for b in rep.faults if b.problem in PROBLEM]
    for i, b in enumerate(chain):
        reason = t(lang, PROBLEM[b.problem], **{k: v for k, v in b.detail.items()})
        out.append(t(lang, N_("Chain BROKEN at record {seq} (decision {id}): {reason}"), seq=b.seq, id=b.decision_id or "—", reason=reason))
        if i == 0:
            out.append(t(lang, N_("{n} records before it verified."), n=rep.checked))
    if not chain:
        out.append(t(lang, N_("Chain intact: {n} records checked (seq {first}–{last}); head {hash}."), n=rep.checked, first=rep.first_seq,
                      last=rep.last_seq, hash=rep.head_hash))
    for b in rep.faults:
        key = f"{'office_' if b.detail.get('guards') == 'office' else ''}trigger_{b.detail.get('state')}" if b.problem == "trigger" else b.problem
        if key in OUTSIDE_CHAIN:
            out.append(t(lang, OUTSIDE_CHAIN[key], **{k: v for k, v in b.detail.items()}))
    if not chain:
        out.append(t(lang, N_("The log is NOT intact.")))
    return "\n".join(out + _warning_lines(rep, lang)) + "\n"


CHECKPOINT_PROBLEM = {
    "wrong_key": N_("signed by key {checkpoint_key}, not by the public key given ({public_key}): wrong key, or a checkpoint not made by the office"),
    "bad_signature": N_("the signature is not valid for key {key}: the checkpoint was altered or forged"),
    "shorter": N_("the log is shorter than the checkpoint: its last record is {last_seq}, the checkpoint is at seq {seq}"),
    "missing": N_("record {seq} is missing"),
    "hash_differs": N_("hash differs at seq {seq}: the checkpoint says {hash}, the log holds {found_hash}: the log was rewritten up to there"),
}


def checkpoints_text(results: list[CheckpointResult], lang: str) -> str:
    """One line per checkpoint: held (the log has only grown since) or the first difference."""
    out = []
    for r in results:
        if r.ok:
            out.append(t(lang, N_("Checkpoint {file} holds: record {seq} still has hash {hash} (taken {time}, key {key_id})."),
                         file=r.source, seq=r.seq, hash=r.hash, time=r.time, key_id=r.key_id))
        else:
            reason = t(lang, CHECKPOINT_PROBLEM[r.problem], seq=r.seq, hash=r.hash, **r.detail)
            out.append(t(lang, N_("Checkpoint {file} FAILS: {reason}"), file=r.source, reason=reason))
    return "".join(line + "\n" for line in out)


def checkpoint_written(doc: dict, path: str, lang: str) -> str:
    return t(lang, N_("Checkpoint written to {file}: seq {seq}, hash {hash}, key {key_id}. Keep it outside the office."),
             file=path, seq=doc["seq"], hash=doc["hash"], key_id=doc["key_id"]) + "\n"


def key_made(key_id: str, private_path: str, public_path: str | None, lang: str) -> str:
    text = t(lang, N_("Signing key {key_id} written to {file} (readable by its owner only). Keep it away from the database."),
             key_id=key_id, file=private_path) + "\n"
    if public_path is not None:
        text += t(lang, N_("Public key written to {file}: give it to whoever verifies checkpoints."), file=public_path) + "\n"
    return text


def replay_text(results: list[ReplayResult], lang: str) -> str:
    """A replay as the CLI prints it and the app shows it (one text for both): how many came out
    identical and how many differ, then each that differs with why, then the identical ones."""
    head, differ, tail = replay_summary(results, lang)
    return "\n".join([head, *differ, *([tail] if tail else [])]) + "\n"


def _record_lines(r: ReplayResult, lang: str) -> list[str]:
    """What a replay of one decision says: notes a reader must know even when it is identical, and
    for one that differs, why (rule by rule, parameter by parameter)."""
    out = []
    for n in r.notes:
        if n["note"] == "evidence_counted_by_reader":
            out.append(t(lang, N_("· seq {seq}: evidence counted by the evidence reader (decision format 1); a pack's counting parameters cannot change its totals"),
                         seq=r.seq))
            if n["counting_params_changed"]:
                out.append("    " + t(lang, N_("counting parameters changed, not applied to these totals: {params}"), params=", ".join(n["counting_params_changed"])))
    if r.match:
        return out
    out.append(t(lang, N_("✗ seq {seq} · submission {sub} · decision {id}: recorded {old}, now {new}"), seq=r.seq, sub=r.submission_id,
                 id=r.decision_id[:8], old=verdict_text(lang, r.recorded_verdict), new=verdict_text(lang, r.replayed_verdict)))
    forged = [n for n in r.notes if n["note"] == "snapshot_forged"]
    if forged:
        out.append("    " + t(lang, N_("not replayed: the pack snapshot {revision} does not hash to its revision (it was changed after it was stored); run `icv-permits audit verify`"),
                              revision=forged[0]["revision"]))
    elif r.error:
        out.append("    " + t(lang, N_("could not be replayed: {error}"), error=r.error))
    for d in r.rule_diffs:
        detail = t(lang, N_("values differ")) if d.values_changed else f"{', '.join(d.recorded) or '—'} → {', '.join(d.replayed) or '—'}"
        out.append(f"    {visible(d.rule_id)} {visible(d.subject)}: {visible(detail)}")
    for c in r.parameter_changes:
        name = c.get("param") or c.get("rule")
        out.append("    " + t(lang, N_("because {name} changed: {old} → {new}"), name=name, old=_short(c["recorded"]), new=_short(c["current"])))
    return out


def _short(v: dict | None) -> str:
    if v is None:
        return "—"
    return ", ".join(f"{visible(k)}={visible(val)}" for k, val in v.items())


def explain(rec: Record, decision: Decision | None, pack: Pack | None, lang: str) -> str:
    body = rec.body
    out = [t(lang, N_("Log record {seq} · {kind} · decision ID {id}"), seq=rec.seq, kind=t(lang, RECORD_KINDS.get(rec.kind, rec.kind)), id=rec.decision_id),
           t(lang, N_("Recorded {when} (UTC {utc}) by {actor} (as {claimed})"), when=local(rec.recorded_at), utc=rec.recorded_at,
             actor=rec.actor, claimed=body.get("claimed_actor", "—")),
           t(lang, N_("Hash {hash}; previous {prev}"), hash=rec.hash, prev=rec.prev_hash)]
    if rec.kind == "review":
        out.append(t(lang, N_("Submission {sub} v{version}: {action} ({from_state} → {to_state})"), sub=body["submission_id"], version=body["version"],
                     action=t(lang, REVIEWED[body["action"]]) if body.get("action") in REVIEWED else visible(body.get("action")), from_state=state_text(lang, body["from_state"]), to_state=state_text(lang, body["to_state"])))
        if body.get("reason"):
            out.append(t(lang, N_("Reason: {reason}"), reason=body["reason"]))
        if body.get("against_engine"):
            out.append(t(lang, N_("(against the engine)")))
        if body.get("notice"):
            n = body["notice"]
            out.append(t(lang, N_("Notice {number}: valid {start} – {end}; {plates} plates"), number=n["number"], start=n["valid_from"],
                         end=n["valid_until"], plates=len(n["plates"])))
        out.append(t(lang, N_("Based on engine decision {id}."), id=body.get("engine_decision", "—")))
    if rec.kind == "engine_decision":
        out.append(t(lang, N_("Submission {sub} v{version} · pack {pack} {revision} · as of {as_of} · clock {clock} · engine {engine}"),
                     sub=body["submission_id"], version=body["version"], pack=body["pack"]["id"], revision=body["pack"]["revision"][:19],
                     as_of=body["as_of"], clock=body["clock"], engine=body["engine_version"]))
        masked = ", ".join(f"{visible(m['path'])} ({t(lang, MASKING[m['method']]) if m['method'] in MASKING else visible(m['method'])})" for m in body.get("masked_fields", []))
        out.append(t(lang, N_("Personal data masked in the snapshot: {fields}"), fields=masked or "—"))
        for e in body.get("evidence_digests", []):
            out.append(f"  {visible(e['path'])}  sha256:{visible(e['sha256'][:16])}  {visible(e['bytes'])} B")
    text = "\n".join(out) + "\n"
    if decision is not None and pack is not None:
        text += "\n" + render_text(decision, pack, lang, verbose=False)
    return text


def explanation(parts, lang: str) -> str:
    """An explanation (:func:`icv_permits.services.audit.explain`'s parts), each record in turn."""
    return "\n".join(explain(p.record, p.decision, p.pack, lang) for p in parts)


# ---------------------------------------------------------------- reconcile

RECONCILE_PROBLEM = {
    "differs": N_("✗ {table} {key}: {field} is {table_value} in the table, {log_value} in the log (record {seq})"),
    "no_record": N_("✗ {table} {key}: in the table ({table_value}), but no log record wrote it"),
    "no_row": N_("✗ {table} {key}: in the log (record {seq}: {log_value}), but not in the table"),
    "twice": N_("✗ {table} {key}: recorded twice in the log (records {first_seq} and {seq})"),
}


def shown(value, limit: int = 300) -> str:
    """A value of a table or the log as an auditor reads it: text in quotes (so spaces and an
    empty text show), none as —, a row as its fields."""
    import json

    if value is None or value == {}:
        text = "—"
    elif isinstance(value, dict):
        text = ", ".join(f"{k}={shown(v, limit)}" for k, v in value.items())
    else:
        text = json.dumps(value, ensure_ascii=False)
    text = visible(text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def difference_line(d: Difference, lang: str) -> str:
    """One difference between an office table and the log."""
    return t(lang, RECONCILE_PROBLEM[d.problem], table=d.table, key=d.key, field=d.field or "—", table_value=shown(d.table_value),
             log_value=shown(d.log_value), seq=d.seq if d.seq is not None else "—", first_seq=d.first_seq if d.first_seq is not None else "—") + "\n"


def reconcile_summary(summary: Summary, lang: str) -> str:
    counts = {"submissions": summary.rows["submission"], "versions": summary.rows["submission_version"], "runs": summary.rows["engine_run"],
              "reviews": summary.rows["review"], "notices": summary.rows["notice"], "plates": summary.rows["plate"], "records": summary.records}
    if summary.agrees:
        return t(lang, N_("The office tables agree with the decision log: {submissions} submissions, {versions} versions, {runs} engine runs, "
                          "{reviews} reviews, {notices} notices and {plates} plates checked against {records} log records."), **counts) + "\n"
    return t(lang, N_("The office tables do NOT agree with the decision log: {n} differences ({submissions} submissions, {versions} versions, "
                      "{runs} engine runs, {reviews} reviews, {notices} notices and {plates} plates checked against {records} log records)."),
             n=summary.differences, **counts) + "\n"


# ---------------------------------------------------------------- records that fail verification


def fault_reason(b: Break, lang: str) -> str:
    """Why one record fails verification (a :func:`icv_permits.services.audit.record_faults` break)."""
    msgid = RECORD_FAULT.get(b.problem) or PROBLEM.get(b.problem)
    if msgid is None:
        return visible(b.problem)
    return t(lang, msgid, **{k: v for k, v in b.detail.items()})


def untrusted(seq: int, faults: list[Break], lang: str) -> str:
    """The first line of anything shown of a record that fails verification."""
    return t(lang, N_("✗ Record {seq} FAILS verification: its content cannot be trusted — {reasons}"), seq=seq,
             reasons="; ".join(fault_reason(b, lang) for b in faults))


def faults_line(faults: dict[int, list[Break]], lang: str) -> str:
    """How many records fail verification, and which."""
    seqs = sorted(faults)
    shown_seqs = ", ".join(str(s) for s in seqs[:20]) + (" …" if len(seqs) > 20 else "")
    return t(lang, N_("{n} records fail verification (marked ✗ in red): {seqs}"), n=len(seqs), seqs=shown_seqs)


def replay_summary(results: list[ReplayResult], lang: str) -> tuple[str, list[str], str]:
    """A replay of many decisions as an auditor reads it: how many came out identical and how many
    differ first, then each that differs with why, then the identical ones in one line."""
    same = [r for r in results if r.match]
    differ = [r for r in results if not r.match]
    head = t(lang, N_("{n} decisions replayed: {same} identical, {diff} different."), n=len(results), same=len(same), diff=len(differ))
    lines: list[str] = []
    for r in differ:
        lines.extend(_record_lines(r, lang))
    tail = ""
    if same:
        seqs = ", ".join(str(r.seq) for r in same[:40]) + (" …" if len(same) > 40 else "")
        tail = t(lang, N_("Identical: seq {seqs}"), seqs=seqs)
        for r in same:  # what a reader of an identical result must still know
            tail += "".join("\n" + line for line in _record_lines(r, lang))
    return head, lines, tail
