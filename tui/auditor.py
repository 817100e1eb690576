"""Auditor mode: the decision log, its verification, replay and explanation — a thin view over
``icv_permits.services.audit`` and ``icv_permits.present.audit``.

The log is verified when the screen opens (and on every refresh): verify costs one SHA-256 per
record, what reading the records for the table costs anyway (docs/benchmarks.md: 10,000–20,000
records/s on SQLite), so an auditor never reads a record before knowing whether it holds. Every
record that fails verification is marked in the table (✗, red), and explain and replay of it say so
on their first line, in red, before anything the record holds.

What comes from the log reaches a widget as a ``Text`` made visible
(:func:`~icv_permits.tui.common.shown`), never as a string read as markup."""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, DataTable, Static

from icv_permits.core.errors import InputError, LogBroken
from icv_permits.core.i18n import N_
from icv_permits.core.i18n import t as report_t
from icv_permits.core.labels import RECORD_KINDS
from icv_permits.core.labels import label as code_label
from icv_permits.core.visible import visible, visible_lines
from icv_permits.present import audit as audit_view
from icv_permits.present.office import local
from icv_permits.services import audit as audit_service

from .common import AUDITOR_KEYS, KeyBar, bindings, key_of, shown, t

FAULT_STYLE = "bold white on red"
REPLAYABLE = ("engine_decision", "submission", "review")  # the kinds that stand for an engine decision


class LogTable(DataTable):
    """The log: Home and End go to the first and the last record (the table's own keys only scroll)."""

    BINDINGS = [Binding("home", "first", show=False), Binding("end", "last", show=False)]  # noqa: RUF012 - Textual reads it per class

    def action_first(self) -> None:
        self.move_cursor(row=0)

    def action_last(self) -> None:
        self.move_cursor(row=max(0, self.row_count - 1))


