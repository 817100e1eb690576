"""Regulator mode: the queue, a submission and its decision, notices and plates, an entity's
history — a thin view over ``icv_permits.services.office``.

What comes from the store (names, reasons, the application) reaches a widget as a ``Text`` made
visible (:func:`~icv_permits.tui.common.shown`), never as a string read as markup."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, DataTable, Input, Static, TabbedContent, TabPane

from icv_permits.core.engine.decision import Decision
from icv_permits.core.errors import InputError
from icv_permits.core.i18n import N_
from icv_permits.core.visible import visible
from icv_permits.present import office as office_view
from icv_permits.services import drafts
from icv_permits.services import office as office_service
from .common import REGULATOR_KEYS, KeyBar, bindings, findings_text, shown, t


class RegulatorScreen(Screen):
    KEYS = REGULATOR_KEYS
    BINDINGS = bindings(REGULATOR_KEYS)

    def __init__(self):
        super().__init__()
        self.selected: int | None = None
        self.revision: int | None = None
        self.views = []
        self.notice_rows: list[dict] = []
        self.selected_code: str | None = None  # the entity of the selected submission
        self.entity_code: str | None = None  # the entity shown in the history tab

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
                with Horizontal(id="decide-row"):
                    yield Input(id="reason", compact=True)
                    yield Button("", id="approve", variant="success", compact=True)
                    yield Button("", id="return", variant="warning", compact=True)
                    yield Button("", id="reject", variant="error", compact=True)
                yield Static("", id="decide-result")
            with TabPane("", id="tab-notices"):
                yield DataTable(id="notices", cursor_type="row", zebra_stripes=True)
                yield Static("", id="notice-result")
            with TabPane("", id="tab-entity"):
                yield Input(id="credit-code", compact=True)
                with VerticalScroll(id="entity-box"):
                    yield Static("", id="entity")
        yield KeyBar(REGULATOR_KEYS)

    def on_mount(self) -> None:
        self.relabel()
        self.action_refresh()

    def relabel(self) -> None:
        lang = self.app.lang
        self.query_one("#title", Static).update(t(lang, "Regulator · the queue of submissions under review"))
        tabs = self.query_one("#tabs", TabbedContent)
        for pid, label in (("tab-queue", N_("Queue")), ("tab-sub", N_("Submission")), ("tab-notices", N_("Notices expiring in 30 days")),
                           ("tab-entity", N_("Entity history"))):
            tabs.get_tab(pid).label = t(lang, label)
        self.query_one("#credit-code", Input).placeholder = t(lang, "Unified social credit code, then Enter (F4: the entity of the submission or notice)")
        self.query_one("#reason", Input).placeholder = t(lang, "Reason (needed to return, reject or go against the engine)")
        for bid, label in (("approve", N_("Approve")), ("return", N_("Return")), ("reject", N_("Reject"))):
            self.query_one(f"#{bid}", Button).label = t(lang, label)
        self.query_one(KeyBar).relabel()
        if self.views or self.selected is not None:
            self.action_refresh()
        if self.entity_code:
            self.action_entity_history(self.entity_code, switch=False)

    def action_refresh(self) -> None:
        lang = self.app.lang
        store = self.app.open_store_or_show()
        table = self.query_one("#queue", DataTable)
        table.clear(columns=True)
        table.add_columns("#", t(lang, "State"), t(lang, "Verdict"), t(lang, "Entity"), t(lang, "Vehicles"), t(lang, "Updated"))
        notices = self.query_one("#notices", DataTable)
        notices.clear(columns=True)
        notices.add_columns(t(lang, "Notice"), t(lang, "Entity"), t(lang, "Valid until"), t(lang, "Days left"), t(lang, "Plates until"))
        self.notice_rows = []
        if store is None:
            return
        try:
            self.views = office_service.queue(store)
            for v in self.views:
                table.add_row(*map(_cell, (str(v.id), office_view.state_text(lang, v.state), office_view.verdict_text(lang, v.verdict), v.entity_name,
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
        lang = self.app.lang
        store = self.app.open_store_or_show()
        if store is None:
            return
        try:
            view, decision = office_service.show(store, sub_id)
            doc = drafts.submission_document(store, sub_id)
        except InputError as exc:
            self.app.show_error(exc)
            return
        self.selected, self.revision, self.selected_code = sub_id, view.revision, view.credit_code
        head = Text(t(lang, "Submission {id} · revision {rev} · {state} · {entity}", id=view.id, rev=view.revision,
                       state=office_view.state_text(lang, view.state), entity=view.entity_name) + "\n", style="bold")
        head.append(shown(drafts.to_yaml(doc)))
        self.query_one("#application", Static).update(head)
        if decision is not None:
            pack = self.app.pack(decision.pack_id)
            self.query_one("#sub-findings", Static).update(findings_text(_Result(decision, pack), lang))
        else:
            self.query_one("#sub-findings", Static).update(Text("—"))

    @on(Button.Pressed)
    def _button(self, event: Button.Pressed) -> None:
        if event.button.id in ("approve", "return", "reject"):
            self.action_decide(event.button.id)

    def action_decide(self, action: str) -> None:
        lang = self.app.lang
        out = self.query_one("#decide-result", Static)
        if self.selected is None:
            out.update(Text(t(lang, "Choose a submission in the queue first."), style="yellow"))
            return
        store = self.app.open_store_or_show()
        if store is None:
            return
        reason = self.query_one("#reason", Input).value
        try:
            res = office_service.decide(store, self.selected, action, reason=reason, actor=self.app.actor, clock=self.app.clock,
                                  expected_revision=self.revision)
        except InputError as exc:
            out.update(shown("\n".join(self.app.problem_lines(exc)), style="red"))
            return
        msg = t(lang, "Submission {id}: {state}", id=res.submission.id, state=office_view.state_text(lang, res.submission.state))
        if res.notice:
            msg += " · " + t(lang, "notice {number} valid {start} – {end}", number=res.notice["number"], start=res.notice["valid_from"],
                              end=res.notice["valid_until"])
        out.update(Text(msg, style="bold green"))
        self.query_one("#reason", Input).value = ""
        sel = self.selected
        self.action_refresh()
        self.load(sel)

    # ------------------------------------------------------------ plates and entities

    def highlighted_notice(self) -> dict | None:
        table = self.query_one("#notices", DataTable)
        if not self.notice_rows:
            return None
        return self.notice_rows[min(table.cursor_row, len(self.notice_rows) - 1)]

    def action_renew_plates(self) -> None:
        """Renew the plates of the notice highlighted in the notices tab (30-day window, never past
        the notice: the workflow's rules)."""
        lang = self.app.lang
        tabs = self.query_one("#tabs", TabbedContent)
        out = self.query_one("#notice-result", Static)
        tabs.active = "tab-notices"
        notice = self.highlighted_notice()
        if notice is None:
            out.update(Text(t(lang, "No notice is highlighted: the notices expiring within 30 days are listed here."), style="yellow"))
            return
        store = self.app.open_store_or_show()
        if store is None:
            return
        try:
            result = office_service.renew_plates(store, notice["number"], actor=self.app.actor, clock=self.app.clock)
        except InputError as exc:
            out.update(shown("\n".join(self.app.problem_lines(exc)), style="red"))
            return
        self.selected_code = notice["credit_code"]
        self.action_refresh()
        out.update(shown(office_view.renewed(result, lang).rstrip(), style="bold green"))

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


def _cell(text: str) -> Text:
    """A cell of a table: one line, made visible, never read as markup."""
    return Text(visible(text))


class _Result:
    """The decision and its pack, shaped like a CheckResult for :func:`findings_text`."""

    def __init__(self, decision: Decision, pack):
        self.decision, self.pack = decision, pack
