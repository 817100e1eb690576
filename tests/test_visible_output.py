"""What reaches the terminal: hostile names, reasons and actors are shown, never obeyed.

A corpus of hostile text (ANSI and OSC escape sequences, a C1 CSI, bidi overrides and isolates,
CR/LF with a forged ``queue`` row, NUL, DEL, zero-width characters, Rich markup) is put into an
application's entity, driver, vehicle and section names and into ``--reason`` and ``--actor``, and
run through ``check`` (text, markdown, JSON), ``submit``, ``queue``, ``show``, ``decide``,
``entity show``, ``audit log`` and ``audit explain`` on the store (SQLite, and PostgreSQL when
``ICV_PERMITS_TEST_PG_URL`` is set): no control, bidi or format character comes out, the queue
has one row per submission, the JSON holds the exact text. Then a property over arbitrary text
(hypothesis) and the terminal app (Pilot): markup in a name is shown as typed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import builders as B
from icv_permits.core.visible import escaped, markdown, visible, visible_json, visible_lines
from icv_permits.present.report import render_markdown, render_text

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "da-compliant.yaml"
NOW = "2026-11-27T10:00:00+08:00"  # the example is compliant on this day
AS_OF = "2026-11-27"
CREDIT_CODE = "91340100MA2RFGJQ5K"

# ---------------------------------------------------------------- the hostile corpus

HOSTILE = {
    "clear screen": "\x1b[2J\x1b[H",
    "OSC 8 hyperlink": "\x1b]8;;http://evil.example/\x07click me\x1b]8;;\x07",
    "OSC 52 clipboard": "\x1b]52;c;cm0gLXJmIH4=\x07",
    "C1 CSI": "\x9b31m",
    "right-to-left override": "\u202egnp.exe",
    "isolates and marks": "\u2066x\u2069\u2067y\u2069\u2068z\u2069\u200e\u200f\u061c",
    "forged queue row": "\r\n99   1     under review  road test  FAKE ENTITY 91340100MA0000000X  9  COMPLIANT  2026-11-27 10:00",
    "DEL": "a\x7fc",  # NUL is refused as input (see the test at the end), so it never reaches a view
    "zero-width": "z\u200bw\u200cj\u200dn\ufeff",
    "line separators": "l\u2028p\u2029n\x85",
    "rich markup": "[red]RED[/red] [link=http://evil.example]link[/link] [@click=app.quit]quit[/]",
}
ALL_HOSTILE = "".join(HOSTILE.values())
RAW = {ch for ch in ALL_HOSTILE if escaped(ch)}  # every character of the corpus that must not come out raw
assert "\n" in RAW and "\x1b" in RAW and "\u202e" in RAW and "\x9b" in RAW


SECTION = "S\x1b[2J\u202e\x9b\x7f\u200d[red]x[/red]"  # a section id holds no white space, 64 characters at most


def hostile(tag: str) -> str:
    """A name made of Chinese text, the tag and the whole corpus."""
    return f"合肥{tag}" + ALL_HOSTILE + "星途"


def raw_left(text: str, keep_newlines: bool = True) -> set[str]:
    """The characters of ``text`` that should have been escaped (line breaks of the output aside)."""
    return {ch for ch in text if escaped(ch) and not (keep_newlines and ch == "\n")}


def hostile_application(path: Path) -> Path:
    """The compliant example with the corpus in the entity's, a driver's and a vehicle's names and
    an extra section id of escape sequences and markup."""
    doc = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    doc["entity"]["name"] = hostile("实体")
    doc["drivers"][0]["name"] = hostile("驾驶员")
    doc["vehicles"][0]["brand_model"] = hostile("车辆")
    doc["vehicles"][1]["configuration"] = "X" + ALL_HOSTILE
    doc["sections"] = [*doc["sections"], SECTION]
    text = json.dumps(doc, default=str)  # escapes: a raw control character is refused in a file
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- the function itself


@pytest.mark.parametrize("name", list(HOSTILE))
def test_each_hostile_text_is_shown_visibly_on_one_line(name: str) -> None:
    text = HOSTILE[name]
    shown = visible(text)
    assert not raw_left(shown, keep_newlines=False) and "\n" not in shown
    assert visible(shown) == shown  # idempotent: safe to apply again at the edge of the program
    assert visible_lines(shown) == shown


def test_the_visible_forms() -> None:
    assert visible("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert visible("\r\n\t") == "\\r\\n\\t"
    assert visible("\x9b\x00\x7f") == "\\x9b\\x00\\x7f"
    assert visible("\u202eabc\u2066") == "\\u202eabc\\u2066"
    assert visible("\u200d\ufeff\u2028") == "\\u200d\\ufeff\\u2028"
    assert visible("\U000e0041") == "\\U000e0041"  # a tag character
    assert visible("\udcff") == "\\udcff"  # a lone surrogate (a file name that is not UTF-8)
    assert visible("\u3164") == "\\u3164"  # the Hangul filler shows nothing
    assert visible(None) == "—"
    assert visible(12) == "12"


@pytest.mark.parametrize("text", ["合肥星途智行科技有限公司", "王磊", "陈静　（全角空格）", "𠀀𪚥𰻞", "葛\U000e0100", "Ünïcödé — ok",
                                  "Ἀθῆναι", "שלום", "مرحبا", "🚗", "C:\\path\\x1b"])
def test_ordinary_text_is_untouched(text: str) -> None:
    """Chinese (rare characters of the supplementary planes and an ideographic variation selector
    too), other scripts, the full-width space and a typed backslash stay as typed."""
    assert visible(text) == text


def test_visible_lines_keeps_its_own_line_breaks_only() -> None:
    assert visible_lines("a\nb\x1b\n") == "a\nb\\x1b\n"
    assert visible_lines("a\r\nb") == "a\\r\nb"


def test_markdown_cannot_add_a_row_a_link_html_or_a_heading() -> None:
    md = markdown("|x| [a](http://e) ![i](http://e/i.png) <img src=x> &#x202e; *b* _c_ `d` ~~e~~\n# h")
    assert "\n" not in md
    for mark in ("|", "[", "]", "<", ">", "&", "*", "_", "`", "~", "#"):
        assert all(md[i - 1] == "\\" for i, ch in enumerate(md) if ch == mark), mark
    assert markdown("# heading").startswith("\\#") and markdown("- item").startswith("\\-") and markdown("1. one").startswith("1\\.")
    assert markdown("合肥星途") == "合肥星途"


def test_visible_json_keeps_the_value() -> None:
    value = {"name": ALL_HOSTILE + "\U000e0041\udcff合肥", "n": [1, "\u2028"]}
    text = json.dumps(value, ensure_ascii=False, indent=2)
    safe = visible_json(text)
    assert json.loads(safe) == value
    assert not raw_left(safe)


# ---------------------------------------------------------------- the CLI


def run(*args: object, url: str | None = None, actor: str = "reviewer-a", lang: str = "en") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("ICV_PERMITS_LANG", "ICV_PERMITS_DEBUG", "ICV_PERMITS_DATABASE_URL")}
    env.update(PYTHONIOENCODING="utf-8", ICV_PERMITS_NOW=NOW, ICV_PERMITS_ACTOR=actor, ICV_PERMITS_LANG=lang)
    if url is not None:
        env["ICV_PERMITS_DATABASE_URL"] = url
    r = subprocess.run([sys.executable, "-m", "icv_permits.cli", *map(str, args)], cwd=ROOT, env=env, capture_output=True,
                       encoding="utf-8", errors="surrogateescape", timeout=120)
    assert "Traceback" not in r.stdout + r.stderr, r.stdout + r.stderr
    return r


def run_all(*calls: tuple[tuple, dict]) -> list[subprocess.CompletedProcess]:
    with ThreadPoolExecutor(3) as pool:
        return list(pool.map(lambda c: run(*c[0], **c[1]), calls))


def assert_safe(r: subprocess.CompletedProcess, what: str) -> None:
    for stream in (r.stdout, r.stderr):
        left = raw_left(stream)
        assert not left, f"{what}: {sorted(map(ascii, left))} reached the terminal"


@pytest.fixture(scope="module")
def hostile_file(tmp_path_factory) -> Path:
    return hostile_application(tmp_path_factory.mktemp("hostile") / "hostile.json")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_check_shows_hostile_names_visibly(hostile_file: Path, lang: str) -> None:
    text, md, js = run_all(*(((("check", hostile_file, "--as-of", AS_OF, "--format", fmt, "--lang", lang)), {"lang": lang})
                             for fmt in ("text", "markdown", "json")))
    assert text.returncode == md.returncode == js.returncode == 1  # the unknown section fails
    for r, fmt in ((text, "text"), (md, "markdown"), (js, "json")):
        assert_safe(r, f"check --format {fmt}")
    # shown, visibly: the escape sequence and the override as escapes, the Chinese as typed
    assert "合肥实体" in text.stdout and "\\x1b[2J" in text.stdout and "\\u202egnp.exe" in text.stdout
    assert "合肥驾驶员" in text.stdout and "合肥车辆" in text.stdout and "\\r\\n99" in text.stdout
    assert "合肥实体" in md.stdout and "\\\\x1b\\[2J" in md.stdout and "\\[red\\]RED\\[/red\\]" in md.stdout
    # markdown: no link, image, raw HTML or table row made by a name; each name on its own line
    assert not re.search(r"(?<!\\)\[[^\]]*(?<!\\)\]\(", md.stdout)
    assert not re.search(r"(?<!\\)<[a-z/]", md.stdout)
    entity_lines = [line for line in md.stdout.splitlines() if "合肥实体" in line]
    assert len(entity_lines) == 1 and entity_lines[0].startswith("## ")
    # JSON: the exact text, one document
    data = json.loads(js.stdout)
    subjects = {f["subject"]["ref"] + " " + f["subject"]["label"] for f in data["findings"]}
    assert any(hostile("实体") in s for s in subjects) and any(hostile("驾驶员") in s for s in subjects)


def test_a_hostile_file_name_in_an_error_is_shown_visibly(tmp_path: Path) -> None:
    missing = tmp_path / ("no\x1b[2J\u202etxt.yaml[red]x[/red]")
    r = run("check", missing, "--lang", "en")
    assert r.returncode == 2
    assert_safe(r, "the error")
    assert "no\\x1b[2J\\u202etxt.yaml[red]x[/red]" in r.stderr


def test_office_and_audit_commands_show_hostile_text_visibly(store, hostile_file: Path, tmp_path: Path) -> None:
    url = store.url
    actor = "evil\x1b]52;c;ZXZpbA==\x07\u202e\r\nactor"
    reason = "补正\x1b[2J\u202e理由\r\n2    1     approved      fake   row" + HOSTILE["rich markup"]
    sub = run("submit", hostile_file, "--lang", "en", url=url, actor=actor)
    assert sub.returncode == 0, sub.stderr
    assert_safe(sub, "submit")
    assert "合肥实体" in sub.stdout
    plain = run("submit", EXAMPLE.with_name("rt-compliant.yaml"), url=url)
    assert plain.returncode == 0, plain.stderr

    queue, queue_json = run_all((("queue", "--lang", "en"), {"url": url}), (("queue", "--format", "json"), {"url": url}))
    assert_safe(queue, "queue")
    rows = queue.stdout.splitlines()
    assert len(rows) == 2 + 2, queue.stdout  # header, rule, one row per submission: no forged row
    assert sum("\\r\\n99" in row and "FAKE ENTITY" in row for row in rows) == 1  # the forged row is part of the name's cell
    views = json.loads(queue_json.stdout)
    assert hostile("实体") in [v["entity_name"] for v in views]
    assert_safe(queue_json, "queue --format json")

    decided = run("decide", "1", "--return", "--reason", reason, "--actor", actor, "--lang", "en", url=url)
    assert decided.returncode == 0, decided.stderr
    assert_safe(decided, "decide")
    assert "补正\\x1b[2J\\u202e理由\\r\\n2" in decided.stdout

    show, entity, log, log_json, explain_review, explain_engine = run_all(
        (("show", "1", "--lang", "en"), {"url": url}),
        (("entity", "show", CREDIT_CODE, "--lang", "en"), {"url": url}),
        (("audit", "log", "--lang", "en"), {"url": url}),
        (("audit", "log", "--format", "json"), {"url": url}),
        (("audit", "explain", "6", "--lang", "en"), {"url": url}),  # 1–2 and 3–4 the submissions, 5–6 the decision
        (("audit", "explain", "1", "--lang", "zh"), {"url": url, "lang": "zh"}),
    )
    for r, what in ((show, "show"), (entity, "entity show"), (log, "audit log"), (log_json, "audit log --format json"),
                    (explain_review, "audit explain (review)"), (explain_engine, "audit explain (engine decision)")):
        assert r.returncode == 0, (what, r.stderr)
        assert_safe(r, what)
    assert "补正\\x1b[2J\\u202e理由\\r\\n2" in show.stdout and "evil\\x1b]52;c;ZXZpbA==\\x07\\u202e\\r\\nactor" in show.stdout
    assert "合肥实体" in entity.stdout and "合肥驾驶员" in show.stdout and "合肥车辆" in show.stdout
    assert "[red]RED[/red]" in show.stdout  # markup means nothing on a terminal: shown as typed
    # the log: one row per record, the claimed actor visibly
    records = json.loads(log_json.stdout)
    assert len(log.stdout.splitlines()) == 2 + len(records)
    assert any(r["body"].get("claimed_actor") == actor for r in records)
    assert any(r["body"].get("reason") == reason for r in records)
    assert "evil\\x1b]52" in log.stdout
    assert "补正\\x1b[2J\\u202e理由\\r\\n2" in explain_review.stdout
    assert "合肥实体" in explain_engine.stdout


def test_the_export_is_one_valid_json_line_per_record(store, tmp_path: Path) -> None:
    """``audit export`` is JSON Lines: a line break or an escape sequence in a value is a JSON
    escape, so each record stays on its line and parses back to the exact text."""
    hostile_file = EXAMPLE
    url = store.url
    named = tmp_path / "h\r\n\x1b[2J\u202e.yaml"  # the file name is recorded too
    named.write_bytes(hostile_file.read_bytes())
    actor = "a\r\nb\u2028c\x85d"
    assert run("submit", named, url=url, actor=actor).returncode == 0
    out = tmp_path / "log.jsonl"
    r = run("audit", "export", "--out", out, url=url)
    assert r.returncode == 0, r.stderr
    lines = out.read_text(encoding="utf-8").split("\n")
    assert lines[-1] == ""
    docs = [json.loads(line) for line in lines[:-1]]
    records = [d for d in docs if d["type"] == "record"]
    assert [d["type"] for d in docs] == ["header", "pack_snapshot", "record", "record"]
    assert all(r["body"]["claimed_actor"] == actor for r in records)
    assert records[1]["body"]["file_name"] == named.name
    # to standard output (a terminal, perhaps): bidi and C1 characters as JSON escapes, the same values
    shown = run("audit", "export", url=url)
    assert shown.returncode == 0 and not raw_left(shown.stdout)
    assert [json.loads(line) for line in shown.stdout.splitlines()] == docs


# ---------------------------------------------------------------- any text at all (hypothesis)

ANY_CHAR = st.one_of(st.characters(), st.characters(categories=["Cs"]), st.sampled_from(sorted(set(ALL_HOSTILE))))
ANY_TEXT = st.text(ANY_CHAR, min_size=1, max_size=40).filter(lambda s: s.strip() and "\x00" not in s and not any(0xD800 <= ord(c) <= 0xDFFF for c in s))  # what the model accepts as a name (NUL and lone surrogates are refused)
CJK_TEXT = st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), min_size=1, max_size=16)
_BASE = B.baseline(B.DA)
_PACK = B.pack()


def _reports(name: str, section: str) -> tuple[str, str, str]:
    doc = B.with_(_BASE, "entity.name", name, "drivers[0].name", name, "vehicles[0].brand_model", name)
    doc["sections"] = [*doc["sections"], section]
    decision = B.evaluate_dict(doc)
    return render_text(decision, _PACK, "en"), render_markdown(decision, _PACK, "zh"), render_text(decision, _PACK, "zh", verbose=True)


_PLAIN_MD_LINES = len(_reports("X", "SX")[1].splitlines())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ANY_TEXT)
def test_no_character_of_a_name_reaches_the_report_raw(name: str) -> None:
    """Whatever a name holds, the text and markdown reports carry none of its control, format,
    separator or surrogate characters, and the markdown report has the lines it has for a plain name."""
    section = "S" + re.sub(r"\s", "", name)
    text, md, verbose = _reports(name, section)
    dangerous = {ch for ch in name if escaped(ch)} - {"\n"}
    for report in (text, md, verbose):
        assert not dangerous & set(report)
        assert not raw_left(report)
    assert len(md.splitlines()) == _PLAIN_MD_LINES


@settings(max_examples=60, deadline=None)
@given(CJK_TEXT)
def test_chinese_names_are_shown_as_typed(name: str) -> None:
    text, md, _ = _reports(name, "S1")
    assert name in text and name in md
    assert visible(name) == name == markdown(name)
    assert all(unicodedata.category(ch) == "Lo" for ch in name)


# ---------------------------------------------------------------- the terminal app


def _sync(fn):
    import asyncio
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return asyncio.run(fn(*args, **kwargs))

    return wrapper


MARKUP_NAME = "[red]红[/red] [link=http://evil.example]点我[/link] [b]粗[/b]\x1b[2J\u202e合肥"


@_sync
async def test_the_app_shows_a_markup_looking_name_literally(store, tmp_path: Path) -> None:
    pytest.importorskip("textual")
    import pendulum
    from textual.widgets._data_table import default_cell_formatter

    from icv_permits.services import office
    from icv_permits.services.precheck import FixedClock
    from icv_permits.tui.app import ICVApp
    from icv_permits.tui.regulator import RegulatorScreen

    doc = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    doc["entity"]["name"] = MARKUP_NAME
    path = tmp_path / "markup.json"
    path.write_text(json.dumps(doc, default=str), encoding="utf-8")  # escapes: a raw control character is refused in a file
    clock = FixedClock(pendulum.parse(NOW))
    res = office.submit(store, path, actor="applicant", clock=clock)
    literal = "[red]红[/red] [link=http://evil.example]点我[/link] [b]粗[/b]\\x1b[2J\\u202e合肥"

    app = ICVApp(mode="regulator", lang="en", store_url=store.url, clock=clock, actor="tester")
    app.animation_level = "none"
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, RegulatorScreen)
        table = screen.query_one("#queue")
        assert table.row_count == 1
        entity_column = [str(c.label) for c in table.ordered_columns].index("Entity")
        cell = default_cell_formatter(table.get_row_at(0)[entity_column])
        assert cell.plain == literal and not cell.spans  # shown as typed, nothing styled or linked
        screen.load(res.submission.id)
        await pilot.pause()
        import io

        from rich.console import Console

        console = Console(width=400, file=io.StringIO(), record=True, color_system=None)
        console.print(screen.query_one("#application").content)  # text, grids and groups as shown
        head = console.export_text()
        assert literal in head
        assert not raw_left(head)
        # the entity's history, and a problem naming a file: shown, not read as markup
        screen.action_entity_history(CREDIT_CODE)
        await pilot.pause()
        assert literal in str(screen.query_one("#entity").render())
        app.open_draft(str(tmp_path / "[red]missing[/red].yaml"))
        await pilot.pause()
        note = app._notifications
        assert any("[red]missing[/red].yaml" in str(n.message) and not n.markup for n in note)
        # the command palette: its commands name the entity; their titles are not markup either
        from textual.fuzzy import Matcher

        from icv_permits.tui.app import _highlight

        title = next(title for title, _cb in screen.palette_commands() if "合肥" in title)
        assert literal in title and literal in _highlight(Matcher("open"), title).plain


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_nul_in_a_name_is_refused_naming_the_field(store, tmp_path: Path, lang: str) -> None:
    """NUL is not text and no database stores it (PostgreSQL refuses it in text and JSON): it is bad
    input at the field, for check and submit alike, before the engine or the store."""
    doc = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    doc["drivers"][0]["name"] = "张\x00三"
    path = tmp_path / "nul.json"
    path.write_text(json.dumps(doc, default=str), encoding="utf-8")
    words = {"en": "must not contain the NUL character", "zh": "不得包含 NUL 字符"}[lang]
    for command in (("check", path, "--as-of", AS_OF), ("submit", path)):
        r = run(*command, "--lang", lang, url=store.url)
        assert r.returncode == 2, r.stdout + r.stderr
        assert "drivers[0].name" in r.stderr and words in r.stderr and "Traceback" not in r.stderr
    assert run("queue", "--format", "json", url=store.url).stdout.strip() == "[]"
