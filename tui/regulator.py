"""Regulator mode: the queue, a submission and its decision, notices and plates, an entity's
history — a thin view over ``icv_permits.services.office``.

Every action's outcome is shown in the result panel just above the key bar: what
was decided, the notice and plates issued or renewed, or — in red — why nothing was done. A
decision is confirmed first (a dialog saying what will happen). A decision refused because a
colleague changed the submission meanwhile reloads the submission at its new revision at once.

What comes from the store (names, reasons, the application) reaches a widget as a ``Text`` made
visible (:func:`~icv_permits.tui.common.shown`), never as a string read as markup."""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DataTable, Input, Static, TabbedContent, TabPane

from icv_permits.core.engine.decision import Decision
from icv_permits.core.errors import InputError, Problem
from icv_permits.core.i18n import N_
from icv_permits.core.i18n import t as report_t
from icv_permits.core.labels import ACTIVITIES, VERDICT_WORDS
from icv_permits.core.visible import visible
from icv_permits.present import office as office_view
from icv_permits.services import drafts
from icv_permits.services import office as office_service

from .common import REGULATOR_KEYS, KeyBar, bindings, findings_text, key_of, shown, t

ACTION_WORDS = {"approve": N_("Approve"), "return": N_("Return"), "reject": N_("Reject")}
ACTION_EFFECTS = {
    "approve": N_("Approving issues the notice and the temporary plates of every vehicle."),
    "return": N_("Returning sends the submission back to the applicant for correction, with the reason and the points to correct."),
    "reject": N_("Rejecting closes the submission: it cannot be corrected and re-submitted."),
}
REASON_AGAINST = N_("the engine finds this submission {verdict}: deciding against it needs a written reason — type it in the reason field")
REASON_NEEDED = N_("returning or rejecting needs a written reason for the applicant — type it in the reason field")


