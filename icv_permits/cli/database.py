"""``db upgrade|status``: the office's database."""

from __future__ import annotations

import json

import typer

from icv_permits.cli import (
    DEFAULT_LANG,
    FmtOpt,
    LangOpt,
    ListFormat,
    echo,
    errors,
    root,
    write_json,
)
from icv_permits.core.i18n import N_
from icv_permits.core.visible import t

TRIGGER_STATES = {"missing": N_("missing from the database"), "disabled": N_("disabled"), "altered": N_("not as the migration made it")}

ROLE_KINDS = {
    "owner": N_("the owner of the tables: it can disable the log's triggers; use it for `db upgrade` and `audit import` only"),
    "superuser": N_("a superuser: it can do anything to the log; use an office login for daily work"),
    "office": N_("an office login: it writes the office tables and appends to the log only through icv_log_append (actor and time set by the server)"),
    "auditor": N_("an auditor login: it can only read"),
    "other": N_("neither the owner nor a member of icv_office or icv_auditor: the database decides what it may do"),
}

GUARANTEES = {
    "sqlite_file_writer": N_("SQLite cannot protect the log from whoever can write the database file: such a person can drop the triggers, rewrite records and re-chain the hashes. Only signed checkpoints kept outside the office (`audit checkpoint`) show a rewrite."),
    "sqlite_actor_os": N_("SQLite has no users: the actor recorded is the operating-system account running icv-permits, as trustworthy as the machine's accounts."),
    "sqlite_time_client": N_("SQLite has no clock of its own: recorded_at is this machine's clock; `audit verify` flags only time going backwards."),
    "pg_no_roles": N_("The roles icv_office and icv_auditor are not set up: everyone works as one role that can disable the triggers. Set them up (`icv-permits db roles`, docs/store.md)."),
    "pg_owner_session": N_("This session owns the log's tables: it could disable the triggers. Daily work belongs to office logins."),
}

db_app = typer.Typer(help="The store's database: upgrade, status, keygen, roles. 数据库：升级、状态、密钥、角色。", no_args_is_help=True)
root.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(lang: LangOpt = DEFAULT_LANG) -> None:
    """Create or migrate the database to this version's schema (Alembic). 创建或升级数据库。"""
    from icv_permits.services import database

    with errors(lang):
        done = database.upgrade()
    echo(t(lang.value, N_("Database {url}: schema {before} → {after}."), url=done.url, before=done.before or "—", after=done.after))
    for p in done.triggers_restored:
        msg = (N_("Restored the trigger {trigger} on {table}, which keeps what the office issued as it was issued (it was {state_text}).")
               if p.guards == "office" else N_("Restored the append-only trigger {trigger} on {table} (it was {state_text})."))
        echo(t(lang.value, msg, trigger=p.trigger, table=p.table, state_text=t(lang.value, TRIGGER_STATES[p.state])))
    if done.head is not None and done.head.state == "restored":
        echo(t(lang.value, N_("Restored the log's head (table log_head), which was missing: the log is empty, so its head is seq 0.")))
    elif done.head is not None:
        echo(t(lang.value, N_("The log's head (table log_head) is missing and the log holds {n} records: NOT restored. The head they had is unknown, and a head made up from the last record left would hide a cut tail. Nothing can be added to the log until it is back: run `icv-permits audit verify` (against your checkpoints) and restore the database from a backup."),
                     n=done.head.records), err=True)
    if done.granted:
        echo(t(lang.value, N_("Granted the roles {roles} their rights on the tables."), roles=", ".join(done.granted)))
    key = done.key
    if key.action == "created":
        echo(t(lang.value, N_("Created the secret key {path} (owner-only, apart from the database). Keep a copy apart from the database and its backups, and use the same key on every workstation of the office: drivers are recognised across submissions by it."), path=str(key.source.path)))
    elif key.action == "moved":
        echo(t(lang.value, N_("Moved the secret key from {old}, beside the database, to {path} (owner-only): a copy of the database's folder no longer holds the key. Remove any other copy of it kept with the database's backups."),
                     old=str(key.moved_from), path=str(key.source.path)))
    elif key.action == "missing":
        echo(t(lang.value, N_("No secret key is configured for this database, and none was created: an office's workstations must all use one key. Make it once with `icv-permits db keygen --out PATH` (a path apart from the database, e.g. a protected share), then on every workstation set {file_env}=PATH, or put the key in {env} (e.g. from a secret manager: `icv-permits db keygen --out -`)."),
                     file_env=personal_env("file"), env=personal_env("key")))
    if key.left is not None:
        echo(t(lang.value, N_("A key file from an older version is still at {path}, beside the database, and is not used: if it holds the key in use, delete it; whoever copies that folder would have it."), path=str(key.left)))
    _key_lines(lang, None if key.action == "missing" else key.source)


def personal_env(which: str) -> str:
    from icv_permits.services import database

    return database.KEY_FILE_ENV if which == "file" else database.KEY_ENV


