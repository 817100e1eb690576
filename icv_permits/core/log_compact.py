"""Compact engine-decision records (record format 2): what a decision-log record must keep, and how
the rest is rebuilt from the pack snapshot and the input snapshot.

A decision, as the engine returns it, repeats on every finding what the pack already says — the
threshold's comparison, unit, effective date, source, article and confidence — and what the
application already says — the subject's label and field path; and it lists every applied rule
with its catalogue facts. A record of format 1 (no ``record_format`` key) stores all of it, with the
input snapshot beside it. A record of format 2 (``"record_format": 2``) keeps only what no pack can
give back:

- in clear, the keys of format 1 but ``decision`` and ``input``: submission, version, purpose,
  engine run, claimed actor, clock, as-of date, pack id and revision, engine version, masked
  fields, input digest, evidence digests, verdict; and ``decision_digest``, the digest
  (:func:`~icv_permits.core.canonical.digest`) of the whole decision, against which a rebuilt
  decision is checked;
- ``deflated``: :func:`seal` of ``{"input", "outcomes"}`` — the input snapshot as it was, and the
  decision reduced to its ``format``, ``conditions`` and ``rules_not_applicable``; ``params``, each
  parameter used with the value judged against; ``subjects``, ``[kind, ref, order]`` of each party
  judged (plus its label where neither the input snapshot nor the pack gives it); ``entries``, each
  distinct finding once as ``[rule_id, outcome, reason, field, observed, param, values]``
  (trailing empties left out, a field inside the subject's path written relative to it —
  ``@.prior_testing`` — so that one entry serves every vehicle it holds for); ``findings``, per
  subject in order the entries of its findings; and the evidence summary, the engine's counts of it
  and the registry facts as they were (``evidence``, ``evidence_counted``, ``registry``).

Why deflated: the input snapshot alone of a five-vehicle application is about 10 KB of JSON, and
the reduced findings of such a decision about 8 KB more; both are data for a program (replay
rebuilds the application, explain the decision), and compressed together they take a quarter.

:func:`expand_decision` rebuilds the whole decision: rule catalogue facts, thresholds (the
parameter in force on the as-of date) and the pack chain from the pack snapshot; labels, paths, the
application's id and activity from the input snapshot; counts and missing fields from the findings.
:func:`compact_body` writes format 2 only when that rebuild gives back exactly the decision (the
same digest); otherwise the record is written in format 1, whole. Everything here is pure.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import re
import zlib
from typing import Any

import orjson

from icv_permits.core.canonical import (
    canonical_bytes,
    digest,
    is_plain,
    plain_json_bytes,
)
from icv_permits.core.log_shape import (
    MAX_DEPTH,
    _no_constant,
    loads_bounded,
    nesting_depth,
)
from icv_permits.core.pack import Pack

RECORD_FORMAT = 2
MAX_INFLATED = 64 * 2**20  # bytes: far above any decision, so a forged record cannot make a reader inflate without end
LEGACY_DECISION_FORMAT = "icv-permits/decision/1"  # as in core.engine.decision (no evidence_counted key)
_OUTCOMES = ("pass", "fail", "warn", "missing", "not_applicable", "not_evaluated")  # the order of ``counts``
_PLURAL = {"section": "sections", "driver": "drivers", "vehicle": "vehicles"}


class ExpandError(ValueError):
    """A format-2 record whose decision cannot be rebuilt as recorded (its digest differs, or the
    pack snapshot lacks a rule or parameter it names)."""


def record_format(body: dict) -> Any:
    """1 for a record written whole (no marker), else its ``record_format`` (as recorded: a value
    other than 2 is no format this code can read)."""
    return body.get("record_format", 1) if isinstance(body, dict) else 1


def _key(value: Any) -> str:
    """A text that tells JSON values apart (``true`` from ``1``, ``1`` from ``1.0``): for finding
    equal findings and parameters, not a canonical form."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


# ---------------------------------------------------------------- derivations shared by both directions


def _path(kind: str, order: int) -> str:
    if kind == "application":
        return ""
    if kind == "entity":
        return "entity"
    return f"{_PLURAL.get(kind, kind)}[{order}]"


