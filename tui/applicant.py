"""Applicant mode: the guided application and the review hub."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.suggester import SuggestFromList
from textual.widgets import (
    Button,
    DataTable,
    Input,
    Label,
    ListItem,
    ListView,
    OptionList,
    Static,
)
from textual.widgets.option_list import Option

from icv_permits.core.errors import InputError
from icv_permits.core.visible import visible
from icv_permits.services import drafts

from . import at_field, fields
from .choices import has_list
from .common import (
    APPLICANT_KEYS,
    FORMATS,
    STRUCTURED,
    STYLE,
    FieldInput,
    example_text,
    KeyBar,
    bindings,
    field_label,
    mask,
    parse_text,
    problem_text,
    show_text,
    shown,
    t,
)

MARKS = {"fail": "✗", "missing": "?", "warn": "!"}


def choice_words(spec: fields.Field, lang: str) -> list[str]:
    """What a coded or yes/no field suggests as one types: its labels in ``lang``."""
    from icv_permits.core.code_labels import BOOLS, choices
    from icv_permits.core.i18n import t as report_t

    if spec.kind == "bool":
        return [report_t(lang, w) for w in BOOLS.values()]
    if spec.kind == "enum" and spec.enum is not None:
        return [label for _code, label in choices(spec.enum, lang)]
    return []


def placeholder(spec: fields.Field, path: str, lang: str) -> str:
    """The grey text of an empty field: how to fill it (Enter for a list) and an example, in
    ``lang`` (a coded example shown by its label)."""
    example = example_text(spec, lang)
    if has_list(path, spec.kind):
        return t(lang, "Enter: choose · e.g. {example}", example=example) if example else t(lang, "Enter: choose from the list")
    return t(lang, "e.g. {example}", example=example) if example else ""


def _wid(path: str) -> str:
    return "f-" + "".join(c if c.isalnum() else "_" for c in path)


class PromptScreen(ModalScreen[str | None]):
    """Asks for one line (a file path or a draft name)."""

    DEFAULT_CSS = """
    PromptScreen { align: center middle; }
    PromptScreen > Vertical { width: 70; height: auto; border: round $accent; background: $surface; padding: 0 1; }
    """

    def __init__(self, title: str, value: str = ""):
        super().__init__()
        self.title_text, self.value = title, value

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(shown(self.title_text))
            yield Input(self.value, id="prompt-input")
            yield Label(t(self.app.lang, "Enter to confirm, Esc to cancel"), classes="hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def key_escape(self) -> None:
        self.dismiss(None)


class ChoiceScreen(ModalScreen[str | None]):
    """A question with a few answers as buttons (Esc: none of them). Used before anything that
    would lose the applicant's work: quitting, opening another draft, removing an item."""

    DEFAULT_CSS = """
    ChoiceScreen { align: center middle; }
    ChoiceScreen > Vertical { width: 70; max-width: 95%; height: auto; border: round $warning; background: $surface; padding: 0 1; }
    ChoiceScreen Horizontal { height: auto; margin-top: 1; }
    ChoiceScreen Button { margin-right: 2; }
    """

    def __init__(self, question: str, answers: list[tuple[str, str]], default: str | None = None):
        super().__init__()
        self.question, self.answers, self.default = question, answers, default

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(shown(self.question), id="choice-question")
            with Horizontal():
                for key, label in self.answers:
                    yield Button(label, id=f"choice-{key}", variant="primary" if key == self.default else "default")
            yield Label(t(self.app.lang, "Tab moves between the answers, Enter chooses, Esc cancels"), classes="hint")

    def on_mount(self) -> None:
        if self.default:
            self.query_one(f"#choice-{self.default}", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss((event.button.id or "").removeprefix("choice-"))

    def key_escape(self) -> None:
        self.dismiss(None)


def unsaved_question(app) -> ChoiceScreen:
    """"The draft has changes not saved: save / discard / cancel" in the app's language."""
    lang = app.lang
    return ChoiceScreen(t(lang, "The draft has changes that are not saved."),
                        [("save", t(lang, "Save")), ("discard", t(lang, "Discard the changes")), ("cancel", t(lang, "Cancel"))],
                        default="save")


class ReviewTable(DataTable):
    """The review's rows: Home and End go to the first and last answer (a row table's own Home
    and End would scroll sideways)."""

    BINDINGS = [Binding("home,ctrl+home", "scroll_top", show=False), Binding("end,ctrl+end", "scroll_bottom", show=False)]


class ApplicantScreen(Screen):
    KEYS = APPLICANT_KEYS
    BINDINGS = bindings(APPLICANT_KEYS)

    def __init__(self):
        super().__init__()
        self.step_index = 0
        self.own_problems: dict[str, str] = {}  # path → message of the field's own validation
        self.review_paths: list[str] = []
        # the form's problem lines by path, and what each shows (updated only when it changes:
        # querying the DOM per field made a check on a 5-vehicle form take ~0.7 s)
        self.problem_lines: dict[str, Static] = {}
        self.problem_shown: dict[str, str] = {}
        self.item_index: dict[str, int] = {}  # list path → the item shown on the form
        self.shown_signature: tuple = ()
        self.parts_by_wid: dict[str, str] = {}  # widget id part → list path
        # the last check's findings and the fields each is shown at (computed once per check)
        self.placed = at_field.Placed()
        self.pane_targets: list[str | None] = []  # per option of the findings pane: the field it leads to
        self._title_modified: bool | None = None

    # ------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Static("", id="title", classes="title")
        with Horizontal(id="body"):
            yield ListView(*[ListItem(Label("", id=f"step-{sid}")) for sid in fields.STEP_IDS], id="steps")
            with Vertical(id="main"):
                yield VerticalScroll(id="form")
                yield ReviewTable(id="review-table", cursor_type="row", zebra_stripes=True)
                yield FieldInput("", "text", False, "", id="review-edit", placeholder="", select_on_focus=False)
                yield Static("", id="review-problem", classes="problem")
                with Vertical(id="findings-box"):
                    yield Static("", id="findings-head")
                    yield OptionList(id="findings")
        yield Static("", id="summary")
        yield KeyBar(APPLICANT_KEYS)

    async def on_mount(self) -> None:
        await self.show_step(self.step_index)
        self.focus_first()
        self.app.schedule_check()

    def help_intro(self, lang: str) -> Text:
        out = Text()
        out.append(t(lang, "The application, step by step; the review lists every answer with its problems.") + "\n", style="bold")
        out.append(t(lang, "Type the answers; each is checked as you type. A failing, missing or advisory rule is shown "
                           "under the field it judges, and in the review's Problem column.") + "\n")
        out.append(t(lang, "In the review, Enter on a row edits its answer; Enter on a finding in the pane below goes to "
                           "its field. Home and End go to the first and last row.") + "\n")
        out.append(t(lang, "A modified draft is marked in the title; quitting, changing mode or opening another draft "
                           "asks first. Removing an item asks for confirmation.") + "\n")
        return out

    @property
    def step_id(self) -> str:
        return fields.STEP_IDS[self.step_index]

    async def relabel(self) -> None:
        """F2: the same step in the other language, the focus kept on the same field (or the first)."""
        focused = getattr(self.app.focused, "path", None)
        on_table = self.app.focused is not None and self.app.focused.id in ("review-table", "findings")
        self.query_one(KeyBar).relabel()
        await self.show_step(self.step_index)
        self.show_findings()
        if self.app.screen is not self or on_table:
            return
        if not (focused and self.step_id != fields.REVIEW and self.focus_path(focused)):
            self.focus_first()

    # ------------------------------------------------------------ steps

    async def show_step(self, index: int) -> None:
        lang = self.app.lang
        self.step_index = max(0, min(index, len(fields.STEP_IDS) - 1))
        for sid in fields.STEP_IDS:
            self.query_one(f"#step-{sid}", Label).update(t(lang, fields.STEP_TITLE[sid]))
        steps = self.query_one("#steps", ListView)
        if steps.index != self.step_index:
            steps.index = self.step_index
        self.update_title(force=True)
        review = self.step_id == fields.REVIEW
        self.set_class(review, "reviewing")
        self.shown_signature = self.asked_signature()
        if review:
            self.fill_review()
        else:
            await self.fill_form()
        self.show_findings()

    def update_title(self, force: bool = False) -> None:
        """The step, the draft's name and, when it differs from what was last opened or saved, a
        modified mark (redrawn only when that changes: this runs on every edit)."""
        modified = self.app.modified
        if not force and modified == self._title_modified:
            return
        self._title_modified = modified
        lang = self.app.lang
        title = t(lang, "Applicant · step {n} of {total}: {step}", n=self.step_index + 1, total=len(fields.STEP_IDS),
                  step=t(lang, fields.STEP_TITLE[self.step_id]))
        if self.app.draft_name:
            title += f" · {visible(Path(self.app.draft_name).name)}"
        if modified:
            title += " · " + t(lang, "● modified")
        self.query_one("#title", Static).update(shown(title))

    def focus_first(self) -> None:
        """The focus on the first field of the step (the table in the review): typing goes there."""
        if self.step_id == fields.REVIEW:
            self.query_one("#review-table").focus()
            return
        form = self.query_one("#form", VerticalScroll)
        widgets = [w for w in form.query("*") if w.focusable]
        first = next((w for w in widgets if getattr(w, "path", None)), widgets[0] if widgets else None)
        if first is not None:  # a field (not the item's ◀ ▶ buttons), else the Add or Next button
            self.focus_at_end(first)
            form.scroll_home(animate=False)

    def focus_at_end(self, widget) -> None:
        """Focus a widget; an input gets the cursor after its value, nothing selected (an input
        selects all on focus, and the next key would replace the answer)."""
        if isinstance(widget, Input):
            # not selected on this focus: the Focus event may be handled after the refresh below
            widget.select_on_focus = False
            # the cursor after the answer now (the focus is given later, when the app gets to it: a
            # key typed in between must not land inside the answer) and again once focused
            widget.selection = type(widget.selection)(len(widget.value), len(widget.value))
        widget.focus()
        if isinstance(widget, Input):
            def to_end() -> None:
                if widget.has_focus:
                    widget.selection = type(widget.selection)(len(widget.value), len(widget.value))

            self.call_after_refresh(to_end)

    def focus_path(self, path: str) -> bool:
        """The focus on a field of the form (whatever widget asks it)."""
        for w in self.query_one("#form").query("*"):
            if getattr(w, "path", None) == path and w.focusable:
                self.focus_at_end(w)
                form = self.query_one("#form", VerticalScroll)
                # after the layout of a step just drawn, with the line under it in view too
                line = self.problem_lines.get(path)
                target = line if line is not None and line.display else w
                self.call_after_refresh(lambda target=target, form=form: form.scroll_to_widget(target, animate=False))
                return True
        return False

    async def fill_form(self) -> None:
        lang, draft = self.app.lang, self.app.draft
        form = self.query_one("#form", VerticalScroll)
        await form.remove_children()
        self.problem_lines, self.problem_shown = {}, {}
        step = fields.step(self.step_id)
        widgets = []
        parts = {p.path: p for p in step.lists}
        for header, spec, path in fields.rows(step, draft, self.app.pack(), self.item_index):
            if spec is None:
                list_path, index = path.rsplit("[", 1)
                i, total = int(index[:-1]), len(fields.items(parts[list_path], draft))
                self.item_index[list_path] = i
                widgets.append(self.item_header(parts[list_path], i, total))
                continue
            clear = show_text(spec.kind, drafts.get_path(draft, path), lang, spec.enum)
            offered = choice_words(spec, lang)
            inp = FieldInput(path, spec.kind, spec.personal, clear, spec.enum, id=_wid(path),
                             suggester=SuggestFromList(offered, case_sensitive=False) if offered else None,
                             placeholder=placeholder(spec, path, lang))
            row = Horizontal(Label(field_label(spec, lang), classes="field-label"), inp, classes="field-row")
            widgets.append(row)
            prob = self.problem_for(path)
            line = Static(shown(prob), id=_wid(path) + "-p", classes="problem")
            line.display = bool(prob)
            widgets.append(line)
            self.problem_lines[path], self.problem_shown[path] = line, prob
        for part in step.lists:
            if part.addable and fields.part_asked(part, draft, self.app.pack()):
                widgets.append(Button(t(lang, "Add: {what}", what=t(lang, part.item_label, n="")).strip(),
                                      id=f"add-{self.part_wid(part.path)}", classes="add"))
        if not widgets:
            widgets.append(Label(t(lang, "Nothing to ask here for this activity.")))
        widgets.append(Horizontal(Button(t(lang, "Back"), id="back"), Button(t(lang, "Next"), id="next", variant="primary"),
                                  classes="nav"))
        await form.mount_all(widgets)

    def part_wid(self, list_path: str) -> str:
        wid = _wid(list_path)[2:]
        self.parts_by_wid[wid] = list_path
        return wid

    def item_header(self, part: fields.ListPart, i: int, total: int) -> Horizontal:
        """"Vehicle 3 of 5" with buttons to the previous and next item: one item is shown at a time."""
        lang, wid = self.app.lang, self.part_wid(part.path)
        label = fields.item_name(part.path, i, self.app.draft, lang) + " " + t(lang, "({n} of {total})", n=i + 1, total=total)
        children = [Label(label, classes="item-header")]
        if total > 1:
            children += [Button("◀", id=f"prev-{wid}", classes="item-button", compact=True, disabled=i == 0),
                         Button("▶", id=f"next-{wid}", classes="item-button", compact=True, disabled=i == total - 1)]
        return Horizontal(*children, classes="item-nav")

    def problem_for(self, path: str, one_line: bool = False) -> Text:
        """What is wrong with a field: its own value's problem as typed, else the draft's validation
        problem at it, else the rules that fail, miss or warn at it (one line each, or all on one
        line for the review's table)."""
        if path in self.own_problems:
            return Text(self.own_problems[path], style="red")
        status = self.app.status
        if status is not None and status.application is None:
            probs = status.by_path().get(path)
            if probs:
                return Text(problem_text(probs[0], self.app.lang), style="red")
            return Text()
        out = Text()
        result = self.app.result
        for n, i in enumerate(self.placed.by_path.get(path, ())):
            f = self.placed.findings[i]
            if n:
                out.append("; " if one_line else "\n")
            out.append(self.finding_note(f, result.pack), style=STYLE[str(f.outcome)])
        return out

    def finding_note(self, f, pack) -> str:
        from icv_permits.core.i18n import t as report_t
        from icv_permits.present.report import OUTCOMES, message

        lang = self.app.lang
        return f"{MARKS[str(f.outcome)]} {visible(f.rule_id)} {report_t(lang, OUTCOMES[str(f.outcome)])}: {message(f, pack, lang)}"

    # ------------------------------------------------------------ the review hub

    def review_rows(self) -> list[tuple[str, str, str, object]]:
        draft, lang = self.app.draft, self.app.lang
        out = []
        for step in fields.STEPS:
            for header, spec, path in fields.rows(step, draft, self.app.pack()):
                if spec is None:
                    continue
                text = show_text(spec.kind, drafts.get_path(draft, path), lang, spec.enum)
                if spec.personal:
                    text = mask(path, text)
                out.append((path, fields.path_label(path, draft, lang), text, spec))
        return out

    def column_widths(self) -> tuple[int, int, int]:
        """The review's columns share the width of the terminal (not a fixed 20 cells each): the
        label (with its item: "Vehicle LSVAU… · Roof sign lamp") a third, the answer and the
        problem the rest; what is longer wraps onto more lines of its row."""
        width = max(40, self.app.size.width - self.query_one("#steps").outer_size.width - 8)
        label = max(14, min(60, width * 38 // 100))
        answer = max(12, (width - label) * 45 // 100)
        return label, answer, max(12, width - label - answer)

    def fill_review(self) -> None:
        lang = self.app.lang
        table = self.query_one("#review-table", DataTable)
        cursor = table.cursor_row
        table.clear(columns=True)
        w_label, w_answer, w_problem = self.column_widths()
        self.review_widths = (w_label, w_answer, w_problem)
        table.add_column(t(lang, "Field"), width=w_label)
        table.add_column(t(lang, "Answer"), width=w_answer)
        table.add_column(t(lang, "Problem"), width=w_problem)
        self.review_paths = []
        for path, label, text, _spec in self.review_rows():
            prob = self.problem_for(path, one_line=True)
            table.add_row(Text(label), Text(visible(text) or "—"), prob, key=path, height=None)
            self.review_paths.append(path)
        if self.review_paths:
            table.move_cursor(row=min(cursor, len(self.review_paths) - 1))
        self.sync_review_edit()

    def sync_review_edit(self) -> None:
        table = self.query_one("#review-table", DataTable)
        edit = self.query_one("#review-edit", FieldInput)
        if not self.review_paths:
            return
        path = self.review_paths[min(table.cursor_row, len(self.review_paths) - 1)]
        spec = fields.field_for(path)
        edit.path, edit.kind, edit.personal, edit.enum = path, spec.kind, spec.personal, spec.enum
        edit.clear = show_text(spec.kind, drafts.get_path(self.app.draft, path), self.app.lang, spec.enum)
        edit.value = edit.clear if (edit.has_focus or not spec.personal) else mask(path, edit.clear)
        offered = choice_words(spec, self.app.lang)
        edit.suggester = SuggestFromList(offered, case_sensitive=False) if offered else None
        edit.placeholder = t(self.app.lang, "Edit {field}", field=fields.path_label(path, self.app.draft, self.app.lang))
        if has_list(path, spec.kind):
            edit.placeholder += " · " + t(self.app.lang, "Enter: choose from the list")
        self.query_one("#review-problem", Static).update(shown(self.problem_for(path)))

    @on(DataTable.RowHighlighted, "#review-table")
    def _row(self, event: DataTable.RowHighlighted) -> None:
        self.sync_review_edit()

    @on(DataTable.RowSelected, "#review-table")
    def _select(self, event: DataTable.RowSelected) -> None:
        """Enter on a row: edit its answer, the cursor after the value (nothing selected, so the next
        key adds to it rather than replacing it)."""
        self.focus_at_end(self.query_one("#review-edit", FieldInput))

    def on_resize(self, event) -> None:
        if self.step_id == fields.REVIEW and self.shown_signature and getattr(self, "review_widths", None) != self.column_widths():
            self.fill_review()

    # ------------------------------------------------------------ editing

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        inp = event.input
        if not isinstance(inp, FieldInput) or not inp.path:
            return
        if inp.personal and not inp.has_focus:
            return  # the masked value shown, not an edit
        if event.value == show_text(inp.kind, drafts.get_path(self.app.draft, inp.path), self.app.lang, inp.enum) and inp.path not in self.own_problems:
            return  # shown, not changed (mounting, focus)
        self.edit(inp.path, inp.kind, event.value)
        inp.clear = event.value

    def edit(self, path: str, kind: str, text: str) -> None:
        """Validate one answer as typed and keep it in the draft (kept as typed when invalid)."""
        lang = self.app.lang
        spec = fields.field_for(path)
        enum = spec.enum if spec is not None else None
        value = parse_text(kind, text, drafts.get_path(self.app.draft, path), enum)
        try:
            drafts.set_path(self.app.draft, path, value)
        except (TypeError, IndexError, KeyError, AttributeError):
            self.app.notify(t(lang, "Cannot set {field} here", field=path), severity="error")
            return
        problem = drafts.validate_value(path, value)
        if kind in STRUCTURED and isinstance(value, str):
            self.own_problems[path] = t(lang, "Not read: write each entry as {format}", format=t(lang, FORMATS[kind]))
        elif problem is not None:
            self.own_problems[path] = problem_text(problem, lang)
        else:
            self.own_problems.pop(path, None)
        msg = self.problem_for(path)
        self.show_problem(path, msg)
        self.update_title()
        if self.step_id == fields.REVIEW:
            self.query_one("#review-problem", Static).update(msg)
            table = self.query_one("#review-table", DataTable)
            text_shown = show_text(kind, value, lang, enum)
            try:
                table.update_cell(path, table.ordered_columns[1].key, Text(visible(mask(path, text_shown) if spec and spec.personal else text_shown) or "—"))
                table.update_cell(path, table.ordered_columns[2].key, self.problem_for(path, one_line=True))
            except Exception:  # noqa: BLE001 - a row not shown (e.g. field no longer asked)
                pass
        self.app.schedule_check()

    def asked_signature(self) -> tuple:
        """What the current step (or the review) asks for this draft: when an answer (the activity,
        a modifier) changes it, the form is redrawn after the pause in typing, not per keystroke."""
        if self.step_id == fields.REVIEW:
            return (fields.REVIEW, tuple(path for _s in fields.STEPS for _h, spec, path in fields.rows(_s, self.app.draft, self.app.pack()) if spec))
        return (self.step_id, tuple(path for _h, _s, path in fields.rows(fields.step(self.step_id), self.app.draft, self.app.pack(), self.item_index)))

    async def _reshape(self) -> None:
        """Redraw what is asked, keeping the focus on the same field."""
        focused = getattr(self.app.focused, "path", None)
        await self.show_step(self.step_index)
        if focused and self.step_id != fields.REVIEW:
            for inp in self.query(FieldInput):
                if inp.path == focused:
                    inp.focus()
                    break

    def show_findings(self) -> None:
        """The summary line and the findings pane: one entry per finding (or validation problem),
        each naming its field with its item; Enter on one goes to that field."""
        if not self.shown_signature:
            return  # not drawn yet: a check that ends before the screen is mounted; on_mount draws it
        lang, draft = self.app.lang, self.app.draft
        result, status = self.app.result, self.app.status
        summary = self.query_one("#summary", Static)
        head = self.query_one("#findings-head", Static)
        pane = self.query_one("#findings", OptionList)
        options: list[Option] = []
        targets: list[str | None] = []
        if self.app.check_error:
            summary.update(Text(self.app.check_error, style="red"))
            head.update(Text(self.app.check_error, style="red"))
        elif status is not None and status.application is None:
            summary.update(Text(t(lang, "Not complete: {n} problems (see Review)", n=len(status.problems)), style="yellow"))
            head.update(Text(t(lang, "The application is not complete yet: {n} problems", n=len(status.problems)), style="bold yellow"))
            for p in status.problems[:200]:
                where = fields.path_label(p.location, draft, lang) if p.location else ""
                line = Text("• ")
                if where:
                    line.append(where + ": ", style="bold")
                line.append(problem_text(p, lang))
                options.append(Option(line))
                targets.append(self.field_of(p.location))
        elif result is not None:
            head_text = self.verdict_text(result)
            summary.update(head_text)
            head.update(head_text)
            for f, paths in zip(self.placed.findings, self.placed.paths):
                options.append(Option(self.finding_entry(f, result.pack, paths)))
                targets.append(paths[0] if paths else self.field_of(f.subject.path or ""))
        else:
            return
        if [o.prompt for o in options] != [o.prompt for o in pane.options]:
            highlighted = pane.highlighted
            pane.set_options(options)
            if options and highlighted is not None:
                pane.highlighted = min(highlighted, len(options) - 1)
        self.pane_targets = targets

    def verdict_text(self, result) -> Text:
        from icv_permits.core.i18n import t as report_t
        from icv_permits.present.report import VERDICTS

        lang, d = self.app.lang, result.decision
        c = d.counts
        verdict = d.verdict.value
        out = Text(t(lang, "Verdict: {verdict}", verdict=report_t(lang, VERDICTS[verdict])),
                   style="bold green" if verdict == "compliant" else "bold red" if verdict == "non_compliant" else "bold yellow")
        out.append("  " + t(lang, "{fail} failing · {missing} missing · {warn} advisory · {passed} passed",
                            fail=c["fail"], missing=c["missing"], warn=c["warn"], passed=c["pass"]))
        return out

    def finding_entry(self, f, pack, paths: list[str]) -> Text:
        """A finding in the pane: rule, outcome, citation; where (the field with its driver or
        vehicle); the message and the remedy."""
        from icv_permits.core.i18n import t as report_t
        from icv_permits.present.report import (
            CONFIDENCE,
            OUTCOMES,
            citation,
            message,
            remedy,
        )

        lang, draft = self.app.lang, self.app.draft
        outcome = str(f.outcome)
        rule = pack.rules.get(f.rule_id)
        out = Text()
        out.append(f"{MARKS[outcome]} {visible(f.rule_id)} ", style=STYLE[outcome])
        out.append(report_t(lang, OUTCOMES[outcome]))
        if rule is not None:
            out.append(f" · {visible(citation(f.rule_id, pack, lang))} · {report_t(lang, CONFIDENCE.get(rule.confidence, rule.confidence))}")
        if paths:
            where = fields.path_label(paths[0], draft, lang) + (" …" if len(paths) > 1 else "")
        else:
            where = visible(" ".join(x for x in (f.subject.ref, f.subject.label) if x))
        if where:
            out.append("\n  " + t(lang, "At: {where}", where=where), style="bold")
        out.append("\n  " + message(f, pack, lang))
        r = remedy(f, pack, lang)
        if r:
            out.append("\n  →\u00a0" + r, style="italic")
        return out

    def field_of(self, path: str) -> str | None:
        """The form's field for a path a problem or finding names (an item or object: its first field)."""
        if not path:
            return None
        if fields.field_for(path) is not None and at_field.step_of(path) is not None:
            return path
        for p in at_field.shown_paths(self.app.draft, self.app.pack()):
            if p.startswith((path + ".", path + "[")):
                return p
        return None

    @on(OptionList.OptionSelected, "#findings")
    async def _finding_chosen(self, event: OptionList.OptionSelected) -> None:
        target = self.pane_targets[event.option_index] if event.option_index < len(self.pane_targets) else None
        if target is None:
            self.app.notify(t(self.app.lang, "This finding is about the application as a whole: no one field to go to."))
            return
        await self.jump_to(target)

    async def jump_to(self, path: str) -> None:
        """Go to a field: its step, its item selected, the field focused."""
        where = at_field.step_of(path)
        if where is None:
            return
        index, list_path, item = where
        if list_path is not None:
            self.item_index[list_path] = item
        await self.show_step(index)
        if not self.focus_path(path):
            self.focus_first()

    def refresh_problems(self) -> None:
        """After a whole-draft check: the problems under the fields shown (or, when the answers
        changed what is asked, the step redrawn)."""
        if not self.shown_signature:
            return  # not drawn yet (see show_findings)
        self.placed = at_field.place(self.app.result, self.app.draft, self.app.pack()) if self.app.result is not None else at_field.Placed()
        self.update_title()
        if self.asked_signature() != self.shown_signature:
            self.call_later(self._reshape)
            return
        if self.step_id == fields.REVIEW:
            table = self.query_one("#review-table", DataTable)
            for path in self.review_paths:
                try:
                    table.update_cell(path, table.ordered_columns[2].key, self.problem_for(path, one_line=True))
                except Exception:  # noqa: BLE001
                    pass
            self.query_one("#review-problem", Static).update(
                self.problem_for(self.review_paths[table.cursor_row]) if self.review_paths else Text())
        else:
            for path in self.problem_lines:
                self.show_problem(path, self.problem_for(path))

    def show_problem(self, path: str, msg: Text) -> None:
        """The line under a field of the form (nothing is redrawn when it does not change)."""
        line = self.problem_lines.get(path)
        if line is None or self.problem_shown.get(path) == msg:
            return
        self.problem_shown[path] = msg
        line.update(msg)
        line.display = bool(msg)

    # ------------------------------------------------------------ actions

    @on(ListView.Selected, "#steps")
    async def _step_chosen(self, event: ListView.Selected) -> None:
        idx = event.list_view.index
        if idx is not None:
            await self.go_step(idx)

    @on(Button.Pressed)
    async def _button(self, event: Button.Pressed) -> None:
        bid = event.button.id or ""
        if bid == "next":
            await self.action_next_step()
        elif bid == "back":
            await self.action_prev_step()
        elif bid.startswith("add-"):
            await self.add_item(self.parts_by_wid[bid[4:]])
        elif bid.startswith(("prev-", "next-")):
            await self.move_item(self.parts_by_wid[bid[5:]], -1 if bid.startswith("prev-") else 1)

    async def go_step(self, index: int) -> None:
        """Show a step with the focus on its first field, so that what is typed next lands there."""
        if index != self.step_index or not self.shown_signature:
            await self.show_step(index)
        self.focus_first()

    async def action_next_step(self) -> None:
        await self.go_step(min(self.step_index + 1, len(fields.STEP_IDS) - 1))

    async def action_prev_step(self) -> None:
        await self.go_step(max(self.step_index - 1, 0))

    async def action_review(self) -> None:
        await self.go_step(len(fields.STEP_IDS) - 1)

    def focused_list(self) -> str | None:
        """The list path of the item whose field is focused (``vehicles`` for ``vehicles[2].vin``)."""
        path = getattr(self.app.focused, "path", "") or ""
        if "[" not in path or self.step_id == fields.REVIEW:
            return None
        return path.split("[", 1)[0]

    def current_parts(self) -> list[fields.ListPart]:
        if self.step_id == fields.REVIEW:
            return []
        return [p for p in fields.step(self.step_id).lists if fields.part_asked(p, self.app.draft, self.app.pack())]

    async def move_item(self, list_path: str, delta: int) -> None:
        """Show the previous or next item of a list, keeping the focus on the same field."""
        part = next((p for p in self.current_parts() if p.path == list_path), None)
        if part is None:
            return
        total = len(fields.items(part, self.app.draft))
        old = self.item_index.get(list_path, 0)
        new = max(0, min(old + delta, total - 1))
        if new == old:
            return
        focused = getattr(self.app.focused, "path", "") or ""
        self.item_index[list_path] = new
        await self.show_step(self.step_index)
        target = focused.replace(f"{list_path}[{old}]", f"{list_path}[{new}]", 1) if focused.startswith(f"{list_path}[") else None
        wanted = [inp for inp in self.query(FieldInput) if inp.path == target] if target else []
        if not wanted:
            wanted = [inp for inp in self.query(FieldInput) if inp.path.startswith(f"{list_path}[{new}].")]
        if wanted:
            wanted[0].focus()

    async def _move_focused(self, delta: int) -> None:
        list_path = self.focused_list()
        if list_path is None:
            parts = [p for p in self.current_parts() if fields.items(p, self.app.draft)]
            list_path = parts[0].path if parts else None
        if list_path is not None:
            await self.move_item(list_path, delta)

    async def action_prev_item(self) -> None:
        await self._move_focused(-1)

    async def action_next_item(self) -> None:
        await self._move_focused(1)

    async def add_item(self, list_path: str) -> None:
        try:
            idx = drafts.add_item(self.app.draft, list_path)
        except (TypeError, KeyError, AttributeError, IndexError):
            self.app.notify(t(self.app.lang, "Cannot add an item here: {field} is not a list in this draft; correct it in the review.",
                              field=list_path), severity="error")
            return
        self.item_index[list_path] = idx
        await self.show_step(self.step_index)
        self.app.schedule_check()
        firsts = [inp for inp in self.query(FieldInput) if inp.path.startswith(f"{list_path}[{idx}].")]
        if firsts:
            firsts[0].focus()
            self.query_one("#form", VerticalScroll).scroll_to_widget(firsts[0])

    async def action_add_item(self) -> None:
        """Add an item to the list of the focused field, or else to the step's first list."""
        parts = [p for p in self.current_parts() if p.addable]
        focused = self.focused_list()
        part = next((p for p in parts if p.path == focused), parts[0] if parts else None)
        if part is not None:
            await self.add_item(part.path)

    async def action_remove_item(self) -> None:
        if self.step_id == fields.REVIEW:
            self.app.notify(t(self.app.lang, "Items are removed on their own step, where the item is shown."), severity="warning")
            return
        focused = self.app.focused
        path = getattr(focused, "path", "") or ""
        if "[" not in path:
            self.app.notify(t(self.app.lang, "Move to a field of the item to remove first."), severity="warning")
            return
        list_path, rest = path.split("[", 1)
        part = next((p for p in self.current_parts() if p.path == list_path), None)
        if part is not None and not part.addable:
            self.app.notify(t(self.app.lang, "Items of this list are removed on their own step."), severity="warning")
            return
        index = int(rest.split("]", 1)[0])
        lang = self.app.lang
        name = fields.item_name(list_path, index, self.app.draft, lang)

        async def done(answer: str | None) -> None:
            if answer != "remove":
                return
            drafts.remove_item(self.app.draft, list_path, index)
            self.item_index[list_path] = max(0, index - 1) if index else 0
            self.own_problems = {k: v for k, v in self.own_problems.items() if not k.startswith(list_path + "[")}
            await self.show_step(self.step_index)
            self.focus_first()
            self.app.schedule_check()
            self.app.notify(t(lang, "Removed: {item}", item=name))

        self.app.push_screen(ChoiceScreen(t(lang, "Remove {item} and all its answers?", item=name),
                                          [("remove", t(lang, "Remove")), ("cancel", t(lang, "Cancel"))], default="cancel"), done)

    def action_save(self) -> None:
        self.app.ask_save_path(lambda saved: saved and self.call_later(self.show_step, self.step_index))

    def action_open(self) -> None:
        lang = self.app.lang

        def done(answer: str | None) -> None:
            if answer:
                self.app.open_draft(answer)

        self.app.unless_unsaved(lambda: self.app.push_screen(
            PromptScreen(t(lang, "Open a draft (a YAML file, or store:NAME)"), self.app.draft_name or ""), done))

    def action_export(self) -> None:
        lang = self.app.lang

        def done(answer: str | None) -> None:
            if not answer:
                return
            try:
                drafts.export(self.app.draft, Path(answer).expanduser())
                self.app.notify(t(lang, "Application exported to {path}: ready for check and submit.", path=answer))
            except InputError as exc:
                self.app.show_error(exc)

        self.app.push_screen(PromptScreen(t(lang, "Export the finished application to"), "application.yaml"), done)

    def palette_commands(self):
        lang = self.app.lang
        yield t(lang, "Save the draft"), self.action_save
        yield t(lang, "Open a draft"), self.action_open
        yield t(lang, "Export the application"), self.action_export
        yield t(lang, "Go to the review"), (lambda: self.call_later(self.action_review))
        for i, sid in enumerate(fields.STEP_IDS):
            yield t(lang, "Go to step: {step}", step=t(lang, fields.STEP_TITLE[sid])), (lambda i=i: self.call_later(self.go_step, i))
