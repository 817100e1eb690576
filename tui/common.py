"""Shared pieces of the terminal app: translation, typed text ↔ values, key bindings and the keymap
file, the key bar, the help screen and the findings view. No rule logic: findings, verdicts,
citations and remedies come from the library (``icv_permits.present.report``).

Text from outside (names, values, file names, problems) reaches the screen as a rich ``Text`` (never
read as markup, so ``[red]`` or ``[link=…]`` in a name shows as typed) made visible by
:mod:`icv_permits.core.visible` (control, bidi and zero-width characters as escapes): through
:func:`shown`, and through :func:`t`, whose values are made visible."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from icv_permits.core.errors import Problem
from icv_permits.core.i18n import N_, translations
from icv_permits.core.i18n import t as report_t
from icv_permits.core.model.ids import mask as mask_value
from icv_permits.core.visible import problem as visible_problem
from icv_permits.core.visible import visible, visible_lines, visible_params

TUI = "tui"


def t(lang: str, msgid: str, **params: Any) -> str:  # noqa: F811
    """A string of the ``tui`` catalogue in ``lang``, each value made visible (it stays on its line
    and carries no control character; it still needs :func:`shown`, or a ``Text``, to be safe from
    markup)."""
    return report_t(lang, msgid, TUI, **visible_params(params))


def shown(text: str | Text, style: str = "") -> Text:
    """Text for a widget (``Static``, ``Label``, a ``DataTable`` cell): a ``Text``, which is never
    read as markup, with every line made visible. A ``Text`` already built is kept as it is."""
    if isinstance(text, Text):
        return text
    return Text(visible_lines(text), style=style)


def problem_text(p: Problem, lang: str, with_location: bool = False, draft: dict | None = None) -> str:
    """A Problem in ``lang``: its msgid from the ``input`` catalogue, or the ``tui`` one; its
    values made visible; with ``with_location``, where it is as the applicant reads it (the
    field's label after its item's, :func:`fields.path_label` of ``draft``), never a raw path."""
    p = visible_problem(p)
    text = _choice_problem(p, lang) or p.message(lang)
    if lang != "en" and text == p.message("en"):
        own = translations(lang, TUI).gettext(p.msgid)
        if own != p.msgid:
            try:
                text = own.format(**p.params)
            except (KeyError, IndexError, ValueError):
                text = own
    if with_location and p.location:
        from .fields import path_label

        return f"{path_label(p.location, draft, lang)}: {text}"
    return text


def _choice_problem(p: Problem, lang: str) -> str | None:
    """A wrong value of a field chosen from a list, said with the list's labels in ``lang`` (the
    model's own message names the codes)."""
    from . import fields

    if "input" not in p.params or not p.location:
        return None
    generic = re.sub(r"\[\d+\]", "[]", p.location)
    spec = fields.field_for(re.sub(r"\[\]$", "", generic))
    enum = spec.enum if spec is not None else fields.SUB_ENUMS.get(generic)
    if p.code == "enum" and enum is not None:
        from icv_permits.core.code_labels import choices

        labels = "、".join(label for _code, label in choices(enum, lang)) if lang == "zh" else "; ".join(label for _code, label in choices(enum, lang))
        return t(lang, "“{input}” is not one of the choices (Enter on the field lists them): {choices}", input=p.params["input"], choices=labels)
    if spec is not None and spec.kind == "bool" and not generic.endswith("[]"):
        from icv_permits.core.code_labels import BOOLS

        words = " / ".join(report_t(lang, w) for w in BOOLS.values())
        return t(lang, "“{input}” is not an answer here: {choices}", input=p.params["input"], choices=words)
    return None


# ---------------------------------------------------------------- typed text ↔ values

# the yes/no words, and the labels of coded values, are those of icv_permits.core.code_labels
_SPLIT_CODED = re.compile(r"\s*[,，、;；]\s*")
_SPLIT_TEXTS = re.compile(r"\s*[,，、]\s*")