def _label(kind: str, ref: str, order: int, app: dict, pack: Pack) -> str | None:
    """The label a subject gets from the input snapshot or the pack; ``None`` where the record keeps it
    (a driver's label holds a masked identity number: how it is masked is not the record's to rebuild)."""
    try:
        if kind == "application":
            return ""
        if kind == "entity":
            return app["entity"]["name"]
        if kind == "vehicle":
            return app["vehicles"][order]["brand_model"] or ""
        if kind == "section":
            sec = pack.sections.get(ref)
            return sec.name.zh if sec else ""
    except (KeyError, IndexError, TypeError):
        return None
    return None


def _relative(field: str | None, path: str) -> str | None:
    if field is None or not path:
        return field
    if field == path:
        return "@"
    if field.startswith(path) and field[len(path)] in ".[":
        return "@" + field[len(path):]
    return field


def _threshold(pack: Pack, param: str, value: Any, as_of: dt.date) -> dict:
    out = dict(_threshold_facts(pack, param, as_of))
    out["value"] = value  # the last key: sorted (see _expand)
    return out


_THRESHOLDS: dict[int, tuple[Pack, dict[tuple[str, dt.date], dict]]] = {}


def _threshold_facts(pack: Pack, param: str, as_of: dt.date) -> dict:
    """A threshold's facts but its value, as the pack gives them on ``as_of`` (kept per pack, as
    :func:`_rule_facts`); never changed by a caller."""
    hit = _THRESHOLDS.get(id(pack))
    if hit is None or hit[0] is not pack:
        if len(_THRESHOLDS) >= 8:
            _THRESHOLDS.pop(next(iter(_THRESHOLDS)))
        hit = _THRESHOLDS[id(pack)] = (pack, {})
    facts = hit[1].get((param, as_of))
    if facts is not None:
        return facts
    defn = pack.parameters.get(param)
    current = defn.at(as_of) if defn is not None else None
    if current is None:
        raise ExpandError(f"the pack snapshot has no value of parameter {param} in force on {as_of.isoformat()}")
    c = current.citation
    facts = hit[1][(param, as_of)] = {
        "article": c.article, "comparison": defn.comparison.value if defn.comparison is not None else None,
        "confidence": current.confidence.value, "effective_from": current.effective_from.isoformat(), "param": param,
        "source": c.source, "unit": defn.unit}
    return facts


def _rule_infos(pack: Pack, skip: set, shared: bool = False) -> list[dict]:
    """:func:`_rule_info` of every rule of ``pack`` but those in ``skip``, in the pack's order: the
    facts built once per pack (:func:`_rule_facts`), each decision given its own dicts (``shared``:
    the pack's own, for a reader that only reads them)."""
    if shared:
        return [info for rid, info in _rule_facts(pack) if rid not in skip]
    return [dict(info) for rid, info in _rule_facts(pack) if rid not in skip]


_FACTS: dict[int, tuple[Pack, tuple[tuple[str, dict], ...]]] = {}


def _rule_facts(pack: Pack) -> tuple[tuple[str, dict], ...]:
    """The catalogue facts of every rule of ``pack``, kept for the last few packs (each entry
    holds its pack, so that its ``id`` is not reused meanwhile)."""
    hit = _FACTS.get(id(pack))
    if hit is not None and hit[0] is pack:
        return hit[1]
    facts = tuple((rid, _rule_info(pack, rid)) for rid in pack.rules)
    if len(_FACTS) >= 8:
        _FACTS.pop(next(iter(_FACTS)))
    _FACTS[id(pack)] = (pack, facts)
    return facts


def _rule_info(pack: Pack, rule_id: str) -> dict:
    rule = pack.rules.get(rule_id)
    if rule is None:
        raise ExpandError(f"the pack snapshot has no rule {rule_id}")
    return {"article": rule.citation.article, "confidence": rule.confidence.value, "id": rule.id, "severity": rule.severity.value,
            "source": rule.citation.source}  # keys sorted (see _expand)


# ---------------------------------------------------------------- compact


