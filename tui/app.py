"""The terminal app: ``icv-permits tui [FILE] [--mode …] [--lang zh|en]``.

One mode per role — applicant, regulator, auditor — over the same service layer as the CLI.
The app holds the applicant's draft (a plain dict, the application document) and the last
check; screens hold no business logic. See docs/tui.md.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Provider
from textual.containers import Vertical
from textual.content import Content
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Button, Static
from rich.text import Text

from icv_permits.core.errors import InputError
from icv_permits.core.i18n import N_
from icv_permits.core.visible import visible_lines

# The first screen needs none of the model, engine or store: they are imported when first used
# (and warmed up in a background thread once the first screen is shown), which keeps the time to
# the first screen within its goal (docs/benchmarks.md).
DEFAULT_PACK = "anhui-2025"  # = icv_permits.core.pack.DEFAULT_PACK (tests/test_tui.py checks)


class _Lazy:
    def __init__(self, module: str):
        self._module = module

    def __getattr__(self, name: str):
        import importlib

        return getattr(importlib.import_module(self._module), name)


drafts = _Lazy("icv_permits.services.drafts")


def load_pack(pack_id: str):
    from icv_permits.services.packs import load

    return load(pack_id)


def check_application(*args, **kwargs):
    from icv_permits.services.precheck import check_application as _check

    return _check(*args, **kwargs)

if TYPE_CHECKING:  # annotations only: the first screen imports neither
    from icv_permits.core.pack import Pack
    from icv_permits.services.clock import Clock

from .common import (
    APP_KEYS,
    HelpScreen,
    KeyBar,
    bindings,
    help_text,
    load_keymap,
    problem_text,
    t,
)

MODES = ("applicant", "regulator", "auditor")
MODE_LABELS = {
    "applicant": N_("Applicant: prepare and pre-check an application"),
    "regulator": N_("Regulator: review submissions and decide"),
    "auditor": N_("Auditor: verify, replay and explain the log"),
}

MODE_HELP = {
    "applicant": N_("Fill in an application step by step, in Chinese or English; each answer is checked as you type, and each "
                    "failing rule is shown at its field with its article and what to do. Save a draft, open it again, and export the "
                    "finished application for submission."),
    "regulator": N_("The queue of submissions under review: open one, re-check it against the rules, approve, return for "
                    "correction or reject with a reason; notices expiring within 30 days and their plates; an entity's history."),
    "auditor": N_("The decision log: verify its hash chain, replay decisions with the pack they recorded or the current one, and "
                  "explain a decision from the log alone."),
}

SYSTEM_COMMANDS = (  # Textual's palette commands (textual.app.App.get_system_commands), for translation
    N_("Theme"), N_("Change the current theme"), N_("Quit"), N_("Quit the application as soon as possible"), N_("Keys"),
    N_("Hide the keys and widget help panel"), N_("Show help for the focused widget and a summary of available keys"),
    N_("Minimize"), N_("Minimize the widget and restore to normal size"), N_("Maximize"), N_("Maximize the focused widget"),
    N_("Screenshot"), N_("Save an SVG 'screenshot' of the current screen"), N_("Bell"), N_("Ring the bell"),
)
DEBOUNCE_SECONDS = 0.2


class ModeScreen(Screen):
    KEYS = ()
    BINDINGS = [Binding("down", "app.focus_next", show=False), Binding("up", "app.focus_previous", show=False)]
    def compose(self) -> ComposeResult:
        with Vertical(id="modes"):
            yield Static("", id="modes-title", classes="title")
            yield Button("", id="mode-applicant", variant="primary")
            yield Button("", id="mode-regulator")
            yield Button("", id="mode-auditor")
            yield Static("", id="modes-hint")
        yield KeyBar(())

    def on_mount(self) -> None:
        self.relabel()
        self.query_one("#mode-applicant", Button).focus()

    def relabel(self) -> None:
        lang = self.app.lang
        self.query_one("#modes-title", Static).update(t(lang, "icv-permits — choose a mode"))
        for mode in MODES:
            self.query_one(f"#mode-{mode}", Button).label = t(lang, MODE_LABELS[mode])
        self.query_one("#modes-hint", Static).update(t(lang, "F2 switches between Chinese and English; F1 shows help; Ctrl+P the command palette."))
        self.query_one(KeyBar).relabel()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.app.switch_mode_to((event.button.id or "").removeprefix("mode-"))

    def help_intro(self, lang: str) -> Text:
        """F1 on the mode choice: what each mode is for."""
        out = Text()
        out.append(t(lang, "icv-permits — choose a mode") + "\n\n", style="bold")
        for mode in MODES:
            out.append(t(lang, MODE_LABELS[mode]) + "\n", style="bold cyan")
            out.append(t(lang, MODE_HELP[mode]) + "\n\n")
        out.append(t(lang, "Tab or the arrow keys move between the modes; Enter opens one. F3 comes back here from any mode.") + "\n")
        return out


class LoadingScreen(Screen):
    """The first screen of a mode while its code loads."""

    def __init__(self, mode: str):
        super().__init__()
        self.mode = mode

    def compose(self) -> ComposeResult:
        lang = self.app.lang
        with Vertical(id="modes"):
            yield Static(t(lang, "icv-permits — choose a mode"), id="modes-title", classes="title")
            yield Static(t(lang, "Opening: {what}…", what=t(lang, MODE_LABELS[self.mode])), id="modes-hint")
        yield KeyBar(())


class Commands(Provider):
    """The command palette: modes, language, help, and the current screen's commands."""

    def _commands(self):
        app = self.app
        lang = app.lang
        out = [(t(lang, "Mode: applicant"), lambda: app.switch_mode_to("applicant")),
               (t(lang, "Mode: regulator"), lambda: app.switch_mode_to("regulator")),
               (t(lang, "Mode: auditor"), lambda: app.switch_mode_to("auditor")),
               (t(lang, "Switch language (中/EN)"), app.action_toggle_language),
               (t(lang, "Help for the focused field"), app.action_help)]
        screen = self.screen  # the screen the palette was opened from (app.screen is the palette)
        if hasattr(screen, "palette_commands"):
            out.extend(screen.palette_commands())
        return out

    async def discover(self):
        for title, cb in self._commands():
            yield DiscoveryHit(Content(title), cb, text=title)

    async def search(self, query: str):
        matcher = self.matcher(query)
        for title, cb in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, _highlight(matcher, title), cb, text=title)