class RegulatorScreen(Screen):
    KEYS = REGULATOR_KEYS
    BINDINGS = bindings(REGULATOR_KEYS)

    def __init__(self):
        super().__init__()
        self.selected: int | None = None
        self.revision: int | None = None
        self.decision: Decision | None = None  # the latest engine decision of the selected submission
        self.view = None  # the selected submission (services.office.SubmissionView)
        self.views = []
        self.notice_rows: list[dict] = []
        self.selected_code: str | None = None  # the entity of the selected submission
        self.entity_code: str | None = None  # the entity shown in the history tab
        self.outcome: tuple | None = None  # what the result panel shows, to redraw it in the other language

    def compose(self) -> ComposeResult:
        yield Static("", id="title", classes="title")
        with TabbedContent(id="tabs"):
            with TabPane("", id="tab-queue"):
                yield DataTable(id="queue", cursor_type="row", zebra_stripes=True)
            with TabPane("", id="tab-sub"):
                with Horizontal(id="sub-body"):
                    with VerticalScroll(id="app-box"):
                        yield Static("", id="application")
                    with VerticalScroll(id="sub-findings-box"):
                        yield Static("", id="sub-findings")
                        yield Static("", id="history")
                with Horizontal(id="decide-row"):
                    yield Input(id="reason", compact=True)
                    yield Button("", id="approve", variant="success", compact=True)
                    yield Button("", id="return", variant="warning", compact=True)
                    yield Button("", id="reject", variant="error", compact=True)
            with TabPane("", id="tab-notices"):
                yield DataTable(id="notices", cursor_type="row", zebra_stripes=True)
            with TabPane("", id="tab-entity"):
                yield Input(id="credit-code", compact=True)
                with VerticalScroll(id="entity-box"):
                    yield Static("", id="entity")
        with VerticalScroll(id="result-box"):
            yield Static("", id="result")
        yield KeyBar(REGULATOR_KEYS)

    def on_mount(self) -> None:
        self.relabel()
        self.action_refresh()
        self.query_one("#queue", DataTable).focus()  # arrows and Enter choose a submission at once

    def relabel(self) -> None:
        lang = self.app.lang
        self.query_one("#title", Static).update(t(lang, "Regulator · the queue of submissions under review"))
        tabs = self.query_one("#tabs", TabbedContent)
        for pid, label in (("tab-queue", N_("Queue")), ("tab-sub", N_("Submission")), ("tab-notices", N_("Notices expiring in 30 days")),
                           ("tab-entity", N_("Entity history"))):
            tabs.get_tab(pid).label = t(lang, label)
        self.query_one("#credit-code", Input).placeholder = t(lang, "Unified social credit code, then Enter (F4: the entity of the submission or notice)")
        self.query_one("#reason", Input).placeholder = t(lang, "Reason (to return, reject or overrule the engine)")
        for bid, label in ACTION_WORDS.items():
            button = self.query_one(f"#{bid}", Button)
            button.label = t(lang, label)
            button.refresh(layout=True)  # sized to the label of the language now shown
        self.query_one(KeyBar).relabel()
        if self.views or self.selected is not None:
            self.action_refresh()
        if self.entity_code:
            self.action_entity_history(self.entity_code, switch=False)
        if self.outcome is not None:
            self.show_outcome(*self.outcome)

    # ------------------------------------------------------------ the result panel

    def show_outcome(self, kind: str, build) -> None:
        """Show an outcome in the result panel above the key bar, whichever tab is open: ``kind`` is
        ``ok``, ``refused`` (red) or ``note``; ``build(lang)`` gives its text (kept, so that F2
        redraws it in the other language). No toast: it would cover the panel at 80×24."""
        self.outcome = (kind, build)
        lang = self.app.lang
        text = build(lang)
        panel = self.query_one("#result", Static)
        panel.update(text)
        box = self.query_one("#result-box")
        box.set_class(True, "shown")
        for k in ("ok", "refused", "note"):
            box.set_class(k == kind, f"-{k}")
        box.scroll_home(animate=False)

    def problem_text(self, exc: InputError, lang: str) -> str:
        """The problems of a refusal in ``lang``, worded for this screen: a missing reason names the
        reason field (the service's own message names the command line's option)."""
        lines = []
        for p in exc.problems:
            if p.code == "reason_required":
                verdict = report_t(lang, p.params.get("verdict_text", ""))
                msgid = REASON_AGAINST if "against" in p.msgid else REASON_NEEDED
                lines.append(t(lang, msgid, verdict=verdict))
            else:
                lines.extend(self.app.problem_lines(InputError([p])))
        return "\n".join(lines)

    def refused(self, exc: InputError, head: str, **params) -> None:
        def build(lang: str) -> Text:
            out = Text(t(lang, head, **params) + "\n", style="bold red")
            out.append(shown(self.problem_text(exc, lang), style="red"))
            return out

        self.show_outcome("refused", build)

    def note(self, msgid: str, **params) -> None:
        self.show_outcome("note", lambda lang: Text(t(lang, msgid, **params), style="yellow"))

    # ------------------------------------------------------------ queue and submission

    def action_refresh(self) -> None:
        lang = self.app.lang
        store = self.app.open_store_or_show()
        table = self.query_one("#queue", DataTable)
        table.clear(columns=True)
        # no state column: the queue holds submissions under review only; the verdict first, so
        # that it is never the column cut off at 80 columns
        table.add_columns("#", t(lang, "Verdict"), t(lang, "Activity"), t(lang, "Entity"), t(lang, "Vehicles"), t(lang, "Updated"))
        notices = self.query_one("#notices", DataTable)
        notices.clear(columns=True)
        notices.add_columns(t(lang, "Notice"), t(lang, "Entity"), t(lang, "Valid until"), t(lang, "Days left"), t(lang, "Plates until"))
        self.notice_rows = []
        if store is None:
            return
        try:
            self.views = office_service.queue(store)
            for v in self.views:
                table.add_row(*map(_cell, (str(v.id), report_t(lang, VERDICT_WORDS.get(v.verdict or "", "—")),
                                           report_t(lang, ACTIVITIES.get(v.activity, v.activity)), v.entity_name,
                                           str(v.vehicles), office_view.local(v.updated_at)[:10])), key=str(v.id))
            self.notice_rows = office_service.list_notices(store, clock=self.app.clock, expiring_within_days=30)
            for n in self.notice_rows:
                notices.add_row(*map(_cell, (n["number"], n.get("entity_name") or n.get("credit_code", ""), n["valid_until"], str(n["days_left"]),
                                             n.get("plates_run_until") or "—")), key=n["number"])
        except InputError as exc:
            self.app.show_error(exc)
        if self.selected is not None:
            self.load(self.selected)

    @on(DataTable.RowSelected, "#queue")
    def _chosen(self, event: DataTable.RowSelected) -> None:
        self.load(int(event.row_key.value))
        self.query_one("#tabs", TabbedContent).active = "tab-sub"

    def load(self, sub_id: int) -> None:
        """Show a submission: its application as labelled sections, its history, and the engine's
        latest findings."""
        lang = self.app.lang
        store = self.app.open_store_or_show()
        if store is None:
            return
        try:
            view, decision = office_service.show(store, sub_id)
            doc = drafts.submission_document(store, sub_id)
            events = office_service.submission_history(store, sub_id)
        except InputError as exc:
            self.app.show_error(exc)
            return
        self.selected, self.revision, self.selected_code = sub_id, view.revision, view.credit_code
        self.view, self.decision = view, decision
        self.query_one("#application", Static).update(submission_text(view, doc, lang))
        self.query_one("#history", Static).update(history_text(events, lang))
        if decision is not None:
            pack = self.app.pack(decision.pack_id)
            self.query_one("#sub-findings", Static).update(findings_text(_Result(decision, pack), lang))
        else:
            self.query_one("#sub-findings", Static).update(Text("—"))

    # ------------------------------------------------------------ deciding

    @on(Button.Pressed, "#approve, #return, #reject")
    def _button(self, event: Button.Pressed) -> None:
        self.action_decide(event.button.id)

    def action_decide(self, action: str) -> None:
        """Check what can be checked at once (a submission chosen, a reason where one is needed),
        then ask for confirmation; the decision is made by :meth:`decide_now`."""
        tabs = self.query_one("#tabs", TabbedContent)
        if self.selected is None or self.view is None:
            self.note(N_("Choose a submission in the queue first."))
            return
        tabs.active = "tab-sub"
        if self.view.state != "under_review":  # nothing to confirm: the service would refuse it
            state = self.view.state
            self.show_outcome("refused", lambda lang: Text(t(lang, "Not decided: submission {id} is {state}; only a submission under review can be decided.",
                                                               id=self.selected, state=office_view.state_text(lang, state)), style="bold red"))
            return
        reason = self.query_one("#reason", Input).value.strip()
        verdict = self.decision.verdict.value if self.decision is not None else None
        against = (action == "approve" and verdict != "compliant") or (action != "approve" and verdict == "compliant")
        if not reason and (against or action != "approve"):
            # the service refuses this too (the engine runs again as it decides); said here at once,
            # with no dialog to confirm first
            msgid = REASON_AGAINST if against else REASON_NEEDED
            code = "reason_required"
            exc = InputError([Problem("--reason", msgid, {"verdict_text": VERDICT_WORDS.get(verdict or "", "—")}, code)])
            self.refused(exc, N_("Not decided: submission {id}"), id=self.selected)
            self.query_one("#reason", Input).focus()
            return
        sub_id, revision = self.selected, self.revision

        def done(confirmed: bool | None) -> None:
            if confirmed:
                self.decide_now(action, sub_id, revision, reason)
            else:
                self.note(N_("Cancelled: nothing was decided on submission {id}."), id=sub_id)

        self.app.push_screen(ConfirmDecision(action, self.view, verdict, reason), done)

    def decide_now(self, action: str, sub_id: int, revision: int | None, reason: str) -> None:
        store = self.app.open_store_or_show()
        if store is None:
            return
        try:
            res = office_service.decide(store, sub_id, action, reason=reason, actor=self.app.actor, clock=self.app.clock,
                                        expected_revision=revision)
        except InputError as exc:
            if any(p.code == "stale_revision" for p in exc.problems):
                self.action_refresh()
                self.load(sub_id)
                view = self.view

                def build(lang: str) -> Text:
                    out = Text(t(lang, "Not decided: a colleague changed submission {id} first.", id=sub_id) + "\n", style="bold red")
                    out.append(t(lang, "Reloaded: it is now at revision {rev} ({state}). Look at it again before deciding.",
                                 rev=view.revision, state=office_view.state_text(lang, view.state)) + "\n", style="red")
                    for line in office_view.history_rows(office_service.submission_history(store, sub_id), lang)[-1:]:
                        out.append(shown("  " + "  ".join(x for x in line if x), style="red"))
                    return out

                self.show_outcome("refused", build)
            else:
                self.refused(exc, N_("Not decided: submission {id}"), id=sub_id)
            return

        def build(lang: str) -> Text:
            lines = office_view.decided(res, lang).rstrip().split("\n")
            out = Text(visible(lines[0]) + "\n", style="bold green" if action == "approve" else "bold yellow")
            if res.notice:  # the notice and every plate, first: what the applicant is told next
                out.append(t(lang, "Notice {number} issued, valid {start} – {end}.", number=res.notice["number"], start=res.notice["valid_from"],
                             end=res.notice["valid_until"]) + "\n", style="bold green")
                for line in office_view.plate_lines(res.notice, lang):
                    out.append(shown("  " + line + "\n"))
                if res.review["reason"]:  # "decided against the engine; reason recorded: …" or "reason: …"
                    out.append(shown(lines[2] + "\n"))
            else:  # returned or rejected: the engine's verdict today, the reason, what to correct
                out.append(shown("\n".join(lines[1:])))
            out.rstrip()
            return out

        self.show_outcome("ok", build)
        self.query_one("#reason", Input).value = ""
        self.action_refresh()
        self.load(sub_id)

    # ------------------------------------------------------------ plates and entities

    def highlighted_notice(self) -> dict | None:
        table = self.query_one("#notices", DataTable)
        if not self.notice_rows:
            return None
        return self.notice_rows[min(table.cursor_row, len(self.notice_rows) - 1)]

    def action_renew_plates(self) -> None:
        """Renew the plates of the notice highlighted in the notices tab (30-day window, never past
        the notice: the workflow's rules)."""
        tabs = self.query_one("#tabs", TabbedContent)
        tabs.active = "tab-notices"
        notice = self.highlighted_notice()
        if notice is None:
            self.note(N_("No notice is highlighted: the notices expiring within 30 days are listed here."))
            return
        store = self.app.open_store_or_show()
        if store is None:
            return
        try:
            result = office_service.renew_plates(store, notice["number"], actor=self.app.actor, clock=self.app.clock)
        except InputError as exc:
            self.refused(exc, N_("Plates not renewed: notice {number}"), number=notice["number"])
            return
        self.selected_code = notice["credit_code"]
        self.action_refresh()

        def build(lang: str) -> Text:
            n = result["notice"]
            out = Text(t(lang, "Plates of {n} vehicles renewed under notice {number} (valid {start} – {end}):", n=len(result["renewed"]),
                         number=n["number"], start=n["valid_from"], end=n["valid_until"]) + "\n", style="bold green")
            out.append(shown("\n".join(office_view.renewed(result, lang).rstrip().split("\n")[1:])))
            return out

        self.show_outcome("ok", build)

    def action_entity_history(self, code: str | None = None, switch: bool = True) -> None:
        """The history of an entity: typed in, else the highlighted notice's (in the notices tab),
        else the selected submission's."""
        lang = self.app.lang
        tabs = self.query_one("#tabs", TabbedContent)
        if code is None:
            notice = self.highlighted_notice() if tabs.active == "tab-notices" else None
            code = (notice or {}).get("credit_code") or self.selected_code or self.entity_code
        if switch:
            tabs.active = "tab-entity"
        box = self.query_one("#entity", Static)
        if not code:
            box.update(Text(t(lang, "Type a unified social credit code, or choose a submission first."), style="yellow"))
            self.query_one("#credit-code", Input).focus()
            return
        store = self.app.open_store_or_show()
        if store is None:
            return
        try:
            data = office_service.entity_history(store, code, clock=self.app.clock)
        except InputError as exc:
            box.update(shown("\n".join(self.app.problem_lines(exc)), style="red"))
            return
        self.entity_code = data["credit_code"]
        self.query_one("#credit-code", Input).value = data["credit_code"]
        box.update(shown(office_view.entity(data, lang)))

    @on(Input.Submitted, "#credit-code")
    def _code_typed(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.action_entity_history(event.value.strip())

    def palette_commands(self):
        lang = self.app.lang
        yield t(lang, "Refresh the queue"), self.action_refresh
        yield t(lang, "Renew the plates of the highlighted notice"), self.action_renew_plates
        yield t(lang, "Entity history"), self.action_entity_history
        for v in self.views:
            yield t(lang, "Open submission {id} ({entity})", id=v.id, entity=v.entity_name), (lambda i=v.id: self.load(i))

    def help_intro(self, lang: str) -> Text:
        """F1 in the regulator's mode: what each tab shows, how a decision is made, the keys."""
        k = lambda key_id: key_of(self.app, key_id).upper().replace("CTRL+", "Ctrl+")  # noqa: E731
        out = Text(t(lang, "Regulator: review submissions and decide") + "\n\n", style="bold")
        out.append(t(lang, "Tabs") + "\n", style="bold")
        out.append(t(lang, "• Queue: the submissions under review, oldest change first, with their engine verdict, activity, entity and vehicles. Enter opens one.") + "\n")
        out.append(t(lang, "• Submission: the application in labelled sections (personal data masked) on the left; on the right the engine's findings, then the submission's history — each version submitted, engine check, decision with its actor and reason, plate renewal.") + "\n")
        out.append(t(lang, "• Notices expiring in 30 days: notices whose notice or plates end soon; {renew} renews the highlighted notice's plates.", renew=k("regulator.renew")) + "\n")
        out.append(t(lang, "• Entity history: an entity's submissions, notices, plates and drivers; {entity} opens the entity of the submission or notice.", entity=k("regulator.entity")) + "\n\n")
        out.append(t(lang, "Deciding") + "\n", style="bold")
        out.append(t(lang, "Type a reason in the reason field (needed to return or reject, and to go against the engine's verdict), then {approve} approve, {ret} return or {reject} reject. A dialog says what will happen: Enter or Y confirms, Esc or N cancels.",
                     approve=k("regulator.approve"), ret=k("regulator.return"), reject=k("regulator.reject")) + "\n")
        out.append(t(lang, "The outcome — the notice and plates issued, or in red why nothing was done — shows above the key bar. If a colleague decided first, the submission is reloaded at its new revision. {refresh} refreshes the queue.",
                     refresh=k("regulator.refresh")) + "\n")
        # a bullet and its text stay together (a line of Chinese has no space to wrap at)
        return Text(out.plain.replace("• ", "•\u00a0"), spans=out.spans)


class ConfirmDecision(ModalScreen[bool]):
    """What a decision will do — submission, entity, action, engine verdict, reason — with confirm
    (Enter or Y) and cancel (Esc or N)."""

    DEFAULT_CSS = """
    ConfirmDecision { align: center middle; }
    ConfirmDecision > Vertical { width: 76; max-width: 96%; height: auto; max-height: 90%; border: thick $warning; background: $surface; padding: 0 1; }
    ConfirmDecision #confirm-body { height: auto; }
    ConfirmDecision #confirm-buttons { height: 1; margin-top: 1; align-horizontal: center; }
    ConfirmDecision Button { margin: 0 2; }
    """
    BINDINGS: ClassVar = [Binding("enter,y", "confirm", show=False, priority=True), Binding("escape,n", "cancel", show=False, priority=True)]

    def __init__(self, action: str, view, verdict: str | None, reason: str):
        super().__init__()
        self.action, self.view, self.verdict, self.reason = action, view, verdict, reason

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("", id="confirm-body")
            with Horizontal(id="confirm-buttons"):
                yield Button("", id="confirm", variant="error" if self.action == "reject" else "success", compact=True)
                yield Button("", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.relabel()

    def relabel(self) -> None:
        lang = self.app.lang
        v = self.view
        out = Text(t(lang, "{action} submission {id}?", action=t(lang, ACTION_WORDS[self.action]), id=v.id) + "\n\n", style="bold")
        rows = [(t(lang, "Entity"), f"{visible(v.entity_name)} ({visible(v.credit_code)})"),
                (t(lang, "Activity"), report_t(lang, ACTIVITIES.get(v.activity, v.activity))),
                (t(lang, "Revision"), t(lang, "{rev} (version {version})", rev=v.revision, version=v.version)),
                (t(lang, "Verdict"), report_t(lang, VERDICT_WORDS.get(self.verdict or "", "—"))),
                (t(lang, "Reason"), visible(self.reason) if self.reason else "—")]
        sep = "：" if lang == "zh" else ": "
        for label, value in rows:
            out.append(label + sep, style="bold")
            out.append(value + "\n")
        out.append("\n" + t(lang, ACTION_EFFECTS[self.action]) + "\n", style="italic")
        if (self.action == "approve") != (self.verdict == "compliant"):
            out.append(t(lang, "This goes against the engine's verdict: the reason is recorded with the decision.") + "\n", style="bold yellow")
        self.query_one("#confirm-body", Static).update(out)
        self.query_one("#confirm", Button).label = t(lang, "Confirm (Enter/Y)")
        self.query_one("#cancel", Button).label = t(lang, "Cancel (Esc/N)")

    @on(Button.Pressed, "#confirm")
    def action_confirm(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)


def submission_text(view, doc: dict, lang: str) -> Group:
    """The submission as the regulator reads it: a head line, then its application as labelled
    sections (``present.office.application_sections``), each a grid, so that a long value wraps
    under itself, never under its label."""
    parts: list = [Text(t(lang, "Submission {id} · revision {rev} · {state} · {entity}", id=view.id, rev=view.revision,
                          state=office_view.state_text(lang, view.state), entity=view.entity_name), style="bold")]
    def grid() -> Table:
        g = Table.grid(padding=(0, 1), expand=True)
        g.add_column(style="dim", max_width=26)
        g.add_column(ratio=1, overflow="fold")
        return g

    for title, rows in office_view.application_sections(doc, lang):
        parts.append(Text("\n" + title, style="bold underline"))
        current = grid()
        for label, value in rows:
            if value is None:  # an item's heading (a driver, a vehicle, a policy), on a line of its own
                if current.row_count:
                    parts.append(Padding(current, (0, 0, 0, 1)))
                    current = grid()
                parts.append(Text(label, style="bold cyan"))
            else:
                current.add_row(Text(label), Text(value))
        if current.row_count:
            parts.append(Padding(current, (0, 0, 0, 1)))
    return Group(*parts)


def history_text(events: list[dict], lang: str) -> Group:
    """The submission's history (``services.office.submission_history``), under the findings: each
    version submitted, engine check, decision and renewal, with its time, actor and reason."""
    parts: list = [Text("\n" + t(lang, "History"), style="bold underline")]
    grid = Table.grid(padding=(0, 1), expand=True)
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(ratio=1, overflow="fold")
    for when, who, what, detail in office_view.history_rows(events, lang):
        cell = Text()
        cell.append(who, style="cyan")
        cell.append(" " + what, style="bold")
        if detail:
            cell.append("\n" + detail)
        grid.add_row(Text(" " + when), cell)
    parts.append(grid)
    return Group(*parts)


def _cell(text: str) -> Text:
    """A cell of a table: one line, made visible, never read as markup."""
    return Text(visible(text))


class _Result:
    """The decision and its pack, shaped like a CheckResult for :func:`findings_text`."""

    def __init__(self, decision: Decision, pack):
        self.decision, self.pack = decision, pack
