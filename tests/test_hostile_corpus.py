"""The hostile-input corpus: every way an attacker or a careless user was seen to break the tool,
each run as a real process the way a user runs it, with the exit code and the message it must give.

Each case builds its input in a temporary folder (large inputs are generated, never committed),
runs ``icv-permits …`` in a subprocess against a fresh SQLite store, and checks:

- the exit code (2 bad input, 4 not found / log broken, 7 refused by the database — never 70);
- a fragment of the message, in English and, for the cases marked, in Chinese;
- that no traceback reached the user.

Finer tests of each behaviour live beside the code that gives it (``test_input_bounds.py``,
``test_audit_import_hostile.py``, ``test_visible_output.py``, ``test_evidence_confinement.py``,
``test_personal_bruteforce.py``, ``test_personal_free_text.py``); this file is the index a reviewer
reads to see that every case is met.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
AS_OF = "2026-11-27"


def _example(name: str = "da-compliant.yaml") -> dict:
    return yaml.safe_load((EXAMPLES / name).read_text(encoding="utf-8"))


def _yaml_with(tmp: Path, doc: dict, raw: dict[str, str] | None = None, name: str = "app.yaml") -> Path:
    """``doc`` as YAML; each placeholder string in ``raw`` is replaced by the YAML text given, so
    numbers reach the reader exactly as typed."""
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    for placeholder, typed in (raw or {}).items():
        text = text.replace(f"'{placeholder}'", typed).replace(f": {placeholder}\n", f": {typed}\n")
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return path


@dataclass
class Run:
    tmp: Path
    env: dict[str, str]

    def __call__(self, *args: str | Path, stdin: str | None = None) -> subprocess.CompletedProcess:
        done = subprocess.run(  # bytes, so that no CR is turned into a line break on the way
            [sys.executable, "-m", "icv_permits.cli", *map(str, args)],
            capture_output=True, env=self.env, cwd=self.tmp, timeout=120,
            input=None if stdin is None else stdin.encode("utf-8"),
        )
        return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode("utf-8", "replace"),
                                           done.stderr.decode("utf-8", "replace"))


@pytest.fixture
def run(tmp_path) -> Run:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ICV_PERMITS_")}
    home = tmp_path / "home"
    home.mkdir()
    env.update({
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "ICV_PERMITS_DATABASE_URL": f"sqlite:///{tmp_path / 'office' / 'store.db'}",
        "ICV_PERMITS_TEST_CLOCK": "1",
        "ICV_PERMITS_NOW": "2026-11-27T10:00:00+08:00",
        "TMPDIR": str(tmp_path / "tmp"),
        "ICV_PERMITS_SECRET_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode("ascii"),  # an office's key, kept apart
    })
    (tmp_path / "office").mkdir()
    (tmp_path / "tmp").mkdir()
    r = Run(tmp_path, env)
    done = r("db", "upgrade")
    assert done.returncode == 0, done.stdout + done.stderr
    return r


@dataclass
class Case:
    name: str
    seen: str  # what was seen before, in the review's words
    steps: Callable[[Run, str], subprocess.CompletedProcess]  # (run, language) → the last step's result
    exit: int
    says: list[str] = field(default_factory=list)  # fragments of the English message
    says_zh: list[str] = field(default_factory=list)  # fragments of the Chinese message (--lang zh)
    never: list[str] = field(default_factory=list)  # what must not appear in any output


def _check(run: Run, path: Path, lang: str = "en") -> subprocess.CompletedProcess:
    return run("check", path, "--as-of", AS_OF, "--lang", lang)


def _hours(typed: str) -> Callable[[Run, str], subprocess.CompletedProcess]:
    def steps(run: Run, lang: str) -> subprocess.CompletedProcess:
        doc = _example()
        doc["vehicles"][0]["prior_testing"][0]["hours"] = "HOURS"
        return _check(run, _yaml_with(run.tmp, doc, {"HOURS": typed}), lang)
    return steps


def _amount(amount: int, command: str) -> Callable[[Run, str], subprocess.CompletedProcess]:
    def steps(run: Run, lang: str) -> subprocess.CompletedProcess:
        doc = _example()
        doc["insurance"][0]["amount_yuan"] = "AMOUNT"
        path = _yaml_with(run.tmp, doc, {"AMOUNT": str(amount)})
        if command == "check":
            return _check(run, path, lang)
        return run("submit", path, "--lang", lang)
    return steps


def _with(path: str, value: object, command: str = "check") -> Callable[[Run, str], subprocess.CompletedProcess]:
    """The compliant example with one field (a dotted path, list items by number) set to ``value``,
    written as JSON so that any character reaches the reader."""
    def steps(run: Run, lang: str) -> subprocess.CompletedProcess:
        doc = _example()
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        target = doc
        for p in parents:
            target = target[p]
        target[last] = value
        app = run.tmp / "app.json"
        app.write_text(json.dumps(doc, default=str), encoding="utf-8")
        if command == "check":
            return _check(run, app, lang)
        return run(command, app, "--lang", lang)
    return steps


def _evidence(trip_path: str, make: Callable[[Path], None] = lambda folder: None) -> Callable[[Run, str], subprocess.CompletedProcess]:
    """The trip-log example copied into its own folder, its first trip log replaced by ``trip_path``
    after ``make`` has prepared the folder (links, files)."""
    def steps(run: Run, lang: str) -> subprocess.CompletedProcess:
        folder = run.tmp / f"application-{lang}"
        if not folder.exists():
            (folder / "evidence").mkdir(parents=True)
            for name in ("da-trips.csv", "da-incidents.csv"):
                (folder / "evidence" / name).write_bytes((EXAMPLES / "evidence" / name).read_bytes())
            make(folder)
        doc = _example("da-trip-logs.yaml")
        doc["evidence"]["trips"] = [trip_path]
        return _check(run, _yaml_with(folder, doc), lang)
    return steps


def _link(name: str, target: str) -> Callable[[Path], None]:
    return lambda folder: (folder / name).symlink_to(target)


def _queue_after_submitting(name: str) -> Callable[[Run, str], subprocess.CompletedProcess]:
    def steps(run: Run, lang: str) -> subprocess.CompletedProcess:
        submitted = _with("entity.name", name, "submit")(run, lang)
        assert submitted.returncode == 0, submitted.stdout + submitted.stderr
        queue = run("queue", "--lang", lang)
        rows = [line for line in queue.stdout.splitlines() if line.strip()]
        count = len(json.loads(run("queue", "--format", "json").stdout))
        assert len(rows) == 2 + count, queue.stdout  # header, rule, a row per submission: no forged row
        return queue
    return steps


def _unknown_keys(n: int) -> Callable[[Run, str], subprocess.CompletedProcess]:
    """The compliant example with ``n`` unknown top-level keys."""
    def steps(run: Run, lang: str) -> subprocess.CompletedProcess:
        doc = _example() | {f"k{i}": 1 for i in range(n)}
        app = run.tmp / "app.json"
        app.write_text(json.dumps(doc, default=str), encoding="utf-8")
        return _check(run, app, lang)
    return steps


def _trip_file(name: str, text: str) -> Callable[[Path], None]:
    return lambda folder: (folder / "evidence" / name).write_text(text, encoding="utf-8")


_TRIP_HEADER = "vin,trip_id,start,end,distance_km,mode,section,notice\n"
_TRIP = "LSVAU218XN2183294,X1,2025-07-01T09:00:00+08:00,2025-07-01T11:30:00+08:00,{km},autonomous,HF-GX-001,\n"


def _command(*args: str) -> Callable[[Run, str], subprocess.CompletedProcess]:
    return lambda run, lang: run(*args, "--lang", lang)


CASES: list[Case] = [
    # -- numbers beyond what the model, the log or the database hold
    Case("hours-1e28", "`hours: 1e28` → decimal.InvalidOperation in check", _hours("1e28"), 2,
         ["vehicles[0].prior_testing[0].hours", "must be less than 1,000,000,000,000"],
         ["vehicles[0].prior_testing[0].hours", "必须小于 1,000,000,000,000"]),
    Case("hours-1e400", "an exponent beyond any float", _hours("1e400"), 2,
         ["vehicles[0].prior_testing[0].hours"]),
    Case("amount-2^53+2-check", "an integer above 2^53: check said COMPLIANT",
         _amount(2**53 + 2, "check"), 2, ["insurance[0].amount_yuan", "9007199254740991"]),
    Case("amount-2^53+2-submit", "… and submit exited 70 (RFC 8785 refuses it)",
         _amount(2**53 + 2, "submit"), 2, ["insurance[0].amount_yuan"]),
    Case("decide-huge-id", "`decide 99999999999999999999` → OverflowError",
         _command("decide", "99999999999999999999", "--approve", "--actor", "clerk"), 4, ["99999999999999999999"]),
    Case("show-2^31", "any id ≥ 2^31 → DataError on PostgreSQL", _command("show", str(2**31)), 4, [str(2**31)]),
    Case("verify-from-huge", "`audit verify --from …` → OverflowError",
         _command("audit", "verify", "--from", "99999999999999999999"), 4, []),
    # -- characters no file or database holds
    Case("nul-in-a-name", "NUL in a name: PostgreSQL refused it inside the store (exit 70)",
         _with("drivers.0.name", "张\x00三", "submit"), 2, ["drivers[0].name", "must not contain the NUL character"],
         ["drivers[0].name", "不得包含 NUL 字符"]),
    Case("lone-surrogate", "half a surrogate pair (JSON \\ud800) in a name",
         _with("entity.name", "合肥\ud800", "check"), 2, ["entity.name", "is not valid Unicode text"]),
    # -- what reaches the terminal
    Case("forged-queue-row", "a CR/LF in an entity name forged an extra `queue` row",
         _queue_after_submitting("合肥\r\n99   1     under review  road test  FAKE\x1b[2J\u202e"), 0,
         ["\\r\\n99", "\\x1b[2J\\u202e"], never=["\x1b", "\u202e", "\r"]),
    Case("escapes-in-check", "ANSI/OSC escapes and bidi overrides printed raw by `check`",
         _with("drivers.0.name", "\x1b]52;c;ZXZpbA==\x07\u202e张三\x9b31m", "check"), 0,
         ["\\x1b]52;c;ZXZpbA==\\x07\\u202e张三\\x9b31m"], never=["\x1b", "\x07", "\u202e", "\x9b"]),
    # -- files outside the application
    Case("evidence-symlink-out", "a trip-log path that is a symlink to the system password file was opened",
         _evidence("evidence/passwd.csv", _link("evidence/passwd.csv", "/etc/passwd")), 2,
         ["evidence.trips[0]", "only regular files inside the application's folder are read"], never=["root:"]),
    Case("evidence-dot-dot", "`../../…` was opened", _evidence("../office/store.db"), 2,
         ["evidence.trips[0]", "only regular files inside the application's folder are read"]),
    Case("evidence-proc", "the process environment under /proc was opened", _evidence("/proc/self/environ"), 2,
         ["evidence.trips[0]", "only regular files inside the application's folder are read"]),
    Case("evidence-missing", "the messages told whether a file exists", _evidence("evidence/nothing-here.csv"), 2,
         ["evidence.trips[0]", "only regular files inside the application's folder are read"]),
    # -- evidence rows beyond what the reader holds
    Case("trip-distance-1e16", "a trip of `1e16` km → OverflowError (exit 70)",
         _evidence("evidence/big.csv", _trip_file("big.csv", _TRIP_HEADER + _TRIP.format(km="1e16"))), 2,
         ["big.csv", "line 2", "100,000,000 km or more"], ["big.csv", "第 2 行", "100,000,000 公里"]),
    Case("trip-distance-5000-digits", "a distance of 5,000 digits → ValueError (exit 70)",
         _evidence("evidence/long.csv", _trip_file("long.csv", _TRIP_HEADER + _TRIP.format(km="9" * 5000))), 2,
         ["long.csv", "line 2", "100,000,000 km or more"]),
    Case("jsonl-nested", "a JSON Lines trip nested 100,000 deep → RecursionError (exit 70)",
         _evidence("evidence/deep.jsonl", _trip_file("deep.jsonl", "[" * 100_000 + "]" * 100_000 + "\n")), 2,
         ["deep.jsonl", "line 1", "the row cannot be read"]),
    Case("jsonl-lone-surrogate", "a JSON Lines trip with `\\ud800` → UnicodeEncodeError in polars (exit 70)",
         _evidence("evidence/sur.jsonl", _trip_file("sur.jsonl", '{"vin": "\\ud800", "trip_id": "A"}\n')), 2,
         ["sur.jsonl", "line 1", "the row cannot be read"]),
    # -- a small file that asks for a great deal
    Case("a-million-sections", "400,000 sections in 1.6 MB: 16 s and 400 MB, a block of report per item",
         _with("sections", ["A"] * 400_000), 2, ["sections", "at most 1000 item(s), but has 400000"],
         ["sections", "最多只能包含 1000 项"]),
    Case("unknown-keys-storm", "200,000 unknown keys in 2 MB: a line each, past any timeout",
         _unknown_keys(150), 2, ["k0", "50 more problems not listed (150 in all)"], ["另有 50 个问题未列出（共 150 个）"]),
    # -- personal data in messages
    Case("id-in-the-wrong-field", "error messages echoed misplaced values in clear",
         _with("drivers.0.contract", "11010519491231002X", "check"), 2, ["drivers[0].contract", "is not an allowed value"],
         ["drivers[0].contract"], never=["11010519491231002X", "19491231"]),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_hostile_case_gets_its_exit_code_and_message(run, case):
    for lang, fragments in (("en", case.says), ("zh", case.says_zh)):
        if lang == "zh" and not fragments:
            continue
        r = case.steps(run, lang)
        out = r.stdout + r.stderr
        assert "Traceback" not in out, out
        assert r.returncode == case.exit, f"{case.seen}\nexit {r.returncode} ({lang})\n{out}"
        for fragment in fragments:
            assert fragment in out, f"{case.seen}: {fragment!r} not in\n{out}"
        for fragment in case.never:
            assert fragment not in out, f"{case.seen}: {fragment!r} in\n{out}"


def test_the_corpus_names_no_case_twice():
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))
    assert all(json.dumps(c.seen) for c in CASES)