NONE_WORDS = {"none", "-", "无", "没有"}
SERIOUS_WORDS = {"serious", "严重"}
INJURY_WORDS = {"injury", "death", "serious", "伤亡", "死亡", "重伤"}
STRUCTURED = ("prior", "violations", "accidents")
"""Kinds typed as entries separated by ``;``; what cannot be read is kept as typed and explained."""
CHOSEN = ("bool", "enum", "enums")
"""Kinds whose values are chosen from a list (Enter on the field opens it)."""

FORMATS = {
    "prior": N_("SECTION HOURS KM y|n; …"),
    "violations": N_("DATE KIND serious; … (serious only for a serious violation), or none"),
    "accidents": N_("DATE LIABILITY injury; … (injury: death or serious injury), or none"),
}


def _entries(s: str) -> list[str]:
    return [e.strip() for e in re.split(r"[;；]", s) if e.strip()]


def _bool(text: str) -> Any:
    from icv_permits.core.code_labels import bool_for

    known, value = bool_for(text)
    return value if known else text


def _codes(enum, s: str) -> list[str]:
    """A typed list of coded values: each part a code or a label (any language, any case), parts
    separated by commas (also ，、;；); codes separated by spaces only are read too."""
    from icv_permits.core.code_labels import code_for

    out: list[str] = []
    for part in (p for p in _SPLIT_CODED.split(s) if p):
        code = code_for(enum, part) if enum is not None else None
        if code is not None or enum is None:
            out.append(code or part)
            continue
        words = part.split()
        codes = [code_for(enum, w) for w in words]
        out.extend(c or w for c, w in zip(codes, words, strict=True)) if len(words) > 1 and all(codes) else out.append(part)
    return out


def parse_text(kind: str, text: str, current: Any = None, enum=None) -> Any:
    """What the applicant typed, as the value of the document (``None``: leave the field out).
    Coded values (``enum``: the model's enumeration) are read from their code or their label in
    either language. Text that cannot be read as the kind is kept as typed, so the model (and
    :func:`problem_text`) names the problem."""
    s = text.strip()
    if not s:
        return None
    if kind == "bool":
        return _bool(s)
    if kind == "enum":
        from icv_permits.core.code_labels import code_for

        return (code_for(enum, s) or s) if enum is not None else s
    if kind in ("int", "decimal"):
        if re.fullmatch(r"[+-]?\d{1,300}", s):  # longer digit strings stay text: the model names them
            return int(s)
        return s
    if kind == "enums":
        return [] if s.lower() in NONE_WORDS else _codes(enum, s)
    if kind == "texts":
        if s.lower() in NONE_WORDS:  # "-", "无": none at all
            return []
        return [p for p in _SPLIT_TEXTS.split(s) if p]
    if kind == "prior":
        if s.lower() in NONE_WORDS:
            return []
        out = []
        for entry in _entries(s):
            bits = entry.split()
            if len(bits) not in (3, 4):
                return s
            item: dict[str, Any] = {"section": bits[0], "hours": bits[1], "km": bits[2]}
            if len(bits) == 4:
                item["records_submitted"] = parse_text("bool", bits[3])
            out.append(item)
        return out
    if kind in ("violations", "accidents"):
        if s.lower() in NONE_WORDS:
            return []
        out = []
        for entry in _entries(s):
            bits = entry.split()
            flag = len(bits) > 2 and bits[-1].lower() in (SERIOUS_WORDS if kind == "violations" else INJURY_WORDS)
            if flag:
                bits = bits[:-1]
            if len(bits) < 2:
                return s
            if kind == "violations":
                out.append({"date": bits[0], "kind": " ".join(bits[1:]), "serious": flag})
            else:
                from icv_permits.core.code_labels import code_for
                from icv_permits.core.model.application import Liability

                said = " ".join(bits[1:])
                liability = code_for(Liability, said)
                if liability is None and len(bits) != 2:
                    return s
                out.append({"date": bits[0], "liability": liability or said, "death_or_serious_injury": flag})
        return out
    return s


