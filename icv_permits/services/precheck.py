"""The service layer: what the CLI and the TUI call. It reads files, injects the clock, runs the
engine and renders; it holds no rule logic of its own.

Exit codes (also in ``docs/cli.md``):

=====  ==============================================================
0      compliant (or, for other commands, success)
1      non-compliant: at least one blocking rule fails
2      bad input or usage: unreadable/malformed file, bad option, bad pack
3      incomplete: nothing fails, but some rule lacks information
=====  ==============================================================
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from pathlib import Path

import pendulum
from pydantic import ValidationError

from icv_permits.adapters.clock import Clock, FixedClock, SystemClock  # noqa: F401  (re-exported: the service's clock)
from icv_permits.adapters.documents import read_document, validation_problems
from icv_permits.adapters.packs import load_pack
from icv_permits.core.canonical import utc_timestamp
from icv_permits.core.engine import evaluate
from icv_permits.core.engine.decision import Decision, Verdict
from icv_permits.core.errors import InputError, Problem
from icv_permits.core.i18n import N_
from icv_permits.core.model.application import Application
from icv_permits.core.model.types import DATE_TEXT, MAX_YEAR, MIN_YEAR
from icv_permits.core.pack import DEFAULT_PACK, Pack
from icv_permits.core.personal_text import mask_free_text

EXIT_OK = 0
EXIT_NON_COMPLIANT = 1
EXIT_BAD_INPUT = 2
EXIT_INCOMPLETE = 3

_EXIT_BY_VERDICT = {
    Verdict.compliant: EXIT_OK,
    Verdict.non_compliant: EXIT_NON_COMPLIANT,
    Verdict.incomplete: EXIT_INCOMPLETE,
}


@dataclass(frozen=True)
class CheckResult:
    application: Application
    pack: Pack
    decision: Decision
    clock_value: str

    @property
    def exit_code(self) -> int:
        return _EXIT_BY_VERDICT[self.decision.verdict]


def parse_as_of(text: str) -> pendulum.Date:
    """``--as-of`` as a date: ``YYYY-MM-DD``, the one form a date of the application takes (not the
    other forms ``date.fromisoformat`` reads: ``20261125``, an ISO week ``2026-W48-3``)."""
    try:
        if not DATE_TEXT.match(text.strip()):
            raise ValueError(text)
        d = _dt.date.fromisoformat(text.strip())
    except ValueError:
        raise InputError([Problem("--as-of", N_("not a valid date (YYYY-MM-DD): {value}"), {"value": text[:40]}, "as_of")]) from None
    if not MIN_YEAR <= d.year <= MAX_YEAR:
        raise InputError([Problem("--as-of", N_("{value} is outside the years this tool accepts ({min}–{max})"),
                                  {"value": d.isoformat(), "min": MIN_YEAR, "max": MAX_YEAR}, "as_of")])
    return pendulum.Date(d.year, d.month, d.day)


def parse_application(data: dict, *, name: str = "") -> Application:
    """Validate a parsed document as an application; bad fields become an :class:`InputError`."""
    try:
        return Application.model_validate(data)
    except ValidationError as exc:
        problems = validation_problems(exc, model=Application)
        if name:
            problems = [Problem(f"{name}: {p.location}" if p.location else name, p.msgid, p.params, p.code) for p in problems]
        raise InputError(problems) from None


def load_application(path: str | Path) -> Application:
    return parse_application(read_document(path), name=str(path))


def check_application(
    app: Application,
    *,
    pack: str | Pack = DEFAULT_PACK,
    as_of: _dt.date | None = None,
    clock: Clock | None = None,
    base_dir: Path | None = None,
    lenient: bool = False,
) -> CheckResult:
    """Check an application; ``as_of`` defaults to today in Asia/Shanghai by ``clock``.

    Evidence files named by the application are read inside ``base_dir``, the application file's
    folder, and nowhere else (``docs/evidence.md``). Without it (an application typed in, or a
    draft from the store) the application has no folder and its evidence files are not read: each
    is bad input — not the working directory, which in an office may hold its key and database.
    Bad rows in them are bad input, unless ``lenient``: then they are skipped and listed in the
    decision.

    The engine judges the application with the ID and phone numbers in its free text masked, as
    the office stores and judges it (``core/personal_text.py``): the report shows no such number
    in clear, and it says what the office's check will say. ``application`` stays as given."""
    clock = clock or SystemClock()
    now = clock.now()
    p = pack if isinstance(pack, Pack) else load_pack(pack)
    day = as_of if as_of is not None else now.date()
    evidence = None
    if app.evidence is not None:
        from icv_permits.adapters.evidence import (
            summarise,  # csv, sqlite3, zoneinfo: only when there is evidence to read
        )

        evidence = summarise(app, base_dir, p, day, lenient=lenient)
    return CheckResult(app, p, evaluate(_text_masked(app), p, day, evidence), utc_timestamp(now))


def _text_masked(app: Application) -> Application:
    doc = app.model_dump(mode="json")
    return Application.model_validate(doc) if mask_free_text(doc) else app


def check_file(
    path: str | Path,
    *,
    pack: str | Pack = DEFAULT_PACK,
    as_of: _dt.date | None = None,
    clock: Clock | None = None,
    lenient: bool = False,
) -> CheckResult:
    return check_application(load_application(path), pack=pack, as_of=as_of, clock=clock, base_dir=Path(path).parent, lenient=lenient)
