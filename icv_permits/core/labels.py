"""The words for the office's and the log's codes, defined once: states, notice statuses, actions,
activities, verdicts and log record kinds. Each is an English msgid (gettext domain ``report``, also
in ``input`` where a problem message names it as a ``*_text`` value); views translate them when
they show them."""

from __future__ import annotations

from icv_permits.core.i18n import N_

STATES = {
    "under_review": N_("under review"),
    "returned": N_("returned for correction"),
    "approved": N_("approved"),
    "rejected": N_("rejected"),
}
"""A submission's state."""

NOTICE_STATUSES = {"active": N_("issued"), "superseded": N_("superseded"), "revoked": N_("revoked")}

ACTIONS = {"approve": N_("approve"), "return": N_("return for correction"), "reject": N_("reject")}
"""A regulator's decision."""

ACTIVITIES = {
    "road_test": N_("road test"),
    "demonstration_application": N_("demonstration application"),
    "demonstration_operation": N_("demonstration operation"),
}

VERDICT_WORDS = {"compliant": N_("compliant"), "non_compliant": N_("non-compliant"), "incomplete": N_("incomplete")}
"""A verdict as a word inside a sentence (reports head with their own capitalised form)."""

RECORD_KINDS = {
    "engine_decision": N_("engine decision"),
    "submission": N_("submission"),
    "review": N_("regulator's decision"),
    "plates_renewed": N_("plates renewed"),
}
"""The kinds of decision-log record."""


def label(table: dict[str, str], code: str | None) -> str:
    """The msgid for ``code`` in ``table``, or the code itself when the table does not know it."""
    return table.get(code, code) if code is not None else "—"