def _record_text(kind: str, value: list, lang: str) -> str | None:
    zh = lang == "zh"
    parts = []
    for it in value:
        if not isinstance(it, dict):
            return None
        if kind == "violations":
            bits = [str(it.get("date", "")), str(it.get("kind", ""))] + ([("严重" if zh else "serious")] if it.get("serious") is True else [])
        else:
            from icv_permits.core.code_labels import label
            from icv_permits.core.model.application import Liability

            bits = [str(it.get("date", "")), label(Liability, str(it.get("liability", "")), lang)]
            bits += [("伤亡" if zh else "injury")] if it.get("death_or_serious_injury") is True else []
        parts.append(" ".join(bits))
    return "; ".join(parts)


def show_text(kind: str, value: Any, lang: str = "en", enum=None) -> str:
    """A document value as the applicant types it, in ``lang``: yes/no and coded values by their
    label (``enum``: the model's enumeration); ``parse_text`` of it gives the value back."""
    if value is None:
        return ""
    zh = lang == "zh"
    if kind == "bool" and isinstance(value, bool):
        from icv_permits.core.code_labels import BOOLS

        return report_t(lang, BOOLS[value])
    if kind in ("enum", "enums") and enum is not None:
        from icv_permits.core.code_labels import label

        if isinstance(value, str):
            return label(enum, value, lang)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return ("、" if zh else ", ").join(label(enum, v, lang) for v in value) if value else ("无" if zh else "-")
    if kind in ("violations", "accidents") and isinstance(value, list):
        if not value:
            return "无" if zh else "none"
        text = _record_text(kind, value, lang)
        if text is not None:
            return text
    if kind == "prior" and isinstance(value, list):
        parts = []
        for it in value:
            if not isinstance(it, dict):
                return str(value)
            bits = [str(it.get("section", "")), str(it.get("hours", "")), str(it.get("km", ""))]
            if "records_submitted" in it:
                bits.append(show_text("bool", it["records_submitted"], lang))
            parts.append(" ".join(bits))
        return "; ".join(parts) if parts else ("无" if zh else "-")
    if isinstance(value, list):  # an empty list: "无" in Chinese (read back as none, like "-")
        return ", ".join(str(v) for v in value) if value else ("无" if zh else "-")
    if isinstance(value, bool):
        return ("是" if value else "否") if zh else ("yes" if value else "no")
    return str(value)


def example_text(spec, lang: str) -> str:
    """A field's example as the applicant would type it in ``lang`` (a coded example by its label,
    yes/no as 是/否…): the example is kept in the form of the document."""
    if not spec.example:
        return ""
    value = parse_text(spec.kind, spec.example, enum=spec.enum)
    if value is None or (isinstance(value, str) and spec.kind != "enum"):
        return spec.example
    return show_text(spec.kind, value, lang, spec.enum)


def mask(path: str, text: str) -> str:
    """Personal data as shown when not being edited (the field path's leaf decides)."""
    return str(mask_value(path.rsplit(".", 1)[-1], text)) if text else text


# ---------------------------------------------------------------- key bindings and the keymap file


@dataclass(frozen=True)
class Key:
    id: str
    key: str
    action: str
    label: str  # msgid
    priority: bool = False