def compact_decision(decision: dict) -> dict | None:
    """The ``outcomes`` of a record of format 2 for a decision (its JSON form); ``None`` for one that
    has no such form (a field written with ``@``, a parameter judged with two values)."""
    params: dict[str, Any] = {}
    subjects: list[list] = []
    entries: list[list] = []
    entry_index: dict[str, int] = {}
    groups: list[list] = []
    seen: dict[tuple, int] = {}
    for f in decision["findings"]:
        s = f["subject"]
        key = (s["kind"], s["ref"], s["order"])
        if not groups or groups[-1][0] != seen.get(key):
            if key in seen:  # a subject's findings not in one run: no compact form
                return None
            seen[key] = len(subjects)
            subjects.append([s["kind"], s["ref"], s["order"], s["label"], s["path"]])
            groups.append([seen[key], []])
        if isinstance(f["field"], str) and f["field"].startswith("@"):
            return None
        th = f["threshold"]
        if th is not None:
            if th["param"] in params and _key(params[th["param"]]) != _key(th["value"]):
                return None
            params[th["param"]] = th["value"]
        row = [f["rule_id"], f["outcome"], f["reason"], _relative(f["field"], s["path"]), f["observed"],
               th["param"] if th is not None else None, f["values"] or None]
        while row[-1] is None:
            row.pop()
        text = _key(row)
        if text not in entry_index:
            entry_index[text] = len(entries)
            entries.append(row)
        groups[-1][1].append(entry_index[text])
    out = {"format": decision["format"], "conditions": decision["conditions"], "rules_not_applicable": decision["rules_not_applicable"],
           "params": params, "subjects": subjects, "entries": entries, "findings": groups}
    for k in ("evidence", "evidence_counted", "registry"):
        if decision.get(k) is not None:
            out[k] = decision[k]
    return out


def _trim_subjects(outcomes: dict, app: dict, pack: Pack) -> None:
    """Leave out of each subject the label and path the input snapshot and pack give back."""
    trimmed = []
    for kind, ref, order, label, path in outcomes["subjects"]:
        entry = [kind, ref, order]
        if path != _path(kind, order):
            entry += [label, path]
        elif label != _label(kind, ref, order, app, pack):
            entry.append(label)
        trimmed.append(entry)
    outcomes["subjects"] = trimmed


def seal(payload: dict) -> str:
    """``deflated``: the canonical JSON of ``payload``, zlib-compressed (RFC 1950, level 9), in base64."""
    return base64.b64encode(zlib.compress(canonical_bytes(payload), 9)).decode("ascii")


def unseal(text: str) -> dict:
    """What :func:`seal` sealed. :class:`ExpandError` for anything that is not such a text."""
    return _unseal(text)[0]


_ASTRAL = re.compile(rb"[\xf0-\xf4]")
# a number of 16 digits or more: in JSON a number follows a colon, a comma or an opening bracket (and
# whitespace); a run of digits inside a string (an ID number) does not count
_LONG_NUMBER = re.compile(rb"[:,\[][ \t\n\r]*-?[0-9]{16}")