class AuditorScreen(Screen):
    KEYS = AUDITOR_KEYS
    BINDINGS = bindings(AUDITOR_KEYS)

    def __init__(self):
        super().__init__()
        self.records: list[audit_service.Record] = []
        self.report: audit_service.VerifyReport | None = None
        self.faults: dict[int, list[audit_service.Break]] = {}  # seq → why that record fails verification
        self.last_output: tuple[str, object] | None = None
        self.marked: set[int] = set()  # sequence numbers of the records marked for replay
        self.pack_mode = "recorded"  # replay with the pack recorded, or the current one
        self._width = 0

    def compose(self) -> ComposeResult:
        yield Static("", id="title", classes="title")
        yield LogTable(id="log", cursor_type="row", zebra_stripes=True)
        with Horizontal(id="audit-buttons"):
            yield Button("", id="verify", compact=True)
            yield Button("", id="replay", compact=True)
            yield Button("", id="replay-all", compact=True)
            yield Button("", id="explain", compact=True)
        with VerticalScroll(id="audit-out-box"):
            yield Static("", id="audit-out")
        yield KeyBar(AUDITOR_KEYS)

    def on_mount(self) -> None:
        self.load()
        self.last_output = ("action_verify_show", None)
        self.relabel()
        self.query_one("#log", DataTable).focus()  # the arrows move in the log at once

    def on_resize(self, event) -> None:
        if event.size.width != self._width:
            self.fill_table()

    def relabel(self) -> None:
        lang = self.app.lang
        self.relabel_title()
        for bid, label in (("verify", N_("Verify the chain")), ("replay", N_("Replay the selection")), ("replay-all", N_("Replay all")),
                           ("explain", N_("Explain"))):
            button = self.query_one(f"#{bid}", Button)
            button.label = t(lang, label)
            button.refresh(layout=True)  # sized to the label of the language now shown
        self.query_one(KeyBar).relabel()
        self.fill_table()
        if self.last_output:
            getattr(self, self.last_output[0])()

    # ------------------------------------------------------------ the log and its verification

    def load(self) -> bool:
        """Read the log and verify it: the whole chain as ``icv-permits audit verify`` does (the same
        report), and each record on its own (every faulty record, not only the first)."""
        store = self.app.open_store_or_show()
        if store is None:
            return False
        try:
            self.records = list(audit_service.iter_records(store))
            self.report = audit_service.verify(store)
            self.faults = audit_service.record_faults(store, self.records, self.report)
        except InputError as exc:
            self.app.show_error(exc)
            return False
        self.marked &= {r.seq for r in self.records}
        return True

    def action_refresh(self) -> None:
        self.load()
        self.fill_table()
        if self.last_output:
            getattr(self, self.last_output[0])()

    def _columns(self, lang: str) -> list[tuple[str, int]]:
        """The columns and their widths for the terminal's width: Seq, Decision ID, the submission and
        the time keep theirs; the time drops its year when narrow; what happened, the kind and the
        actor share the rest, what happened first (cells too long end in …)."""
        width = max(self.size.width or self.app.size.width, 40)
        cells = [str(r.seq) for r in self.records] or ["0"]
        seq_w = max(max(len(c) for c in cells) + (4 if self.faults else 2), cell_len(t(lang, "Seq")))  # room for ● and ✗
        time_w = 16 if width >= 110 else 11
        sub_w = max([cell_len(t(lang, "Submission")) if width >= 110 else 4] + [cell_len(self._sub(r)) for r in self.records])
        id_w = max(8, cell_len(t(lang, "Decision ID"))) if width >= 110 else 8
        natural = {
            "kind": max([cell_len(report_t(lang, code_label(RECORD_KINDS, r.kind))) for r in self.records] + [6]),
            "actor": max([cell_len(self._actor(r)) for r in self.records] + [6]),
            "what": max([cell_len(self._what(r, lang)) for r in self.records] + [8]),
        }
        # 2 cells of padding per column, 2 for the scroll bar
        rest = width - 2 - 2 * 7 - (seq_w + time_w + sub_w + id_w)
        what = min(natural["what"], max(12, rest - min(natural["kind"], 10) - min(natural["actor"], 10)))
        kind = min(natural["kind"], max(6, (rest - what) // 2))
        actor = max(6, min(natural["actor"], rest - what - kind))
        return [(t(lang, "Seq"), seq_w), (t(lang, "Recorded"), time_w), (t(lang, "Kind"), kind), (t(lang, "Actor"), actor),
                (t(lang, "Submission"), sub_w), (t(lang, "What"), what), (t(lang, "Decision ID"), id_w)]

    @staticmethod
    def _sub(r) -> str:
        try:
            return str(r.body.get("submission_id", "—"))
        except LogBroken:  # a body no writer made: the table shows the record, verify names the break
            return "—"

    @staticmethod
    def _actor(r) -> str:
        """Who the database says acted, and as whom they claimed to act when it differs."""
        try:
            claimed = r.body.get("claimed_actor") or ""
        except LogBroken:  # a body no writer made: the table shows the record, verify names the break
            claimed = ""
        return r.actor if not claimed or claimed == r.actor else f"{r.actor}/{claimed}"

    @staticmethod
    def _what(r, lang: str) -> str:
        try:
            return audit_view.summary(r, lang)
        except Exception:  # noqa: BLE001 - a body that is not what its kind holds: shown as unreadable, never a crash
            return t(lang, "(unreadable)")

    def _seq_cell(self, seq: int) -> str:
        return ("● " if seq in self.marked else "") + ("✗ " if seq in self.faults else "") + str(seq)

    def fill_table(self) -> None:
        lang = self.app.lang
        table = self.query_one("#log", DataTable)
        self._width = self.size.width
        cursor = table.cursor_row
        table.clear(columns=True)
        for label, width in self._columns(lang):
            table.add_column(Text(label, no_wrap=True, overflow="ellipsis"), width=width)
        for r in self.records:
            style = FAULT_STYLE if r.seq in self.faults else ""
            cells = [self._seq_cell(r.seq), local(r.recorded_at)[-11:] if table.ordered_columns[1].width == 11 else local(r.recorded_at),
                     report_t(lang, code_label(RECORD_KINDS, r.kind)), self._actor(r), self._sub(r), self._what(r, lang), r.decision_id[:8]]
            row = []
            for c in cells:
                cell = shown(c, style=style)
                cell.no_wrap, cell.overflow = True, "ellipsis"
                row.append(cell)
            table.add_row(*row, key=str(r.seq))
        if self.records:
            table.move_cursor(row=min(cursor, len(self.records) - 1))

    def selected(self) -> audit_service.Record | None:
        table = self.query_one("#log", DataTable)
        if not self.records:
            return None
        return self.records[min(table.cursor_row, len(self.records) - 1)]

    def _out(self, text: str | Text, style: str = "") -> None:
        self.query_one("#audit-out", Static).update(shown(text, style=style) if isinstance(text, str) else text)

    def action_verify(self) -> None:
        """Verify again (the log may have changed since it was read): the chain's report, every record
        that fails marked, the first of them highlighted."""
        if not self.load():
            return
        self.last_output = ("action_verify_show", None)
        self.fill_table()
        self.action_verify_show()
        if self.faults:
            first = min(self.faults)
            idx = next((i for i, r in enumerate(self.records) if r.seq == first), None)
            if idx is not None:
                self.query_one("#log", DataTable).move_cursor(row=idx)

    def action_verify_show(self) -> None:
        lang = self.app.lang
        if self.report is None:
            return
        out = Text()
        out.append(visible_lines(audit_view.verify_text(self.report, lang)).rstrip("\n"), style="bold green" if self.report.intact else "bold red")
        if self.faults:
            out.append("\n" + audit_view.faults_line(self.faults, lang), style="bold red")
        self._out(out)

    # ------------------------------------------------------------ marks

    def _redraw_seq(self, seq: int) -> None:
        table = self.query_one("#log", DataTable)
        key = str(seq)
        if key not in table.rows:
            return
        cell = Text(self._seq_cell(seq), style=FAULT_STYLE if seq in self.faults else "", no_wrap=True, overflow="ellipsis")
        table.update_cell(key, table.ordered_columns[0].key, cell)

    def _redraw_row(self, seq: int) -> None:
        """A record found failing after the table was drawn: its row marked like the others."""
        table = self.query_one("#log", DataTable)
        key = str(seq)
        if key not in table.rows:
            return
        for column, cell in zip(table.ordered_columns, table.get_row(key)):
            text = cell.copy() if isinstance(cell, Text) else Text(str(cell))
            text.stylize(FAULT_STYLE)
            table.update_cell(key, column.key, text)
        self._redraw_seq(seq)

    def action_mark(self) -> None:
        """Mark or unmark the highlighted record for replay (Space)."""
        rec = self.selected()
        if rec is None:
            return
        self.marked ^= {rec.seq}
        self._redraw_seq(rec.seq)
        self.relabel_title()

    def action_mark_all(self) -> None:
        """Mark every record that stands for an engine decision (a renewal of plates holds none)."""
        self.marked = {r.seq for r in self.records if r.kind in REPLAYABLE}
        self.fill_table()
        self.relabel_title()

    def action_unmark_all(self) -> None:
        self.marked = set()
        self.fill_table()
        self.relabel_title()

    def relabel_title(self) -> None:
        lang = self.app.lang
        title = t(lang, "Auditor · the decision log")
        title += " · " + (t(lang, "replay with the recorded pack") if self.pack_mode == "recorded" else t(lang, "replay with the current pack"))
        if self.marked:
            title += " · " + t(lang, "{n} marked", n=len(self.marked))
        if self.faults:
            title += " · " + t(lang, "{n} failing verification", n=len(self.faults))
        self.query_one("#title", Static).update(Text(title, no_wrap=True, overflow="ellipsis"))

    def action_toggle_pack(self) -> None:
        """Replay with the pack each decision recorded (the same result is expected), or with the
        current pack (what today's rules would decide, and which parameter changed it)."""
        self.pack_mode = "current" if self.pack_mode == "recorded" else "recorded"
        self.relabel_title()

    # ------------------------------------------------------------ replay and explain

    def _untrusted(self, seqs) -> Text:
        """A red line for each of these records that fails verification (first, before anything else)."""
        lang = self.app.lang
        out = Text()
        for seq in dict.fromkeys(seqs):
            if seq in self.faults:
                out.append(visible(audit_view.untrusted(seq, self.faults[seq], lang)) + "\n", style="bold red")
        return out

    def _stands_for(self, rec) -> list[int]:
        """The record and the engine decision it was made on (a submission, a review), by sequence
        number, as the table read them."""
        seqs = [rec.seq]
        try:
            ref = rec.body.get("engine_decision") if rec.kind in ("submission", "review") else None
        except LogBroken:  # a body no writer made: the table shows the record, verify names the break
            ref = None
        seqs += [r.seq for r in self.records if ref and r.decision_id == ref]
        return seqs

    def action_replay(self) -> None:
        """Replay the marked records, or else the highlighted one; a review replays its engine
        decision. The per-rule differences are shown."""
        if not self.records:
            self._out(t(self.app.lang, "The log is empty."))
            return
        chosen = [r for r in self.records if r.seq in self.marked] or [self.selected()]
        self._replay([str(r.seq) for r in chosen], [r.seq for r in chosen])
        self.last_output = ("action_replay", None)

    def action_replay_all(self) -> None:
        """Replay every engine decision of the log (``icv-permits audit replay --all``)."""
        if not self.records:
            self._out(t(self.app.lang, "The log is empty."))
            return
        self._replay(None, [])
        self.last_output = ("action_replay_all", None)

    def _replay(self, refs: list[str] | None, chosen: list[int]) -> None:
        lang = self.app.lang
        store = self.app.open_store_or_show()
        if store is None:
            return
        try:  # the same service call as ``icv-permits audit replay SEQ…`` / ``--all``: the same answer
            results = list(audit_service.replay(store, refs, pack_mode=self.pack_mode))
        except InputError as exc:
            self._out(self._untrusted([seq for r in self.records if r.seq in chosen for seq in self._stands_for(r)]) + shown("\n".join(self.app.problem_lines(exc)), style="red"))
            return
        out = self._untrusted(chosen + [r.seq for r in results])
        head, differ, same = audit_view.replay_summary(results, lang)
        out.append(visible(head) + "\n", style="bold green" if not differ else "bold red")
        for line in differ:
            out.append(visible(line) + "\n", style="red")
        if same:
            out.append(visible_lines(same) + "\n", style="green")
        self._out(out)

    def action_explain(self) -> None:
        rec = self.selected()
        store = self.app.open_store_or_show()
        lang = self.app.lang
        if rec is None or store is None:
            self._out(t(lang, "The log is empty."))
            return
        self.last_output = ("action_explain", None)
        warn = self._untrusted(self._stands_for(rec))
        try:  # the same service call as ``icv-permits audit explain SEQ``
            parts = audit_service.explain(store, str(rec.seq))
            text = audit_view.explanation(parts, lang)
        except InputError as exc:
            self._out(warn + shown("\n".join(self.app.problem_lines(exc)), style="red"))
            return
        except Exception as exc:  # noqa: BLE001 - a damaged record: shown, never a crash
            self._out(warn + shown(t(lang, "This record cannot be explained: {error}", error=f"{type(exc).__name__}: {exc}"[:300]), style="red"))
            return
        for p in parts:  # changed since the screen read the log: its own hash tells, at no cost
            if p.record.computed_hash() != p.record.hash and not any(b.problem == "edited" for b in self.faults.get(p.record.seq, [])):
                self.faults.setdefault(p.record.seq, []).append(audit_service.Break(p.record.seq, p.record.decision_id, "edited", {}))
                self._redraw_row(p.record.seq)
                self.relabel_title()
        warn = self._untrusted([rec.seq] + [p.record.seq for p in parts])
        out = Text()
        if warn:
            out.append_text(warn)
            out.append(t(lang, "What the log holds now, shown for the investigation only — not what was decided:") + "\n", style="bold red")
        out.append(visible_lines(text))
        self._out(out)

    @on(Button.Pressed)
    def _button(self, event: Button.Pressed) -> None:
        {"verify": self.action_verify, "replay": self.action_replay, "replay-all": self.action_replay_all,
         "explain": self.action_explain}.get(event.button.id or "", lambda: None)()

    def palette_commands(self):
        lang = self.app.lang
        yield t(lang, "Verify the chain"), self.action_verify
        yield t(lang, "Replay the selection"), self.action_replay
        yield t(lang, "Replay all"), self.action_replay_all
        yield t(lang, "Mark all"), self.action_mark_all
        yield t(lang, "Unmark all"), self.action_unmark_all
        yield t(lang, "Replay with the recorded or the current pack"), self.action_toggle_pack
        yield t(lang, "Explain"), self.action_explain

    def help_intro(self, lang: str) -> Text:
        """F1 with no field focused: what this screen shows and what each key does here."""
        k = lambda key_id: key_of(self.app, key_id).upper().replace("CTRL+", "Ctrl+")
        out = Text()
        out.append(t(lang, "Auditor: the decision log") + "\n", style="bold")
        out.append(t(lang, "Each row is one record of the hash-chained decision log: when it was recorded (local time), its kind, who the "
                           "database says acted (and as whom they claimed to act), the submission, what was decided and the decision ID.") + "\n")
        out.append(t(lang, "The log is verified when this screen opens. A record that fails verification is marked ✗ in red: its content "
                           "does not match its hash, its link to the record before is broken, or the rules it was judged by were changed. "
                           "Explain and replay of such a record say so first: what it holds cannot be trusted.") + "\n", style="red")
        out.append("\n")
        for key_id, msgid in (
            ("auditor.verify", N_("{key}: verify the whole chain again (as `icv-permits audit verify`), and mark every record that fails.")),
            ("auditor.replay", N_("{key}: replay the marked records, or else the highlighted one, with the engine; a submission or a review replays the engine decision it was made on.")),
            ("auditor.replay_all", N_("{key}: replay every engine decision of the log; the count of identical and different ones comes first, then the different ones.")),
            ("auditor.explain", N_("{key}: explain the highlighted record: who, when, what, and the rules of the decision it stands for.")),
            ("auditor.mark", N_("{key}: mark or unmark the highlighted record for replay; the title counts the marked ones.")),
            ("auditor.mark_all", N_("{key}: mark every record that stands for an engine decision.")),
            ("auditor.unmark_all", N_("{key}: unmark all.")),
            ("auditor.pack", N_("{key}: replay with the pack each decision recorded (the same result is expected) or with today's pack (what today's rules would decide).")),
            ("auditor.refresh", N_("{key}: read the log again and verify it.")),
        ):
            out.append(t(lang, msgid, key=k(key_id)) + "\n")
        return out