APP_KEYS = (
    Key("app.help", "f1", "help", N_("Help"), True),
    Key("app.language", "f2", "toggle_language", N_("中/EN"), True),
    Key("app.modes", "f3", "choose_mode", N_("Modes"), True),
    Key("app.quit", "ctrl+q", "quit", N_("Quit"), True),
)
APPLICANT_KEYS = (
    # not Ctrl+B (tmux's prefix) nor Ctrl+A (GNU screen's): inside either they never reach the app
    Key("applicant.back", "f4", "prev_step", N_("Back")),
    Key("applicant.next", "f5,ctrl+n", "next_step", N_("Next")),
    Key("applicant.review", "ctrl+r", "review", N_("Review")),
    Key("applicant.add", "f6", "add_item", N_("Add item")),
    Key("applicant.remove", "f7", "remove_item", N_("Remove item")),
    Key("applicant.prev_item", "f8", "prev_item", N_("Previous item")),
    Key("applicant.next_item", "f9", "next_item", N_("Next item")),
    Key("applicant.save", "ctrl+s", "save", N_("Save")),
    Key("applicant.open", "ctrl+o", "open", N_("Open")),
    Key("applicant.export", "ctrl+e", "export", N_("Export")),
)
REGULATOR_KEYS = (
    Key("regulator.refresh", "f5", "refresh", N_("Refresh")),
    Key("regulator.approve", "ctrl+y", "decide('approve')", N_("Approve")),
    Key("regulator.return", "ctrl+t", "decide('return')", N_("Return")),
    Key("regulator.reject", "ctrl+g", "decide('reject')", N_("Reject")),  # not Ctrl+J: terminals send it for Enter
    Key("regulator.renew", "ctrl+l", "renew_plates", N_("Renew plates")),
    Key("regulator.entity", "f4", "entity_history", N_("Entity history")),
)
AUDITOR_KEYS = (
    Key("auditor.refresh", "f5", "refresh", N_("Refresh")),
    Key("auditor.verify", "ctrl+v", "verify", N_("Verify")),
    Key("auditor.replay", "ctrl+y", "replay", N_("Replay")),
    Key("auditor.replay_all", "f7", "replay_all", N_("Replay all")),
    Key("auditor.explain", "ctrl+x", "explain", N_("Explain")),
    Key("auditor.mark", "space", "mark", N_("Mark")),
    Key("auditor.mark_all", "f8", "mark_all", N_("Mark all")),
    Key("auditor.unmark_all", "f9", "unmark_all", N_("Unmark all")),
    Key("auditor.pack", "f6", "toggle_pack", N_("Pack: recorded/current")),
)
ALL_KEYS = APP_KEYS + APPLICANT_KEYS + REGULATOR_KEYS + AUDITOR_KEYS
KEY_IDS = {k.id for k in ALL_KEYS}


def bindings(keys: tuple[Key, ...]) -> list[Binding]:
    """The keys of a screen. All take priority over the focused widget: an input of the form would
    otherwise take Ctrl+A, Ctrl+E, Ctrl+X… for its own editing (Home and End still move the cursor)."""
    return [Binding(k.key, k.action, k.label, show=False, priority=True, id=k.id) for k in keys]


def keymap_path() -> Path:
    env = os.environ.get("ICV_PERMITS_KEYS")
    if env:
        return Path(env)
    from platformdirs import user_config_dir

    return Path(user_config_dir("icv-permits")) / "keys.toml"


def load_keymap(path: Path | None = None) -> tuple[dict[str, str], list[str]]:
    """``{binding id: keys}`` from a TOML file (``[keys]`` table, or top-level), and the problems
    found (unknown ids, values that are not text). A missing file is no problem."""
    path = path or keymap_path()
    if not path.exists():
        return {}, []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return {}, [f"{path}: {exc}"]
    table = data.get("keys", data)
    out: dict[str, str] = {}
    problems: list[str] = []
    for k, v in table.items() if isinstance(table, dict) else []:
        if k not in KEY_IDS:
            problems.append(f"{path}: {k}")
        elif not isinstance(v, str) or not v.strip() or (bad := bad_keys(k, v)):
            problems.append(f"{path}: {k} = {v!r}" + (f" ({', '.join(bad)})" if isinstance(v, str) and v.strip() else ""))
        else:
            out[k] = ",".join(part.strip() for part in v.split(","))
    for screen_keys in (APPLICANT_KEYS, REGULATOR_KEYS, AUDITOR_KEYS):  # one key, two actions on a screen
        seen: dict[str, str] = {}
        for k in APP_KEYS + screen_keys:
            for key in out.get(k.id, k.key).split(","):
                if key in seen and seen[key] != k.id:
                    problems.append(f"{path}: {seen[key]} / {k.id} = {key!r}")
                seen.setdefault(key, k.id)
    return out, problems


MODIFIERS = {"ctrl", "shift", "alt", "meta", "super", "hyper"}