def _unseal(text: str, lean: bool = False) -> tuple[dict, bool]:
    """:func:`unseal`, and whether the payload is plain data (:func:`~icv_permits.core.canonical.is_plain`)
    as far as its text shows: no float, no integer beyond ±(2^53 − 1), no character above U+FFFF
    (so no key holding one) — found while parsing and by two scans of the bytes, which cost
    little, instead of walking the parsed payload again. ``False`` says only "not shown": the
    caller then scans.

    ``lean``: for a reader that, on any failure, reads the record again the strict way and holds
    what it makes of the payload against the record's digest byte for byte — the text is parsed
    by orjson, the bytes are not scanned (``False`` is said) and the nesting is not measured before
    parsing (the parser stops at its own limit with an error, which sends such a reader to the
    strict read, where a nesting beyond :data:`~icv_permits.core.log_shape.MAX_DEPTH` is refused
    as always)."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
        inflater = zlib.decompressobj()
        data = inflater.decompress(raw, MAX_INFLATED)
        if inflater.unconsumed_tail or not inflater.eof:
            raise ExpandError("the deflated part of the record is truncated or too large")
        if lean:
            # orjson: several times faster than json. Where the two read one text differently (an
            # integer beyond 64 bits comes back as a float) the rebuilt decision's bytes differ
            # from the decision made again, and the reader goes the strict way
            payload = orjson.loads(data)
            if not (isinstance(payload, dict) and isinstance(payload.get("input"), dict) and isinstance(payload.get("outcomes"), dict)):
                raise ExpandError("the deflated part of the record holds no input and outcomes")
            return payload, False
        json_text = data.decode("utf-8")
        if nesting_depth(json_text) > MAX_DEPTH:  # nested no deeper than a line of an export: no parser recursion to exhaust
            loads_bounded(json_text)  # raises, as it always has
        floats: list[str] = []

        def parse_float(token: str) -> float:
            floats.append(token)
            return float(token)

        try:
            payload = json.loads(json_text, parse_constant=_no_constant, parse_float=parse_float)
        except (ValueError, RecursionError):
            payload = loads_bounded(json_text)  # raises the error it always has
        # no float; no number of 16 digits (so no integer beyond 2^53 = 9007199254740992, 16
        # digits); no UTF-8 lead byte of a character above U+FFFF (so no key holding one)
        plain = not floats and _LONG_NUMBER.search(data) is None and _ASTRAL.search(data) is None
    except (AttributeError, UnicodeError, binascii.Error, zlib.error, ValueError, RecursionError) as exc:
        if isinstance(exc, ExpandError):
            raise
        raise ExpandError(f"the deflated part of the record cannot be read: {type(exc).__name__}") from None
    if not (isinstance(payload, dict) and isinstance(payload.get("input"), dict) and isinstance(payload.get("outcomes"), dict)):
        raise ExpandError("the deflated part of the record holds no input and outcomes")
    return payload, plain


def compact_body(body: dict, pack: Pack) -> dict:
    """An ``engine_decision`` body of format 1 in format 2, or ``body`` itself when the compact form
    would not rebuild its decision exactly (or ``pack`` is not the pack it names)."""
    decision = body["decision"]
    if body.get("pack") != {"id": pack.id, "revision": pack.revision}:
        return body
    try:
        outcomes = compact_decision(decision)
        if outcomes is None:
            return body
        _trim_subjects(outcomes, body["input"], pack)
        out = {k: v for k, v in body.items() if k not in ("decision", "input")}
        out["record_format"] = RECORD_FORMAT
        out["decision_digest"] = digest(decision)
        out["deflated"] = seal({"input": body["input"], "outcomes": outcomes})
        expand_decision(out, pack)  # the digest check: it comes back exactly, or format 1 is written
    except (ExpandError, KeyError, IndexError, TypeError, ValueError):  # ValueError: data RFC 8785 cannot write (nor can the log)
        return body
    return out


# ---------------------------------------------------------------- expand


_ABSENT = (None,) * 7


def _expand(body: dict, payload: dict, pack: Pack, shared: bool = False) -> dict:
    """The whole decision. Every object is built with its keys in sorted order — the order of a
    decision read back from the canonical JSON a record of format 1 stored — so that a view which
    keeps key order (``render_json``) shows the same bytes for both formats. ``shared``: the findings
    of one subject share its object, and those of one parameter its threshold (for a reader that
    only compares the decision; not for one that may change a part of it)."""
    c = payload["outcomes"]
    app = payload["input"]
    as_of = dt.date.fromisoformat(body["as_of"])
    subjects = []
    for entry in c["subjects"]:
        kind, ref, order = entry[0], entry[1], entry[2]
        label = entry[3] if len(entry) > 3 else _label(kind, ref, order, app, pack)
        if label is None:
            raise ExpandError(f"no label for subject {kind} {ref}")
        subjects.append({"kind": kind, "label": label, "order": order, "path": entry[4] if len(entry) > 4 else _path(kind, order), "ref": ref})
    thresholds = {p: _threshold(pack, p, v, as_of) for p, v in c["params"].items()}
    findings = []
    counts = dict.fromkeys(sorted(_OUTCOMES), 0)
    missing = set()
    # each entry once: (rule, outcome, reason, field, observed, parameter, values), absent ones None
    entries = [row if len(row) == 7 else [*row, *_ABSENT[len(row):]] for row in c["entries"]]
    for subject_index, indices in c["findings"]:
        subject = subjects[subject_index]
        path = subject["path"]
        for i in indices:
            rule_id, outcome, reason, field, observed, param, values = entries[i]
            if type(field) is str and field.startswith("@"):
                field = path + field[1:]
            findings.append({"field": field, "observed": observed, "outcome": outcome, "reason": reason,
                             "rule_id": rule_id, "subject": subject if shared else dict(subject),
                             "threshold": None if param is None else thresholds[param] if shared else dict(thresholds[param]),
                             "values": values or {}})
            counts[outcome] += 1
            if outcome == "missing" and field:
                missing.add(field)
    not_applicable = list(c["rules_not_applicable"])
    skip = set(not_applicable)
    decision = {
        "activity": app["activity"],
        "application_digest": body["input_digest"],
        "application_id": app.get("application_id"),
        "as_of": body["as_of"],
        "conditions": list(c["conditions"]),
        "counts": counts,
        "engine_version": body["engine_version"],
        "evidence": c.get("evidence"),
        "evidence_counted": c.get("evidence_counted"),
        "findings": findings,
        "format": c["format"],
        "missing_fields": sorted(missing),
        "pack_chain": list(pack.chain),
        "pack_id": body["pack"]["id"],
        "pack_revision": body["pack"]["revision"],
        "registry": c.get("registry"),
        "rules": _rule_infos(pack, skip, shared),
        "rules_not_applicable": not_applicable,
        "verdict": body["verdict"],
    }
    if c["format"] == LEGACY_DECISION_FORMAT:
        del decision["evidence_counted"]  # format 1 had no such key
    return decision


def rebuilt_unchecked(body: dict, pack: Pack) -> tuple[dict, dict]:
    """:func:`expand` of a body of format 2 whose pack revision is ``pack``'s, read the lean way
    (see :func:`_unseal`) and **not** held against its decision digest: for a caller that holds
    what it makes of the parts against ``decision_digest`` itself (a replay, whose decision made
    again must equal the rebuilt one and have the recorded digest), and on any failure reads the
    record again with :func:`expand`. The findings share their subjects' and thresholds' objects
    (``_expand`` with ``shared``): for reading only. :class:`ExpandError` (or another error of the
    same kinds as :func:`expand` catches) for a body that cannot be read so."""
    if type(body.get("record_format")) is not int or body["record_format"] != RECORD_FORMAT:
        raise ExpandError("not a record of format 2")
    if pack.revision != body["pack"]["revision"]:
        raise ExpandError("another pack revision")
    payload = _unseal(body["deflated"], lean=True)[0]
    return payload["input"], _expand(body, payload, pack, shared=True)


def expand(body: dict, pack: Pack, *, check: bool = True) -> tuple[dict, dict]:
    """The input snapshot and the whole decision (its JSON form) of an ``engine_decision`` body of
    either format. A body of format 2 is rebuilt with ``pack``, the snapshot of the revision it
    names, and — with ``check`` — held against its ``decision_digest``: :class:`ExpandError` if it
    does not come back exactly as the engine returned it."""
    if "record_format" not in body:
        return body["input"], body["decision"]
    fmt = body["record_format"]
    if type(fmt) is not int or fmt != RECORD_FORMAT:
        raise ExpandError(f"unknown record format {str(fmt)[:40]!r}")
    try:
        revision = body["pack"]["revision"]
        if pack.revision != revision:
            raise ExpandError(f"a record of pack revision {revision} cannot be rebuilt with pack revision {pack.revision}")
        payload, plain = _unseal(body.get("deflated"))
        decision = _expand(body, payload, pack)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, ExpandError):
            raise
        raise ExpandError(f"the compact decision is malformed: {type(exc).__name__}: {str(exc)[:200]}") from None
    if check and _digest(decision, payload["outcomes"], plain) != body.get("decision_digest"):
        raise ExpandError("the decision rebuilt from the record and its pack snapshot does not have the recorded decision digest")
    return payload["input"], decision


def _digest(decision: dict, outcomes: dict, plain: bool = False) -> str:
    """:func:`~icv_permits.core.canonical.digest` of a rebuilt decision. What the rebuild adds to the
    recorded ``outcomes`` is text, small integers and nulls, so when the outcomes are plain data
    (:func:`~icv_permits.core.canonical.is_plain`) so is the decision, and it is
    written without scanning it again — the scan of a decision costs more than writing it."""
    if (plain or is_plain(outcomes)) and isinstance(decision["activity"], str) and isinstance(decision["application_id"], str | None):
        return "sha256:" + hashlib.sha256(plain_json_bytes(decision)).hexdigest()
    return digest(decision)


def expand_decision(body: dict, pack: Pack, *, check: bool = True) -> dict:
    """The whole decision of an ``engine_decision`` body of either format (see :func:`expand`)."""
    return expand(body, pack, check=check)[1]


def expand_body(body: dict, pack: Pack) -> dict:
    """The format-1 body a format-2 body was compacted from (a format-1 body is returned as it is)."""
    if "record_format" not in body:
        return body
    app, decision = expand(body, pack)
    out = {k: v for k, v in body.items() if k not in ("record_format", "deflated", "decision_digest")}
    out["input"] = app
    out["decision"] = decision
    return out


def input_of(body: dict) -> dict:
    """The input snapshot of an ``engine_decision`` body of either format, without the pack: for a
    reader that needs the application only (format 2 keeps it as it was, in ``deflated``)."""
    if "record_format" not in body:
        return body["input"]
    return unseal(body.get("deflated"))["input"]