def _highlight(matcher, title: str) -> Content:
    """``matcher.highlight(title)`` without reading ``title`` as markup: a command's title may hold
    an entity's name (its values are made visible by ``t``; brackets in it are shown as typed)."""
    content = Content(title)
    _score, offsets = matcher.fuzzy_search.match(matcher.query, title)
    for offset in offsets:
        if not title[offset].isspace():
            content = content.stylize(matcher.match_style, offset, offset + 1)
    return content


class ICVApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "icv-permits"
    BINDINGS = bindings(APP_KEYS)
    COMMANDS = App.COMMANDS | {Commands}

    def __init__(self, *, file: Path | None = None, mode: str | None = None, lang: str = "zh", clock: Clock | None = None,
                 as_of: dt.date | None = None, store_url: str | None = None, pack: str = DEFAULT_PACK, keymap_file: Path | None = None,
                 actor: str | None = None):
        super().__init__()
        self.lang = lang if lang in ("zh", "en") else "zh"
        if clock is None:
            from icv_permits.services.clock import SystemClock

            clock = SystemClock()
        self.clock = clock
        self.as_of = as_of
        self.store_url = store_url
        self.pack_id = pack
        self.start_file = file
        self.start_mode = mode if mode in MODES else ("applicant" if file else None)
        self.keymap_file = keymap_file
        self.keymap: dict[str, str] = {}
        self._actor = actor
        self.draft: dict[str, Any] = {}
        self.draft_name: str | None = None
        self.saved_draft: dict[str, Any] = {}  # the draft as last opened or saved (what "modified" compares with)
        self.status: drafts.DraftStatus | None = None
        self.result = None
        self.check_error: str | None = None
        self._timer: Timer | None = None
        self._store = None
        self._packs: dict[str, Pack] = {}
        self.checks = 0  # how many checks ran (tests and the benchmark wait on it)

    # ------------------------------------------------------------ services

    @property
    def actor(self) -> str:
        """Who decides and saves (``ICV_PERMITS_ACTOR`` or the user name), looked up when first
        needed: the workflow module it lives in loads the store."""
        if self._actor is None:
            from icv_permits.services.office import default_actor

            self._actor = default_actor()
        return self._actor

    def pack(self, pack_id: str | None = None) -> Pack:
        pid = pack_id or self.pack_id
        if pid not in self._packs:
            self._packs[pid] = load_pack(pid)
        return self._packs[pid]

    def open_store(self):
        if self._store is None:
            from icv_permits.services.database import open_store

            self._store = open_store(self.store_url)
        return self._store

    def open_store_or_show(self):
        try:
            return self.open_store()
        except InputError as exc:
            self.show_error(exc)
            return None

    def problem_lines(self, exc: InputError) -> list[str]:
        """The problems in the app's language; a location that is a command-line option (``--reason``)
        means nothing here and is left out."""
        return [problem_text(p, self.lang, with_location=not (p.location or "").startswith("--")) for p in exc.problems]

    def show_error(self, exc: InputError) -> None:
        self.notify("\n".join(self.problem_lines(exc))[:1000], severity="error", timeout=8)

    def notify(self, message: str, *, title: str = "", severity="information", timeout: float | None = None, markup: bool = False) -> None:
        """Textual's toast, but its message is never read as markup (it may hold a file name or a
        problem's value) and each of its lines is made visible."""
        super().notify(visible_lines(message), title=visible_lines(title), severity=severity, timeout=timeout, markup=markup)

    # ------------------------------------------------------------ start

    def _warm_up(self) -> None:
        """Import the model, engine and store while the first screen is shown."""
        import icv_permits.services.drafts  # noqa: F401
        import icv_permits.services.precheck  # noqa: F401

    def on_mount(self) -> None:
        if not self.start_mode:
            # while the user chooses a mode; after the first paint, which the import would slow down
            self.set_timer(0.3, lambda: self.run_worker(self._warm_up, thread=True, group="warm-up"))
        self.keymap, problems = load_keymap(self.keymap_file)
        if self.keymap:
            self.set_keymap(self.keymap)
        for p in problems:
            self.notify(t(self.lang, "Key file: unknown binding id or bad value: {what}", what=p), severity="warning", timeout=8)
        if self.start_mode:
            self.switch_mode_to(self.start_mode)
        else:
            self.push_screen(ModeScreen())

    def switch_mode_to(self, mode: str) -> None:
        """Open a mode's screen. The first time, its code (the model and engine for the applicant;
        the store and the log for the others: 0.3–0.7 s of imports) is loaded after a first screen
        saying so has been drawn, so the app answers at once (docs/benchmarks.md)."""
        if mode not in MODES:
            return
        module = f"{__package__}.{mode}"
        if module in sys.modules:
            self._switch_now(mode)
            return
        self._pop_to_base()
        self.push_screen(LoadingScreen(mode))
        self.call_after_refresh(self._switch_now, mode)

    def _pop_to_base(self) -> None:
        while len(self.screen_stack) > 1:
            self.pop_screen()

    def _switch_now(self, mode: str) -> None:
        if mode == "applicant":  # the applicant's screen needs neither the store nor the log
            from .applicant import ApplicantScreen as screen

            if self.start_file is not None:
                start, self.start_file = self.start_file, None
                self.open_draft(str(start), show=False)
        elif mode == "regulator":
            from .regulator import RegulatorScreen as screen
        else:
            from .auditor import AuditorScreen as screen
        self._pop_to_base()
        self.push_screen(screen())

    def action_choose_mode(self) -> None:
        def choose() -> None:
            self._pop_to_base()
            self.push_screen(ModeScreen())

        self.unless_unsaved(choose)

    # ------------------------------------------------------------ no silent loss

    @property
    def modified(self) -> bool:
        """Whether the draft differs from what was last opened or saved (an answer typed and then
        typed back is no change)."""
        return self.draft != self.saved_draft

    def _in_applicant(self) -> bool:
        return any(type(s).__name__ == "ApplicantScreen" for s in self.screen_stack)

    def unless_unsaved(self, then) -> None:
        """Run ``then`` at once when nothing would be lost; else ask first: save (then go on when
        saved), discard, or cancel."""
        if not self.modified or not self._in_applicant():
            then()
            return
        from .applicant import unsaved_question

        def answered(answer: str | None) -> None:
            if answer == "discard":
                import copy

                self.draft = copy.deepcopy(self.saved_draft)  # back to what was opened or saved
                then()
            elif answer == "save":
                self.ask_save_path(lambda saved: saved and then())

        self.push_screen(unsaved_question(self), answered)

    def ask_save_path(self, after=None) -> None:
        """Ask where to save the draft (a YAML file, or ``store:NAME``) and save it there;
        ``after(saved)`` is told whether it was saved."""
        from .applicant import PromptScreen

        def done(answer: str | None) -> None:
            saved = bool(answer) and self.save_draft(answer)
            if after is not None:
                after(saved)

        self.push_screen(PromptScreen(t(self.lang, "Save the draft to (a YAML file, or store:NAME)"), self.draft_name or "draft.yaml"), done)

    def save_draft(self, where: str) -> bool:
        import copy

        lang = self.lang
        try:
            if where.startswith("store:"):
                saved = drafts.save_to_store(self.open_store(), where[6:], self.draft, actor=self.actor, clock=self.clock)
                self.notify(t(lang, "Saved to the store as {name}; ID and phone numbers are not kept there.", name=saved.name))
            else:
                drafts.save_yaml(self.draft, Path(where).expanduser())
                self.notify(t(lang, "Draft saved to {path}", path=where))
        except InputError as exc:
            self.show_error(exc)
            return False
        self.draft_name = where
        self.saved_draft = copy.deepcopy(self.draft)
        return True

    async def action_quit(self) -> None:
        """Ctrl+Q: quit, but ask first when the draft has changes not saved."""
        self.unless_unsaved(self.exit)

    # ------------------------------------------------------------ the draft

    def open_draft(self, where: str, show: bool = True) -> bool:
        try:
            if where.startswith("store:"):
                stored = drafts.open_from_store(self.open_store(), where[6:])
                doc = stored.document
                if stored.removed:
                    from .fields import path_label

                    self.notify(t(self.lang, "Opened from the store: enter again {fields}", fields=", ".join(path_label(p, stored.document, self.lang) for p in stored.removed)), timeout=8)
            else:
                doc = drafts.open_yaml(Path(where).expanduser())
        except InputError as exc:
            self.show_error(exc)
            return False
        import copy

        self.draft = doc
        self.draft_name = where
        self.saved_draft = copy.deepcopy(doc)
        if show and hasattr(self.screen, "show_step"):
            self.screen.own_problems = {}
            self.screen.call_later(self.screen.show_step, 0)
            self.screen.call_later(self.screen.focus_first)  # typing goes to the first field of the draft opened
        self.schedule_check()
        return True

    def schedule_check(self) -> None:
        """Check again after a pause in typing (debounced)."""
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE_SECONDS, self.run_check)

    def run_check(self) -> None:
        self._timer = None
        self.check_now()
        if not self.screen_stack:  # the app is closing
            return
        screen = self.screen
        if hasattr(screen, "show_findings") and screen.is_attached and self.is_running:
            try:
                screen.refresh_problems()
                screen.show_findings()
            except NoMatches:  # the app closed while the check ran: its widgets are already gone
                return

    def check_now(self) -> None:
        """Validate the draft; when it validates, run the same check as ``icv-permits check``."""
        self.check_error = None
        self.status = drafts.validate_draft(self.draft)
        self.result = None
        if self.status.application is not None:
            try:
                base = Path(self.draft_name).expanduser().parent if self.draft_name and not self.draft_name.startswith("store:") else None
                self.result = check_application(self.status.application, pack=self.pack(), as_of=self.as_of, clock=self.clock,
                                                base_dir=base)
            except InputError as exc:
                self.check_error = "\n".join(self.problem_lines(exc))
        self.checks += 1

    # ------------------------------------------------------------ comfort

    def get_system_commands(self, screen: Screen):
        """Textual's own palette commands, in the app's language (their English titles are msgids
        of the ``tui`` catalogue, listed in ``SYSTEM_COMMANDS``)."""
        from textual.app import SystemCommand

        for cmd in super().get_system_commands(screen):
            yield SystemCommand(t(self.lang, cmd.title), t(self.lang, cmd.help), cmd.callback, cmd.discover)

    def action_command_palette(self) -> None:
        from textual.command import CommandPalette

        if self.use_command_palette and not CommandPalette.is_open(self):
            self.push_screen(CommandPalette(id="--command-palette", placeholder=t(self.lang, "Search for commands…")))

    async def action_toggle_language(self) -> None:
        self.lang = "en" if self.lang == "zh" else "zh"
        for screen in self.screen_stack:
            if hasattr(screen, "relabel"):
                result = screen.relabel()
                if result is not None:
                    await result

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):  # F1 again closes it
            self.pop_screen()
            return
        focused = self.focused
        path = getattr(focused, "path", None) or None
        self.push_screen(HelpScreen(help_text(self, path), path))


def run(file: Path | None = None, mode: str | None = None, lang: str = "zh") -> int:
    """Run the app; the exit code of ``icv-permits tui``."""
    app = ICVApp(file=file, mode=mode, lang=lang)
    app.run()
    return app.return_code or 0