def bad_keys(key_id: str, spec: str) -> list[str]:
    """The keys of ``spec`` (comma-separated) that are not keys, or that would take a printable
    character away from typing: the screens' keys take priority over inputs, so a key without a
    modifier must not be a character (only the auditor, who types nothing, may use Space)."""
    from textual.keys import Keys

    names = {k.value for k in Keys} | {"space", "tab", "enter", "escape", "backspace", "delete", "insert"}
    bad = []
    for key in (part.strip() for part in spec.split(",")):
        *mods, name = key.lower().split("+") if key else [""]
        known = name in names or re.fullmatch(r"f([1-9]|1\d|2[0-4])", name) or (len(name) == 1 and name.isprintable())
        printable = not mods and (len(name) == 1 or name == "space")
        if not key or not known or any(m not in MODIFIERS for m in mods) or (printable and not key_id.startswith("auditor.")):
            bad.append(key)
    return bad


def key_of(app, key_id: str) -> str:
    keymap = getattr(app, "keymap", {}) or {}
    if key_id in keymap:
        return keymap[key_id].split(",")[0]
    return next(k.key for k in ALL_KEYS if k.id == key_id).split(",")[0]


class KeyBar(Static):
    """The keys of the current screen, with the keys as remapped, in the language: one line when it
    fits, else as many as the terminal's width needs (no key is cut off at 80 columns)."""

    DEFAULT_CSS = "KeyBar { dock: bottom; height: auto; max-height: 3; background: $panel; color: $text-muted; }"

    def __init__(self, keys: tuple[Key, ...], **kw):
        super().__init__("", **kw)
        self.keys = keys
        self.text = Text()  # what the bar shows (before wrapping to its width)

    def on_mount(self) -> None:
        self.relabel()

    def on_resize(self) -> None:
        self.relabel()

    def relabel(self) -> None:
        lang = self.app.lang
        width = self.size.width or self.app.size.width or 80
        text = Text()
        # help first (it lists every key), then this screen's keys, then the general ones; lines are
        # broken between keys, never inside one (Chinese would otherwise break anywhere)
        ordered = APP_KEYS[:1] + self.keys + APP_KEYS[1:]
        used = 0
        for k in ordered:
            key = key_of(self.app, k.id).upper().replace("CTRL+", "^")
            label = " " + t(lang, k.label)
            need = cell_len(key + label)
            if used and used + 2 + need > width:
                text.append("\n")
                used = 0
            elif used:
                text.append("  ")
                used += 2
            text.append(key, style="bold")
            text.append(label)
            used += need
        self.text = text
        self.update(text)


# ---------------------------------------------------------------- findings


# outcome codes (engine.decision.Outcome is a StrEnum, so its members look these up): kept as
# plain strings so that the first screen does not import the engine
ORDER = {"fail": 0, "missing": 1, "warn": 2}
STYLE = {"fail": "bold red", "missing": "yellow", "warn": "cyan"}


def findings_text(result, lang: str, limit: int = 200) -> Text:
    from icv_permits.present.report import (
        CONFIDENCE,
        OUTCOMES,
        VERDICTS,
        citation,
        message,
        remedy,
    )

    """The findings that need attention (fail, missing, advisory), failures first: rule ID,
    citation, confidence, subject, message and remedy — all from the library's renderers."""
    d, pack = result.decision, result.pack
    c = d.counts
    out = Text()
    out.append(t(lang, "Verdict: {verdict}", verdict=report_t(lang, VERDICTS[d.verdict.value])),
               style="bold green" if d.verdict.value == "compliant" else "bold red" if d.verdict.value == "non_compliant" else "bold yellow")
    out.append("  " + t(lang, "{fail} failing · {missing} missing · {warn} advisory · {passed} passed",
                         fail=c["fail"], missing=c["missing"], warn=c["warn"], passed=c["pass"]) + "\n")
    shown = sorted((f for f in d.findings if f.outcome in ORDER), key=lambda f: ORDER[f.outcome])
    for f in shown[:limit]:
        rule = pack.rules.get(f.rule_id)
        conf = report_t(lang, CONFIDENCE.get(rule.confidence, rule.confidence)) if rule else "—"
        subject = visible(" ".join(x for x in (f.subject.ref, f.subject.label) if x))
        out.append(f"{'✗' if f.outcome == 'fail' else '?' if f.outcome == 'missing' else '!'} {visible(f.rule_id)} ", style=STYLE[f.outcome])
        out.append(f"{report_t(lang, OUTCOMES[f.outcome.value])} · {visible(citation(f.rule_id, pack, lang)) if rule else '—'} · {conf}")
        if subject:
            out.append(f" · {subject}")
        out.append("\n  " + message(f, pack, lang) + "\n")
        r = remedy(f, pack, lang)
        if r:
            out.append("  →\u00a0" + r + "\n", style="italic")  # no-break: the arrow stays with a Chinese remedy that wraps
    if len(shown) > limit:
        out.append(t(lang, "… and {n} more", n=len(shown) - limit) + "\n")
    return out