def _key_lines(lang, source, status=None) -> None:
    """Where the key comes from (never the key)."""
    if source is None:
        return
    if source.kind == "env":
        line = t(lang.value, N_("Secret key: from {env}."), env=personal_env("key"))
    elif source.kind == "file":
        line = (t(lang.value, N_("Secret key: the file {path} (the default place)."), path=str(source.path)) if source.default
                else t(lang.value, N_("Secret key: the file {path} (from {file_env})."), path=str(source.path), file_env=personal_env("file")))
    else:
        line = t(lang.value, N_("Secret key: none ({path} does not exist). Run `icv-permits db upgrade` (default database), or make the office's key with `icv-permits db keygen --out PATH` and set {file_env} or {env}."),
                 path=str(source.path), file_env=personal_env("file"), env=personal_env("key"))
    if status is not None and status.fingerprint:
        line += " " + t(lang.value, N_("Fingerprint {fingerprint}: the same on every workstation of the office."), fingerprint=status.fingerprint)
    echo(line)


@db_app.command("status")
def db_status(lang: LangOpt = DEFAULT_LANG, fmt: FmtOpt = ListFormat.text) -> None:
    """Show which database is used and its schema revision. 显示数据库及其版本。"""
    from icv_permits.services import database

    with errors(lang):
        st = database.status()
    if fmt is ListFormat.json:
        write_json(json.dumps(st.to_json(), ensure_ascii=False, indent=2) + "\n")
    else:
        echo(t(lang.value, N_("Database {url} ({backend}): schema {current}, this version needs {head}."),
                     url=st.url, backend=st.backend, current=st.schema or "—", head=st.head))
        for p in st.triggers:
            msg = (N_("The trigger {trigger} on {table}, which keeps what the office issued as it was issued, is {state_text}: the table can be changed in place without a trace.")
                   if p.guards == "office" else
                   N_("The append-only trigger {trigger} on {table} is {state_text}: the decision log can be changed without a trace."))
            echo(t(lang.value, msg, trigger=p.trigger, table=p.table, state_text=t(lang.value, TRIGGER_STATES[p.state])))
        for table in st.tables_missing:
            echo(t(lang.value, N_("The table {table} is missing: it was dropped behind the migrations' back. Restore the database from a backup; `db upgrade` does not recreate it."), table=table))
        if st.triggers and st.schema_current and not st.tables_missing:
            echo(t(lang.value, N_("Run `icv-permits db upgrade` to restore the triggers.")))
        elif not st.up_to_date and not st.tables_missing:
            echo(t(lang.value, N_("The database is newer than this icv-permits: upgrade icv-permits.")) if st.newer_than_this_version
                       else t(lang.value, N_("Run `icv-permits db upgrade` to bring it up to date.")))
        if st.standing is not None:
            echo(t(lang.value, N_("Connected as {user}: {kind_text}."), user=st.standing.user, kind_text=t(lang.value, ROLE_KINDS[st.standing.kind])))
        if st.guarantees:
            echo(t(lang.value, N_("What this database cannot guarantee:")))
            for code in st.guarantees:
                echo("- " + t(lang.value, GUARANTEES[code]))
        if st.key is not None:
            _key_lines(lang, st.key.source, st.key)
            if st.key.problem == "beside_database":
                echo(t(lang.value, N_("The secret key is in the folder of the database: it is refused there. Move it elsewhere (the default place is {default}) and point {file_env} at it."),
                             default=str(default_key_path()), file_env=personal_env("file")))
            elif st.key.problem == "unreadable":
                echo(t(lang.value, N_("The secret key cannot be read or is malformed: submissions are refused until it is fixed.")))
            if st.key.legacy is not None:
                echo(t(lang.value, N_("A key file from an older version is at {path}, beside the database: run `icv-permits db upgrade` to move it, or delete it if it is a copy."), path=str(st.key.legacy)))
    raise typer.Exit(0 if st.up_to_date else 2)


def default_key_path():
    from icv_permits.services import database

    return database.default_key_file()


@db_app.command("keygen")
def db_keygen(out: str = typer.Option(..., "--out", help="Where to write the new key (a path apart from the database), or - to print it for a secret manager. 新密钥的保存位置，或 - 输出。"),
              lang: LangOpt = DEFAULT_LANG) -> None:
    """Make a new office key (32 random bytes) for every workstation of an office to use. 生成办公室密钥。"""
    from icv_permits.services import database

    with errors(lang):
        made = database.keygen(out)
    if isinstance(made, str):
        echo(made)
        return
    echo(t(lang.value, N_("Created the office key {path} (owner-only). Give every workstation of the office this key: {file_env}={path} with a copy of the file kept apart from the database, or its content in {env}. Keep a copy apart from the database and its backups: without it, drivers on record are no longer recognised."),
                 path=str(made), file_env=personal_env("file"), env=personal_env("key")), err=False)


@db_app.command("roles")
def db_roles(schema: str = typer.Option("public", "--schema", help="The schema holding the tables. 表所在的模式。"),
             grants: bool = typer.Option(False, "--grants", help="Print the grants `db upgrade` applies instead. 改为输出 db upgrade 授予的权限。")) -> None:
    """Print the SQL that sets up an office's PostgreSQL roles (owner, office, auditor). 输出 PostgreSQL 角色设置 SQL。"""
    from icv_permits.services import database

    echo(database.roles_sql(schema, grants=grants), nl=False)
