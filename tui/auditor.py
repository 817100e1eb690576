"""Auditor mode: the decision log, its verification, replay and explanation — a thin view over
``icv_permits.services.audit`` and ``icv_permits.present.audit``.

What comes from the log reaches a widget as a ``Text`` made visible
(:func:`~icv_permits.tui.common.shown`), never as a string read as markup."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, DataTable, Static

from icv_permits.core.errors import InputError
from icv_permits.core.i18n import N_
from icv_permits.core.i18n import t as report_t
from icv_permits.core.labels import RECORD_KINDS
from icv_permits.core.labels import label as code_label
from icv_permits.present import audit as audit_view
from icv_permits.services import audit as audit_service
from .common import AUDITOR_KEYS, KeyBar, bindings, shown, t


class AuditorScreen(Screen):
    KEYS = AUDITOR_KEYS
    BINDINGS = bindings(AUDITOR_KEYS)

    def __init__(self):
        super().__init__()
        self.records: list[audit_service.Record] = []
        self.report: audit_service.VerifyReport | None = None
        self.last_output: tuple[str, object] | None = None
        self.marked: set[int] = set()  # sequence numbers of the records marked for replay
        self.pack_mode = "recorded"  # replay with the pack recorded, or the current one
    def compose(self) -> ComposeResult:
        yield Static("", id="title", classes="title")
        yield DataTable(id="log", cursor_type="row", zebra_stripes=True)
        with Horizontal(id="audit-buttons"):
            yield Button("", id="verify", compact=True)
            yield Button("", id="replay", compact=True)
            yield Button("", id="explain", compact=True)
        with VerticalScroll(id="audit-out-box"):
            yield Static("", id="audit-out")
        yield KeyBar(AUDITOR_KEYS)

    def on_mount(self) -> None:
        self.relabel()

    def relabel(self) -> None:
        lang = self.app.lang
        self.relabel_title()
        for bid, label in (("verify", N_("Verify the chain")), ("replay", N_("Replay the selection")), ("explain", N_("Explain"))):
            self.query_one(f"#{bid}", Button).label = t(lang, label)
        self.query_one(KeyBar).relabel()
        self.action_refresh()
        if self.last_output:
            getattr(self, self.last_output[0])()

    def action_refresh(self) -> None:
        lang = self.app.lang
        table = self.query_one("#log", DataTable)
        cursor = table.cursor_row
        table.clear(columns=True)
        table.add_columns(t(lang, "Seq"), t(lang, "Kind"), t(lang, "Submission"), t(lang, "What"), t(lang, "Decision ID"))
        store = self.app.open_store_or_show()
        if store is None:
            return
        try:
            self.records = list(audit_service.iter_records(store))
        except InputError as exc:
            self.app.show_error(exc)
            return
        broken = self.report.faults[0].seq if self.report is not None and self.report.faults else None
        self.marked &= {r.seq for r in self.records}
        for r in self.records:
            style = "bold white on red" if r.seq == broken else ""
            cells = [("● " if r.seq in self.marked else "") + str(r.seq), report_t(lang, code_label(RECORD_KINDS, r.kind)),
                     str(r.body.get("submission_id", "—")), audit_view.summary(r, lang), r.decision_id[:8]]
            table.add_row(*[shown(c, style=style) for c in cells], key=str(r.seq))
        if self.records:
            table.move_cursor(row=min(cursor, len(self.records) - 1))

    def selected(self) -> audit_service.Record | None:
        table = self.query_one("#log", DataTable)
        if not self.records:
            return None
        return self.records[min(table.cursor_row, len(self.records) - 1)]

    def _out(self, text: str | Text, style: str = "") -> None:
        self.query_one("#audit-out", Static).update(shown(text, style=style))

    def action_verify(self) -> None:
        store = self.app.open_store_or_show()
        if store is None:
            return
        try:
            self.report = audit_service.verify(store)
        except InputError as exc:
            self._out("\n".join(self.app.problem_lines(exc)), "red")
            return
        self.last_output = ("action_verify_show", None)
        self.action_refresh()
        self.action_verify_show()
        if self.report.faults:
            b = self.report.faults[0]
            idx = next((i for i, r in enumerate(self.records) if r.seq == b.seq), None)
            if idx is not None:
                self.query_one("#log", DataTable).move_cursor(row=idx)

    def action_verify_show(self) -> None:
        lang = self.app.lang
        if self.report is None:
            return
        self._out(audit_view.verify_text(self.report, lang), "bold green" if self.report.intact else "bold red")

    def action_mark(self) -> None:
        """Mark or unmark the highlighted record for replay (Space)."""
        rec = self.selected()
        if rec is None:
            return
        self.marked ^= {rec.seq}
        table = self.query_one("#log", DataTable)
        table.update_cell(str(rec.seq), table.ordered_columns[0].key,
                          Text(("● " if rec.seq in self.marked else "") + str(rec.seq), style=table.get_row(str(rec.seq))[0].style))
        self.relabel_title()

    def relabel_title(self) -> None:
        lang = self.app.lang
        title = t(lang, "Auditor · the decision log")
        title += " · " + (t(lang, "replay with the recorded pack") if self.pack_mode == "recorded" else t(lang, "replay with the current pack"))
        if self.marked:
            title += " · " + t(lang, "{n} marked", n=len(self.marked))
        self.query_one("#title", Static).update(title)

    def action_toggle_pack(self) -> None:
        """Replay with the pack each decision recorded (the same result is expected), or with the
        current pack (what today's rules would decide, and which parameter changed it)."""
        self.pack_mode = "current" if self.pack_mode == "recorded" else "recorded"
        self.relabel_title()

    def action_replay(self) -> None:
        """Replay the marked records, or else the highlighted one; a review replays its engine
        decision. The per-rule differences are shown."""
        lang = self.app.lang
        store = self.app.open_store_or_show()
        if not self.records or store is None:
            self._out(t(lang, "The log is empty."))
            return
        chosen = [r for r in self.records if r.seq in self.marked] or [self.selected()]
        try:  # the same service call as ``icv-permits audit replay SEQ…``: the same answer
            results = list(audit_service.replay(store, [str(r.seq) for r in chosen], pack_mode=self.pack_mode))
        except InputError as exc:
            self._out("\n".join(self.app.problem_lines(exc)), "red")
            return
        self.last_output = ("action_replay", None)
        self._out(audit_view.replay_text(results, lang), "green" if all(r.match for r in results) else "red")

    def action_explain(self) -> None:
        rec = self.selected()
        store = self.app.open_store_or_show()
        lang = self.app.lang
        if rec is None or store is None:
            self._out(t(lang, "The log is empty."))
            return
        try:  # the same service call as ``icv-permits audit explain SEQ``
            text = audit_view.explanation(audit_service.explain(store, str(rec.seq)), lang)
        except InputError as exc:
            self._out("\n".join(self.app.problem_lines(exc)), "red")
            return
        except Exception as exc:  # noqa: BLE001 - a damaged record: shown, never a crash
            self._out(t(lang, "This record cannot be explained: {error}", error=f"{type(exc).__name__}: {exc}"[:300]), "red")
            return
        self.last_output = ("action_explain", None)
        self._out(text)

    @on(Button.Pressed)
    def _button(self, event: Button.Pressed) -> None:
        {"verify": self.action_verify, "replay": self.action_replay, "explain": self.action_explain}.get(event.button.id or "", lambda: None)()

    def palette_commands(self):
        lang = self.app.lang
        yield t(lang, "Verify the chain"), self.action_verify
        yield t(lang, "Replay the selection"), self.action_replay
        yield t(lang, "Replay with the recorded or the current pack"), self.action_toggle_pack
        yield t(lang, "Explain"), self.action_explain
