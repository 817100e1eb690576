"""One submission under review per entity and application ID.

A partial unique index on ``submission (entity_id, application_id)`` over the rows under review
with an application id: the database's own guard behind the entity lock that ``submit`` takes
(``records.lock_parties``), on SQLite and PostgreSQL alike.

A store written before could hold two submissions under review for one application (two clerks
importing the same file at once on PostgreSQL). The index cannot be built over them, and which one
should stay is a regulator's decision, not the migration's: the upgrade then stops (exit 5) and
names each application with its submissions, and nothing is changed — the database stays at its
revision. Decide all but one of each (return or reject, with the icv-permits version that wrote
them), then run ``icv-permits db upgrade`` again.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

from icv_permits.adapters.store.db import Conflict
from icv_permits.core.errors import Problem
from icv_permits.core.i18n import N_

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

INDEX = 'uq_submission_one_under_review'  # tables.ONE_UNDER_REVIEW, as of this revision
WHERE = "state = 'under_review' AND application_id IS NOT NULL"
SHOWN = 20  # applications named in the message at most


def _duplicates(conn) -> list[tuple[str, str, list[int]]]:
    """(credit code, application id, submission ids) of each application with more than one
    submission under review."""
    rows = conn.execute(sa.text(
        "SELECT e.credit_code, s.application_id, s.id FROM submission s JOIN entity e ON e.id = s.entity_id "
        "WHERE s.state = 'under_review' AND s.application_id IS NOT NULL AND EXISTS ("
        " SELECT 1 FROM submission o WHERE o.entity_id = s.entity_id AND o.application_id = s.application_id"
        " AND o.state = 'under_review' AND o.id <> s.id) "
        "ORDER BY e.credit_code, s.application_id, s.id")).all()
    found: dict[tuple[str, str], list[int]] = {}
    for code, ref, sub_id in rows:
        found.setdefault((code, ref), []).append(sub_id)
    return [(code, ref, ids) for (code, ref), ids in found.items()]


def _refuse(conn, duplicates) -> Conflict:
    listed = "; ".join(f"{code} {ref}: {', '.join(str(i) for i in ids)}" for code, ref, ids in duplicates[:SHOWN])
    if len(duplicates) > SHOWN:
        listed += "; …"
    where = conn.engine.url.render_as_string(hide_password=True)
    return Conflict([Problem(where, N_("applications with more than one submission under review: {count} (credit code, application id: "
                               "submissions — {submissions}). Schema 0006 allows one per application, so nothing was changed: "
                               "return or reject all but one of each with the icv-permits version that wrote them, then run "
                               "`icv-permits db upgrade` again"),
                             {"count": len(duplicates), "submissions": listed}, "several_under_review")])


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        # no submission can be written between the check and the index (SHARE: the lock that
        # CREATE INDEX takes anyway, taken before the check)
        op.execute("LOCK TABLE submission IN SHARE MODE")
    duplicates = _duplicates(conn)
    if duplicates:
        raise _refuse(conn, duplicates)
    try:
        op.create_index(INDEX, 'submission', ['entity_id', 'application_id'], unique=True,
                        sqlite_where=sa.text(WHERE), postgresql_where=sa.text(WHERE))
    except sa.exc.IntegrityError:
        # SQLite: a submission written between the check and the index (PostgreSQL holds the lock)
        raise _refuse(conn, _duplicates(conn)) from None


def downgrade() -> None:
    op.drop_index(INDEX, table_name='submission')