def problems_text(problems: list[Problem], lang: str, limit: int = 60, draft: dict | None = None) -> Text:
    out = Text()
    out.append(t(lang, "The application is not complete yet: {n} problems", n=len(problems)) + "\n", style="bold yellow")
    for p in problems[:limit]:
        out.append("• " + problem_text(p, lang, with_location=True, draft=draft) + "\n")
    if len(problems) > limit:
        out.append(t(lang, "… and {n} more", n=len(problems) - limit) + "\n")
    return out


# ---------------------------------------------------------------- F1 help


class HelpScreen(ModalScreen):
    """The rule text, citation and an example for the focused field; then the keys and their ids."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90%; height: 90%; border: round $accent; background: $surface; padding: 0 1; }
    """
    BINDINGS = [Binding("escape,f1,q", "dismiss", show=False)]

    def __init__(self, body: Text, path: str | None = None):
        super().__init__()
        self.body, self.path = body, path

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self.body, id="help-body")

    def relabel(self) -> None:
        """F2 on the help: the same help in the other language."""
        self.body = help_text(self.app, self.path)
        self.query_one("#help-body", Static).update(self.body)

    async def action_dismiss(self, result=None) -> None:  # type: ignore[override]
        self.dismiss()


def help_text(app, path: str | None) -> Text:
    from icv_permits.present.report import CONFIDENCE, citation
    from . import fields

    lang = app.lang
    out = Text()
    spec = fields.field_for(path) if path else None
    if spec is not None:
        out.append(field_label(spec, lang) + f"  ({path})\n", style="bold")
        pack = app.pack()
        for rid in fields.rules_for(path, app.draft, pack):
            rule = pack.rules.get(rid)
            if rule is None:
                continue
            out.append(f"\n{rid} {rule.title(lang)}\n", style="bold cyan")
            out.append(rule.requirement(lang) + "\n")
            out.append(t(lang, "Citation: {citation}", citation=citation(rid, pack, lang)) + " · "
                       + report_t(lang, CONFIDENCE.get(rule.confidence, rule.confidence)) + "\n")
        if spec.example:
            out.append("\n" + t(lang, "Example: {example}", example=example_text(spec, lang)) + "\n", style="green")
        if spec.enum is not None:
            from icv_permits.core.code_labels import choices

            out.append(t(lang, "Choices: {choices}", choices=("、" if lang == "zh" else "; ").join(x for _c, x in choices(spec.enum, lang))) + "\n")
        hint = KIND_HINTS.get(spec.kind)
        if hint:
            out.append(t(lang, hint) + "\n")
        from .choices import section_lines, section_mode

        if section_mode(path) is not None:
            out.append("\n" + t(lang, "Open road sections of the rule pack's register (Enter on the field picks them):") + "\n", style="bold")
            lines = section_lines(pack, lang, app.draft.get("activity") if isinstance(app.draft, dict) else None)
            for _sid, line in lines:
                out.append_text(line)
                out.append("\n")
            if not lines:
                out.append(t(lang, "This rule pack has no register of sections: type the section IDs.") + "\n")
    else:
        screen = _mode_screen(app)
        intro = getattr(screen, "help_intro", None)
        if intro is not None:
            out.append_text(intro(lang))
        else:
            out.append(t(lang, "No field is focused: move to a field and press F1 for its rules.") + "\n")
    out.append("\n" + t(lang, "Keys (binding id: key)") + "\n", style="bold")
    screen_keys = getattr(_mode_screen(app), "KEYS", ())
    for k in APP_KEYS + tuple(screen_keys):
        out.append(f"  {k.id:<20} {key_of(app, k.id):<10} {t(lang, k.label)}\n")
    out.append(t(lang, "Ctrl+P opens the command palette. Keys are remapped in {path}.", path=str(keymap_path())) + "\n")
    return out


