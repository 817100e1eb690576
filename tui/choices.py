"""Choosing a field's value from a list: coded values by their labels, yes/no/not stated, and the
open road sections of the pack's register (ID, name, what each is open for).

The field stays a text input (so a value can still be typed, and every other part of the form
treats all fields alike): Enter on a field that has a list opens :class:`ChoiceScreen` over it, a
small modal with an ``OptionList`` (one value) or a ``SelectionList`` (several: Space marks, Enter
confirms). The modal gives back the text the applicant would have typed — the labels in the
current language — and the field takes it as typed, so choosing goes through exactly the same
reading, check and display as typing, and choosing again undoes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, SelectionList, Static
from textual.widgets.option_list import Option

from icv_permits.core.i18n import t as report_t
from icv_permits.core.visible import visible

from . import fields
from .common import field_label, parse_text, show_text, t

NOT_STATED = "\x00not-stated"  # the option that leaves the field out


@dataclass(frozen=True)
class Choice:
    value: str  # what the option stands for (a code, a section ID)
    prompt: Text


def section_lines(pack, lang: str, activity: str | None = None) -> list[tuple[str, Text]]:
    """Each section of the pack's register as ``(ID, text)``: the ID and name, then its city and
    what it is open for (activities, night, closed since), in ``lang``. Sections open for
    ``activity`` come first."""
    from icv_permits.core.code_labels import label
    from icv_permits.core.model.application import Activity

    out = []
    for sec in pack.sections.values():
        text = Text()
        text.append(visible(sec.id), style="bold")
        text.append("  " + visible(sec.name(lang)))
        opened = ("、" if lang == "zh" else ", ").join(label(Activity, a.value, lang) for a in sec.activities)
        detail = [visible(sec.city(lang)), t(lang, "open for: {activities}", activities=opened)]
        if sec.night:
            detail.append(t(lang, "at night too"))
        if sec.closed:
            detail.append(t(lang, "closed since {date}", date=str(sec.closed)))
        text.append(" · " + " · ".join(detail), style="dim")
        out.append((sec.id, text, activity is None or any(a.value == activity for a in sec.activities)))
    out.sort(key=lambda x: not x[2])  # stable: the register's order within each group
    return [(i, txt) for i, txt, _ in out]


def section_rows(pack, lang: str, activity: str | None = None) -> list[tuple[str, Text, Text]]:
    """The register as list rows that fit one line: ``(ID, row, whole text)``; the row puts what a
    section is open for (short: 测试 应用 运营) before its name, so a narrow terminal cuts the
    name, not that; the whole text is shown under the list for the highlighted section."""
    from icv_permits.core.code_labels import ACTIVITY_SHORT

    whole = dict(section_lines(pack, lang, activity))
    rows = []
    for sid, text in whole.items():
        sec = pack.sections[sid]
        row = Text()
        row.append(visible(sid), style="bold")
        row.append("  [" + " ".join(report_t(lang, ACTIVITY_SHORT[a.value]) for a in sec.activities) + "]", style="cyan")
        row.append("  " + visible(sec.name(lang)))
        rows.append((sid, row, text))
    return rows


def section_mode(path: str) -> str | None:
    """How a field takes sections: ``many`` (a list of IDs), ``one`` (one ID), ``entry`` (prior
    testing: the ID starts an entry), or ``None`` (not a sections field)."""
    return fields.SECTION_FIELDS.get(fields.pack_fields.generic(path))


def has_list(path: str, kind: str) -> bool:
    """Whether Enter on this field opens a list to choose from."""
    spec = fields.field_for(path)
    return spec is not None and (kind == "bool" or spec.enum is not None or section_mode(path) is not None)


class ChoiceScreen(ModalScreen[str | None]):
    """The list of a field's values; gives back the text to put in the field (``None``: cancelled)."""

    DEFAULT_CSS = """
    ChoiceScreen { align: center middle; }
    ChoiceScreen > Vertical { width: 90%; max-width: 100; height: auto; max-height: 90%; border: round $accent;
                              background: $surface; padding: 0 1; }
    ChoiceScreen OptionList, ChoiceScreen SelectionList { height: auto; max-height: 60vh; }
    ChoiceScreen #choice-detail { height: auto; max-height: 3; color: $text-muted; }
    ChoiceScreen .hint { color: $text-muted; }
    """
    BINDINGS = [Binding("escape", "cancel", show=False), Binding("enter", "confirm", show=False, priority=True)]

    def __init__(self, path: str, kind: str, current: str):
        super().__init__()
        self.path, self.kind, self.current = path, kind, current
        self.spec = fields.field_for(path)
        self.sections = section_mode(path)
        self.multi = kind == "enums" or self.sections == "many"
        self.details: dict[str, Text] = {}  # section ID → its whole description

    # ------------------------------------------------------------ what is offered

    def choices(self) -> list[Choice]:
        lang, spec = self.app.lang, self.spec
        if self.sections is not None:
            activity = self.app.draft.get("activity") if isinstance(self.app.draft, dict) else None
            rows = section_rows(self.app.pack(), lang, activity if isinstance(activity, str) else None)
            self.details = {sid: whole for sid, _row, whole in rows}
            return [Choice(sid, row) for sid, row, _whole in rows]
        if self.kind == "bool":
            from icv_permits.core.code_labels import BOOLS

            return [Choice(v, Text(report_t(lang, BOOLS[b]))) for v, b in (("yes", True), ("no", False))]
        from icv_permits.core.code_labels import choices

        return [Choice(code, Text(text)) for code, text in choices(spec.enum, lang)]

    def chosen(self) -> set[str]:
        """The values the field holds now (as typed, read the way the form reads it)."""
        enum = self.spec.enum if self.spec else None
        value = parse_text(self.kind, self.current, enum=enum)
        if self.sections == "entry":
            return set()
        if self.kind == "bool":
            return {"yes"} if value is True else {"no"} if value is False else set()
        if isinstance(value, list):
            return {v for v in value if isinstance(v, str)}
        return {value} if isinstance(value, str) else set()

    # ------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("", id="choice-title")
            yield (SelectionList(id="choice-list") if self.multi else OptionList(id="choice-list"))
            yield Static("", id="choice-detail")
            yield Label("", id="choice-hint", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#choice-detail").display = False
        self.relabel()
        widget = self.query_one("#choice-list")
        widget.focus()
        if isinstance(widget, SelectionList) and widget.option_count and widget.highlighted is None:
            widget.highlighted = 0

    def relabel(self) -> None:
        """Fill (or, after F2, refill) the list in the current language, keeping what is marked."""
        lang = self.app.lang
        title = field_label(self.spec, lang) if self.spec else self.path
        self.query_one("#choice-title", Label).update(Text(fields.path_label(self.path, self.app.draft, lang) if "[" in self.path else title,
                                                          style="bold"))
        widget = self.query_one("#choice-list")
        widget.path = self.path  # F1 on the list: the field's help
        offered = self.choices()
        known = {c.value for c in offered}
        if isinstance(widget, SelectionList):
            marked = set(widget.selected) if widget.option_count else self.chosen()
            extra = [v for v in sorted(marked) if v not in known]  # typed values outside the list are kept
            highlighted = widget.highlighted
            widget.clear_options()
            widget.add_options([(c.prompt, c.value, c.value in marked) for c in offered]
                               + [(Text(visible(v)), v, True) for v in extra])
            if highlighted is not None and highlighted < widget.option_count:
                widget.highlighted = highlighted
            hint = t(lang, "Space marks or unmarks · Enter confirms · Esc cancels")
        else:
            now = self.chosen()
            highlighted = widget.highlighted
            widget.clear_options()
            options = [Option(c.prompt, id=c.value) for c in offered]
            if self.sections != "entry":
                options.append(Option(Text(report_t(lang, "not stated"), style="italic"), id=NOT_STATED))
            widget.add_options(options)
            if highlighted is None:
                highlighted = next((i for i, c in enumerate(offered) if c.value in now), 0)
            widget.highlighted = highlighted
            hint = t(lang, "Enter chooses · Esc cancels")
        if widget.highlighted is not None and widget.option_count:
            option = widget.get_option_at_index(widget.highlighted)
            self.show_detail(option.value if isinstance(widget, SelectionList) else option.id)
        if self.sections is not None and not offered:
            hint = t(lang, "This rule pack has no register of sections: type the section IDs.")
        self.query_one("#choice-hint", Label).update(hint)

    # ------------------------------------------------------------ giving the answer back

    def text_for(self, values: list[str]) -> str:
        """The text the applicant would have typed for these values."""
        lang, enum = self.app.lang, self.spec.enum if self.spec else None
        if not values:
            return ""
        if self.kind == "bool":
            return show_text("bool", values[0] == "yes", lang)
        if self.sections == "entry":
            before = self.current.rstrip().rstrip(";；").rstrip()
            before = "" if before in ("-", "无", "none") else before  # none yet: this is the first entry
            return (before + "; " if before else "") + values[0] + " "
        if self.kind in ("enum", "enums"):
            return show_text(self.kind, values if self.multi else values[0], lang, enum)
        return ", ".join(values)

    def show_detail(self, value) -> None:
        """Under the list, the whole description of the highlighted section."""
        detail = self.query_one("#choice-detail", Static)
        detail.update(self.details.get(value, ""))
        detail.display = value in self.details

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.show_detail(event.option.id)

    def on_selection_list_selection_highlighted(self, event: SelectionList.SelectionHighlighted) -> None:
        self.show_detail(event.selection.value)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if isinstance(event.option_list, SelectionList):
            return
        oid = event.option.id
        self.dismiss("" if oid == NOT_STATED else self.text_for([oid]))

    def action_confirm(self) -> None:
        """Enter: the highlighted value (one), or every marked one (several)."""
        widget = self.query_one("#choice-list")
        if isinstance(widget, SelectionList):
            order = [widget.get_option_at_index(i).value for i in range(widget.option_count)]
            picked = set(widget.selected)
            self.dismiss(self.text_for([v for v in order if v in picked]))
        elif widget.highlighted is not None:
            oid = widget.get_option_at_index(widget.highlighted).id
            self.dismiss("" if oid == NOT_STATED else self.text_for([oid]))

    def action_cancel(self) -> None:
        self.dismiss(None)
