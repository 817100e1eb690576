"""``rules lint``: prove that a pack's catalogue, its parameters and the check code agree.

Nothing orphaned (a check with no rule in any pack, a parameter no rule reads, a message no check
emits), nothing missing (a rule with no check, a parameter a check reads but the rule does not
list, a home province without the numbering and parameters the office needs), nothing uncited (every rule and every dated value cites a known source), and the zh and en
texts of a message use the same placeholders.

Also here: ``rules test``, the pack's own cases (``rules/<pack>/tests/*.yaml``, schema and judging
in :mod:`icv_permits.core.pack_tests`), and the check that those cases pin every numeric threshold
from both sides (:func:`coverage_gaps`), which ``rules lint`` reports.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

from icv_permits.adapters.packs import (
    available_packs,
    base_file,
    load_pack,
    pack_folder,
    pack_test_files,
    packs_root,
    read_test_file,
)
from icv_permits.core.engine import evaluate
from icv_permits.core.engine.core import COMMON_REASONS, NOT_EVALUATED_REASONS, REGISTRY
from icv_permits.core.errors import InputError, PackError, Problem
from icv_permits.core.i18n import N_
from icv_permits.core.model.application import Application, Material
from icv_permits.core.pack import CONDITIONS, OFFICE_PARAMETERS, Pack, Text
from icv_permits.core.pack_fields import path_exists
from icv_permits.core.pack_tests import (
    CaseResult,
    PackTestCase,
    PackTestFile,
    apply_changes,
    is_numeric_threshold,
    judge,
    latest_effective,
    rule_outcome,
    shifted,
    with_vehicles,
)


@dataclass(frozen=True, order=True)
class LintProblem:
    where: str
    problem: str

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}"


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _text_pair(where: str, text: Text) -> list[LintProblem]:
    try:
        zh, en = _placeholders(text.zh), _placeholders(text.en)
    except ValueError as exc:
        return [LintProblem(where, f"malformed template: {exc}")]
    if zh != en:
        return [LintProblem(where, f"zh and en use different placeholders: zh {sorted(zh)} vs en {sorted(en)}")]
    return []


def lint_pack(pack: Pack, *, all_rule_ids: set[str] | None = None) -> list[LintProblem]:
    out: list[LintProblem] = []
    P = LintProblem
    # rules ↔ code
    for rid, rule in pack.rules.items():
        chk = REGISTRY.get(rid)
        if chk is None:
            out.append(P(rid, "no check function is registered for this rule"))
            continue
        if rule.citation.source not in pack.sources:
            out.append(P(rid, f"cites unknown source {rule.citation.source!r}"))
        for name in rule.params:
            if name not in pack.parameters:
                out.append(P(rid, f"lists parameter {name!r}, which the pack does not define"))
        if set(chk.params) != set(rule.params):
            out.append(P(rid, f"the code reads {sorted(chk.params)} but the catalogue lists {sorted(rule.params)}"))
        for reason in sorted(chk.reasons - COMMON_REASONS):
            if reason not in rule.messages and reason not in pack.common_messages:
                out.append(P(rid, f"no message for reason {reason!r}"))
        for reason in sorted(rule.messages):
            if reason not in chk.reasons:
                out.append(P(rid, f"message {reason!r} is never emitted by the code"))
            out += _text_pair(f"{rid}.messages.{reason}", rule.messages[reason])
        for reason in sorted(rule.remedies):
            if reason not in chk.reasons:
                out.append(P(rid, f"remedy for {reason!r}, a reason the code never emits"))
        if chk.records and "on_record" not in rule.applies_to.requires:
            out.append(P(rid, "the code reads the office's records, but applies_to does not require on_record: "
                              "in a pre-check the rule is not evaluated (no_records)"))
        for cond in (*rule.applies_to.requires, *rule.applies_to.unless):
            if cond not in CONDITIONS:
                out.append(P(rid, f"applies_to names unknown condition {cond!r} (known: {', '.join(sorted(CONDITIONS))})"))
        for path in rule.fields:
            if not path_exists(path):
                out.append(P(rid, f"fields names {path!r}, which is not a field of the application (e.g. vehicles[].vin)"))
        for name in rule.params:
            param = pack.parameters.get(name)
            if name.startswith("materials.") and param is not None:
                listed = {m for v in param.values for m in (*v.value.get("always", []), *(x for ms in v.value.get("when", {}).values() for x in ms))}
                for m in sorted(listed - {p.removeprefix("materials.") for p in rule.fields}):
                    out.append(P(rid, f"parameter {name} lists material {m!r} but fields does not name materials.{m}"))
    for reason, text in pack.common_messages.items():
        out += _text_pair(f"common_messages.{reason}", text)
    for reason in NOT_EVALUATED_REASONS:
        if reason not in pack.common_messages:
            out.append(P(f"common_messages.{reason}", "missing: the engine says with it why a rule was not evaluated"))
    if all_rule_ids is not None:
        for rid in sorted(set(REGISTRY) - all_rule_ids):
            out.append(P(rid, "a check function is registered but no pack has this rule"))
    # parameters
    used = {name for rule in pack.rules.values() for name in rule.params} | OFFICE_PARAMETERS
    for pid, param in pack.parameters.items():
        if pid not in used:
            out.append(P(pid, "no rule reads this parameter"))
        for v in param.values:
            w = f"{pid}@{v.effective_from.isoformat()}"
            if v.citation.source not in pack.sources:
                out.append(P(w, f"cites unknown source {v.citation.source!r}"))
            if not (v.citation.article or v.citation.locator):
                out.append(P(w, "citation gives neither an article nor a locator"))
        if param.kind == "switch" and any(not isinstance(v.value, bool) for v in param.values):
            out.append(P(pid, "a switch takes true or false"))
        if param.kind == "threshold" and param.comparison is None:
            out.append(P(pid, "a threshold needs an explicit comparison (ge 不少于, gt 超过, le 不超过…)"))
        dates = [v.effective_from for v in param.values]
        if len(set(dates)) != len(dates):
            out.append(P(pid, "two values share an effective date"))
        if pid.startswith("materials."):
            for v in param.values:
                names = list(v.value.get("always", [])) + [m for ms in v.value.get("when", {}).values() for m in ms]
                for m in names:
                    if m not in Material.__members__:
                        out.append(P(pid, f"unknown material {m!r}"))
                    elif m not in pack.vocabulary:
                        out.append(P(pid, f"material {m!r} has no zh/en name in the vocabulary"))
                for cond in v.value.get("when", {}):
                    if cond not in CONDITIONS:
                        out.append(P(pid, f"unknown condition {cond!r}"))
    # rule texts: ``{home_province}`` is filled in when the pack is built; any other brace is a typo
    for rid, rule in pack.rules.items():
        texts = {"title": rule.title, "requirement": rule.requirement, "remedy": rule.remedy,
                 **{f"remedies.{k}": v for k, v in rule.remedies.items()}}
        for name, text in texts.items():
            if any(ch in text.zh + text.en for ch in "{}"):
                out.append(P(f"{rid}.{name}", "has a brace: the only placeholder a rule text takes is {home_province}"))
    # the office: home province, numbering and the parameters the workflow reads
    meta = pack.meta
    if meta.home_province is not None:
        if meta.numbering is None:
            out.append(P("pack.yaml", "home_province is set but numbering is not: the office cannot number notices and plates"))
        for pid in sorted(OFFICE_PARAMETERS - set(pack.parameters)):
            out.append(P(pid, "the office workflow reads this parameter, but the pack does not define it"))
    elif meta.numbering is not None:
        out.append(P("pack.yaml", "numbering is set but home_province is not: the office workflow refuses a pack without a home province"))
    # sections
    for sid, sec in pack.sections.items():
        if sec.closed is not None and sec.closed < sec.opened:
            out.append(P(f"section {sid}", "closes before it opens"))
    if any(s.sample for s in pack.sections.values()) and pack.meta.sample_sections_note is None:
        out.append(P("pack.yaml", "the register holds sample sections but sample_sections_note is missing"))
    # sources
    for key, src in pack.sources.items():
        if src.key != key:
            out.append(P(f"source {key}", "key mismatch"))
    return sorted(out)


def lint(pack_id: str | None = None) -> dict[str, list[LintProblem]]:
    """Lint one pack, or every available pack (then also looking for checks no pack uses)."""
    ids = [pack_id] if pack_id else available_packs()
    packs = {i: load_pack(i) for i in ids}
    all_ids = {rid for p in (packs.values() if pack_id is None else [load_pack(i) for i in available_packs()]) for rid in p.rules}
    return {i: lint_pack(p, all_rule_ids=all_ids) for i, p in packs.items()}


# ---------------------------------------------------------------- the pack's own tests (rules test)


@dataclass(frozen=True)
class LoadedCase:
    file: str
    case: PackTestCase
    app: Application


def _rel(path: Path) -> str:
    """A test file's name as shown: relative to the packs root's parent (``rules/anhui-2025/tests/x.yaml``)."""
    try:
        return str(path.relative_to(packs_root().resolve().parent))
    except ValueError:
        return str(path)


def load_cases(pack_id: str, pack: Pack | None = None) -> list[LoadedCase]:
    """Every case of a pack's ``tests/`` folder, validated; a malformed file is an ``InputError``
    (exit 2) naming the file, the case and the field."""
    from pydantic import ValidationError

    from icv_permits.adapters.documents import read_document, validation_problems
    from icv_permits.services.precheck import parse_application

    pack = pack or load_pack(pack_id)
    out: list[LoadedCase] = []
    for path in pack_test_files(pack_folder(pack_id)):
        file = _rel(path)
        raw = read_test_file(path)
        if not isinstance(raw, dict):
            raise InputError([Problem(file, N_("a pack test file is a mapping with a list of cases"), {}, "pack_test")])
        try:
            top = PackTestFile.model_validate(raw)
        except ValidationError as exc:
            raise InputError([Problem(f"{file}: {p.location}", p.msgid, p.params, p.code)
                              for p in validation_problems(exc, model=PackTestFile)]) from None
        seen: set[str] = set()
        for i, item in enumerate(top.cases):
            name = item.get("name") if isinstance(item.get("name"), str) else None
            where = f"{file}: case “{name}”" if name else f"{file}: cases[{i}]"
            if name in seen:
                raise InputError([Problem(f"{file}: cases[{i}].name", N_("the case name “{name}” appears twice in this file"), {"name": name[:80]}, "pack_test")])
            seen.add(name or "")
            try:
                case = PackTestCase.model_validate(item)
            except ValidationError as exc:
                raise InputError([Problem(f"{where}: {p.location}", p.msgid, p.params, p.code)
                                  for p in validation_problems(exc, model=PackTestCase)]) from None
            for rid in (*case.expect, *case.reasons):
                if rid not in pack.rules:
                    raise InputError([Problem(f"{where}: expect", N_("rule {rule} is not in pack {pack}"), {"rule": rid, "pack": pack.id}, "pack_test")])
            if case.base in top.bases:
                doc = top.bases[case.base]
            else:
                found = base_file(case.base, path)
                if found is None:
                    raise InputError([Problem(f"{where}: base", N_("{base} is neither a base of this file nor an application file"),
                                              {"base": case.base[:80]}, "pack_test")])
                doc = read_document(found)
            try:
                if case.vehicles is not None:
                    doc = with_vehicles(doc, case.vehicles)
                doc = apply_changes(doc, case.changes)
            except (ValueError, KeyError, IndexError, TypeError) as exc:
                raise InputError([Problem(f"{where}: changes", N_("cannot be applied to the base: {error}"), {"error": str(exc)[:200]}, "pack_test")]) from None
            out.append(LoadedCase(file, case, parse_application(doc, name=where)))
    return out


def run_tests(pack_id: str | None = None) -> dict[str, list[CaseResult]]:
    """Run the cases of one pack, or of every pack, each against its own pack (an extending pack's
    cases against the merged pack)."""
    ids = [pack_id] if pack_id else available_packs()
    results: dict[str, list[CaseResult]] = {}
    for pid in ids:
        pack = load_pack(pid)
        results[pid] = [judge(c.case, c.app, pack, c.file) for c in load_cases(pid, pack)]
    return results


@dataclass(frozen=True)
class Gap:
    rule: str
    param: str
    value: object
    moved_to: object

    def __str__(self) -> str:
        return (f"{self.rule}: parameter {self.param} = {self.value}: no pack test case of {self.rule} changes its outcome "
                f"when the value is moved to {self.moved_to} (a case at that side of the boundary is missing)")


def coverage_gaps(pack_id: str, pack: Pack | None = None, cases: list[LoadedCase] | None = None) -> list[Gap]:
    """The threshold boundaries of a pack that its own cases do not pin down.

    A rule reading a threshold parameter (comparison ge/gt/le/lt, a number at its latest effective
    date) has a case at each side of the boundary when moving that value one unit up makes at least
    one of the pack's cases change the rule's outcome, and so does moving it one unit down. The
    cases counted expect an outcome of the rule and are dated on or after the value's effective
    date. This is what a maintainer's edit of the threshold would do: a case that does not flip
    under a one-unit move is not at the boundary (240 h and 239.99 h are; 0 h and 300 h are not).
    A rule the pack cannot evaluate at all (one that judges the home province's notices, in a pack
    without a home province) has no boundary there and is not asked for cases."""
    pack = pack or load_pack(pack_id)
    cases = load_cases(pack_id, pack) if cases is None else cases
    gaps: list[Gap] = []
    for rid, rule in pack.rules.items():
        chk = REGISTRY.get(rid)
        if not rule.enabled or chk is None or chk.home and pack.meta.home_province is None:
            continue
        for name in rule.params:
            if not is_numeric_threshold(pack, name):
                continue
            mine = [c for c in cases if rid in c.case.expect and c.case.as_of >= latest_effective(pack, name)]
            now = {id(c): rule_outcome(evaluate(c.app, pack, c.case.as_of), rid) for c in mine}
            value = pack.parameters[name].values[-1].value
            for step in (1, -1):
                moved = shifted(pack, name, step)
                if not any(rule_outcome(evaluate(c.app, moved, c.case.as_of), rid) != now[id(c)] for c in mine):
                    gaps.append(Gap(rid, name, value, value + step))
    return gaps


# ---------------------------------------------------------------- one page per rule (rules show, rules docs)


@dataclass(frozen=True)
class CodeLocation:
    """Where a rule's check is: ``module:function`` and ``file:line`` (the file relative to the
    source checkout when it is inside it, so that generated pages read the same on every machine)."""

    module: str
    function: str
    file: str
    line: int

    def to_json(self) -> dict:
        return {"module": self.module, "function": self.function, "file": self.file, "line": self.line}


@dataclass(frozen=True)
class ProjectTest:
    file: str  # tests/test_x.py
    name: str | None  # the test function that mentions the rule; None: the file mentions it outside one
    line: int

    def to_json(self) -> dict:
        return {"file": self.file, "name": self.name, "line": self.line}


@dataclass(frozen=True)
class RulePage:
    """Everything there is to know about one rule of one pack, gathered once for ``rules show`` and
    the generated ``docs/rules/`` pages: the catalogue entry (titles, applicability, confidence,
    citation and its source), the parameters it reads with every dated value and its citation, the
    reason codes its check may emit with their messages, the check's code, the pack's own cases that
    expect an outcome of it, and the project tests that name it."""

    pack: Pack
    rule_id: str
    code: CodeLocation | None  # None: no check is registered (``rules lint`` reports it)
    reasons: tuple[str, ...]  # sorted; the common ones (ok, missing) included
    pack_cases: tuple[tuple[str, str, str], ...] | None  # (file, case name, expected outcome); None: a test file is malformed
    project_tests: tuple[ProjectTest, ...] | None  # None: no tests folder next to the package

    @property
    def rule(self):
        return self.pack.rules[self.rule_id]


def _repo_root() -> Path:
    """The folder holding the ``icv_permits`` package (a source checkout's root)."""
    import icv_permits

    return Path(icv_permits.__file__).resolve().parent.parent


def code_location(rule_id: str) -> CodeLocation | None:
    """The check function registered for ``rule_id``, located through :mod:`inspect`."""
    import inspect

    chk = REGISTRY.get(rule_id)
    if chk is None:
        return None
    fn = inspect.unwrap(chk.fn)
    try:
        path = Path(inspect.getsourcefile(fn) or "")
        line = inspect.getsourcelines(fn)[1]
    except (OSError, TypeError):
        path, line = Path(getattr(fn, "__code__", None).co_filename if hasattr(fn, "__code__") else "?"), 0
    try:
        shown = path.resolve().relative_to(_repo_root()).as_posix()
    except ValueError:
        shown = path.as_posix()
    return CodeLocation(fn.__module__, fn.__qualname__, shown, line)


def tests_folder() -> Path | None:
    """The project's ``tests/`` folder (a source checkout has it; an installed wheel does not)."""
    folder = _repo_root() / "tests"
    return folder if folder.is_dir() else None


def _id_pattern(rule_id: str):
    import re

    # the ID as a word: VEH-07 is not found inside VEH-07a or XVEH-07
    return re.compile(r"(?<![\w-])" + re.escape(rule_id) + r"(?![\w])")


def _test_functions(text: str) -> list[tuple[int, int, str]]:
    """(first line, last line, name) of each ``test_*`` function of a test module, decorators included."""
    import ast

    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            out.append((first, node.end_lineno or node.lineno, node.name))
    return out


def project_tests(rule_ids: list[str], folder: Path | None = None) -> dict[str, tuple[ProjectTest, ...]] | None:
    """For each rule ID, the project tests (``tests/*.py``) that mention it as a word: the test
    function holding the mention, or the file where it is outside a function (a parametrize list, a
    constant). ``None`` when there is no tests folder (an installed wheel)."""
    folder = folder if folder is not None else tests_folder()
    if folder is None or not folder.is_dir():
        return None
    found: dict[str, list[ProjectTest]] = {rid: [] for rid in rule_ids}
    patterns = {rid: _id_pattern(rid) for rid in rule_ids}
    for path in sorted(folder.glob("*.py")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        hits = {rid: p for rid, p in patterns.items() if rid in text and p.search(text)}
        if not hits:
            continue
        funcs = _test_functions(text)
        lines = text.splitlines()
        rel = f"{folder.name}/{path.name}"
        for rid, pat in hits.items():
            seen: set[str | None] = set()
            for no, line in enumerate(lines, 1):
                if rid not in line or not pat.search(line):
                    continue
                holders = [f for f in funcs if f[0] <= no <= f[1]]
                name = holders[-1][2] if holders else None
                if name not in seen:
                    seen.add(name)
                    found[rid].append(ProjectTest(rel, name, no))
    return {rid: tuple(v) for rid, v in found.items()}


def closest_ids(rule_id: str, ids: list[str], n: int = 3) -> list[str]:
    """The rule IDs nearest to a mistyped one (same family first, then by similarity)."""
    import difflib

    wanted = rule_id.strip()
    folded = {i.casefold(): i for i in ids}
    close = [folded[c] for c in difflib.get_close_matches(wanted.casefold(), list(folded), n=n, cutoff=0.5)]
    if not close:
        family = wanted.split("-")[0].upper()
        close = [i for i in sorted(ids) if i.upper().startswith(family + "-")][:n]
    return close


class UnknownRule(InputError):
    """A rule ID the pack does not have (exit 2); the message names the closest IDs."""


def find_rule(pack: Pack, rule_id: str) -> str:
    """The pack's rule ID for what was typed (case and surrounding spaces ignored), or
    :class:`UnknownRule` naming the ID as typed (made visible when shown) and the closest IDs."""
    rid = rule_id.strip()
    by_case = {i.casefold(): i for i in pack.rules}  # sub-IDs are lower-case letters: VEH-07a
    if rid.casefold() in by_case:
        return by_case[rid.casefold()]
    close = closest_ids(rid, sorted(pack.rules))
    raise UnknownRule([Problem("", N_("no rule {rule} in pack {pack}; closest: {closest}"),
                               {"rule": rule_id[:80], "pack": pack.id, "closest": ", ".join(close) or "—"}, "unknown_rule")])


def _case_outcomes(pack_id: str, pack: Pack) -> list[tuple[str, PackTestCase]]:
    return [(c.file, c.case) for c in load_cases(pack_id, pack)]


def rule_pages(pack_id: str, rule_ids: list[str] | None = None) -> list[RulePage]:
    """The pages of a pack's rules (all, sorted by ID, or those named), gathered in one pass over
    the pack's cases and the project's tests."""
    pack = load_pack(pack_id)
    ids = sorted(pack.rules) if rule_ids is None else [find_rule(pack, r) for r in rule_ids]
    try:
        cases: list[tuple[str, PackTestCase]] | None = _case_outcomes(pack_id, pack)
    except (InputError, PackError):
        cases = None  # a malformed test file: the page still shows, and says so (``rules test`` names the problem)
    tests = project_tests(ids)
    pages = []
    for rid in ids:
        chk = REGISTRY.get(rid)
        mine = None if cases is None else tuple((f, c.name, c.expect[rid]) for f, c in cases if rid in c.expect)
        pages.append(RulePage(pack, rid, code_location(rid), tuple(sorted(chk.reasons)) if chk else (), mine,
                              None if tests is None else tests[rid]))
    return pages


def rule_page(pack_id: str, rule_id: str) -> RulePage:
    return rule_pages(pack_id, [rule_id])[0]


def write_docs(out: Path, files: dict[str, str]) -> list[Path]:
    """Write generated pages under ``out`` (``{relative path: text}``), and remove the Markdown
    files in the pack folders written that the generation no longer makes (a rule taken out of a
    pack loses its page; another pack's folder is left alone).
    Returns the files written, sorted."""
    if out.exists() and not out.is_dir():
        raise InputError([Problem(str(out), N_("not a folder"), {}, "not_a_folder")])
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for rel in sorted(files):
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[rel], encoding="utf-8", newline="\n")
        written.append(path)
    keep = {(out / rel).resolve() for rel in files}
    folders = {(out / rel).parent.resolve() for rel in files} - {out.resolve()}
    for folder in sorted(folders):  # only the folders of the packs generated now
        for stale in sorted(folder.glob("*.md")):
            if stale.resolve() not in keep:
                stale.unlink()
    return written


# ---------------------------------------------------------------- rules diff


def _looks_like_revision(spec: str) -> bool:
    import re

    return re.fullmatch(r"(sha256:)?[0-9a-f]{4,64}", spec.strip().lower()) is not None


def snapshot_revisions(store, prefix: str) -> list[str]:
    """The pack revisions stored in the log's pack snapshots that start with ``prefix`` (with or
    without ``sha256:``)."""
    from sqlalchemy import select

    from icv_permits.adapters.store import tables

    p = prefix.strip().lower()
    p = p if p.startswith("sha256:") else "sha256:" + p
    with store.read() as s:
        rows = s.execute(select(tables.PackSnapshot.revision).where(tables.PackSnapshot.revision.like(p + "%"))).all()
    return sorted(r[0] for r in rows)


def resolve_pack(spec: str, db_url: str | None = None) -> Pack:
    """A pack for ``rules diff``: a pack folder, a bundled pack's id, or a pack revision (its
    content hash or a unique prefix of it, 4 hex digits at least) stored in the log's pack snapshots
    of the database (``db_url``, else the configured one). Bad input (exit 2) when it is none of
    these or the prefix matches several revisions; a snapshot that does not hash to its revision is
    refused (exit 4), as ``audit replay`` refuses it."""
    import os

    raw = spec
    spec = spec.strip()
    bad = Problem(raw[:200], N_("neither a rule pack folder, a bundled pack ({known}) nor a pack revision stored in the database"),
                  {"known": ", ".join(available_packs()) or "—"}, "bad_pack")
    if not spec or any(ord(ch) < 32 or ord(ch) == 127 for ch in spec):
        raise InputError([bad])
    path = Path(spec)
    if os.sep in spec or (os.altsep and os.altsep in spec) or path.exists():
        if path.is_file():
            raise InputError([Problem(raw[:200], N_("a file, not a rule pack folder"), {}, "bad_pack")])
        if not path.is_dir():
            raise InputError([Problem(raw[:200], N_("no such folder"), {}, "bad_pack")])
        if not (path / "pack.yaml").is_file():
            raise InputError([Problem(raw[:200], N_("not a rule pack folder (it has no pack.yaml)"), {}, "bad_pack")])
        return load_pack(str(path.resolve()))
    if spec in available_packs():
        return load_pack(spec)
    if not _looks_like_revision(spec):
        raise InputError([bad])
    from icv_permits.services.audit import pack_from_snapshot
    from icv_permits.services.database import open_store

    store = open_store(db_url)
    found = snapshot_revisions(store, spec)
    if not found:
        raise InputError([bad])
    if len(found) > 1:
        raise InputError([Problem(raw[:200], N_("this prefix matches {n} pack revisions; give more of it: {revisions}"),
                                  {"n": len(found), "revisions": ", ".join(r[:19] for r in found[:5])}, "ambiguous_revision")])
    return pack_from_snapshot(store, found[0])


def diff(a: str, b: str, db_url: str | None = None):
    """:func:`~icv_permits.core.pack_diff.diff_packs` of two packs named as :func:`resolve_pack` takes them."""
    from icv_permits.core.pack_diff import diff_packs

    return diff_packs(resolve_pack(a, db_url), resolve_pack(b, db_url))