def _mode_screen(app):
    """The screen of the current mode under the help (the help itself is the top screen)."""
    for screen in reversed(app.screen_stack):
        if not isinstance(screen, HelpScreen):
            return screen
    return None


KIND_HINTS = {
    "bool": N_("Enter opens the list: yes, no, not stated. Typing yes or no works too; empty means not stated."),
    "enum": N_("Enter opens the list of choices; typing a choice's name works too."),
    "date": N_("A date, YYYY-MM-DD."),
    "enums": N_("Enter opens the list: Space marks each that applies, Enter confirms. Or type the names separated by commas; - for none."),
    "texts": N_("Several values, separated by commas; - for none."),
    "prior": N_("Per section: SECTION HOURS KM and whether the records were submitted (yes/no), entries separated by ;. Enter picks a section from the register."),
    "violations": N_("Each violation: DATE KIND, then serious for a serious one; entries separated by ;. Type none when there are none on record; leave empty when not stated."),
    "accidents": N_("Each accident: DATE LIABILITY (full, main, equal, minor or no liability), then injury for death or serious injury; entries separated by ;. Type none when there are none on record."),
}


def field_label(spec, lang: str) -> str:
    from .fields import MATERIAL_LABELS

    if spec.label.startswith("material:"):
        return t(lang, MATERIAL_LABELS[spec.label.split(":", 1)[1]])
    return t(lang, spec.label)


class FieldInput(Input):
    """An input bound to a document path; personal data shown masked unless focused."""

    def __init__(self, path: str, kind: str, personal: bool, clear: str, enum=None, **kw):
        self.path, self.kind, self.personal, self.clear, self.enum = path, kind, personal, clear, enum
        super().__init__(value=mask(path, clear) if personal else clear, compact=True, **kw)

    async def action_submit(self) -> None:
        """Enter on a field with a list (coded values, yes/no, sections) opens the list; the value
        chosen is put in the field as if typed."""
        from .choices import ChoiceScreen, has_list

        if self.path and has_list(self.path, self.kind):
            self.app.push_screen(ChoiceScreen(self.path, self.kind, self.clear if self.personal else self.value), self._chosen)
            return
        await super().action_submit()

    def _chosen(self, text: str | None) -> None:
        if text is None:
            return
        target = self
        if not self.is_attached:  # the form was redrawn meanwhile (F2): the same field's new input
            target = next((w for w in self.app.screen.query(FieldInput) if w.path == self.path), None)
            if target is None:
                return
        target.focus()
        target.value = text
        target.cursor_position = len(text)

    def _on_paste(self, event) -> None:
        """Pasted lines become the entries of a list (an input keeps one line)."""
        lines = [line.strip() for line in event.text.splitlines() if line.strip()]
        sep = {"texts": ", ", "enums": ", ", "prior": "; ", "violations": "; ", "accidents": "; "}.get(self.kind)
        if sep and len(lines) > 1:
            event.stop()
            event.prevent_default()
            self.insert_text_at_cursor(sep.join(lines))
            return
        super()._on_paste(event)

    def on_focus(self) -> None:
        if self.personal:
            self.value = self.clear

    def on_blur(self) -> None:
        if self.personal:
            self.value = mask(self.path, self.clear)
