"""``db upgrade|status``: the office's database."""

from __future__ import annotations

import json
import sys

import typer

from icv_permits.cli import DEFAULT_LANG, FmtOpt, LangOpt, ListFormat, app, errors
from icv_permits.core.i18n import N_, t

TRIGGER_STATES = {"missing": N_("missing from the database"), "disabled": N_("disabled"), "altered": N_("not as the migration made it")}

db_app = typer.Typer(help="The store's database: upgrade, status. 数据库：升级、状态。", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(lang: LangOpt = DEFAULT_LANG) -> None:
    """Create or migrate the database to this version's schema (Alembic). 创建或升级数据库。"""
    from icv_permits.services import database

    with errors(lang):
        done = database.upgrade()
    typer.echo(t(lang.value, N_("Database {url}: schema {before} → {after}."), url=done.url, before=done.before or "—", after=done.after))
    for p in done.triggers_restored:
        typer.echo(t(lang.value, N_("Restored the append-only trigger {trigger} on {table} (it was {state_text})."), trigger=p.trigger, table=p.table,
                     state_text=t(lang.value, TRIGGER_STATES[p.state])))
    if done.key_created:
        typer.echo(t(lang.value, N_("Created the secret key {path} (owner-only). Keep a copy, and use the same key on every workstation of the office: drivers are recognised across submissions by it."), path=str(done.key_created)))


@db_app.command("status")
def db_status(lang: LangOpt = DEFAULT_LANG, fmt: FmtOpt = ListFormat.text) -> None:
    """Show which database is used and its schema revision. 显示数据库及其版本。"""
    from icv_permits.services import database

    with errors(lang):
        st = database.status()
    if fmt is ListFormat.json:
        sys.stdout.write(json.dumps(st.to_json(), ensure_ascii=False, indent=2) + "\n")
    else:
        typer.echo(t(lang.value, N_("Database {url} ({backend}): schema {current}, this version needs {head}."),
                     url=st.url, backend=st.backend, current=st.schema or "—", head=st.head))
        for p in st.triggers:
            typer.echo(t(lang.value, N_("The append-only trigger {trigger} on {table} is {state_text}: the decision log can be changed without a trace."),
                         trigger=p.trigger, table=p.table, state_text=t(lang.value, TRIGGER_STATES[p.state])))
        if st.triggers and st.schema_current:
            typer.echo(t(lang.value, N_("Run `icv-permits db upgrade` to restore the triggers.")))
        elif not st.up_to_date:
            typer.echo(t(lang.value, N_("The database is newer than this icv-permits: upgrade icv-permits.")) if st.newer_than_this_version
                       else t(lang.value, N_("Run `icv-permits db upgrade` to bring it up to date.")))
    raise typer.Exit(0 if st.up_to_date else 2)
