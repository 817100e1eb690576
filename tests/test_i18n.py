"""The gettext catalogues: complete, placeholders intact, compiled .mo files in sync with the .po."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from icv_permits.core.i18n import DOMAINS, LOCALE_DIR, t

PKG = Path(__file__).resolve().parent.parent / "icv_permits"
# which source files hold the msgids of each domain
SOURCES = {
    "report": ["present/report.py", "core/labels.py", "core/code_labels.py", "cli/__init__.py", "cli/check.py", "cli/rules.py", "cli/database.py", "cli/office.py", "cli/audit.py", "present/rules.py", "core/pack.py", "present/office.py", "present/audit.py"],
    "tui": ["services/drafts.py", "../tui/app.py", "../tui/applicant.py", "../tui/regulator.py", "../tui/auditor.py", "../tui/common.py", "../tui/fields.py", "../tui/choices.py", "../tui/at_field.py"],
    "input": ["core/errors.py", "core/labels.py", "adapters/settings.py", "adapters/store/records.py", "adapters/documents.py", "services/precheck.py", "adapters/evidence.py", "core/model/types.py",
              "core/model/application.py", "services/office.py", "adapters/store/db.py", "adapters/store/personal.py", "services/audit.py",
              "core/checkpoint.py", "core/log.py", "adapters/signing.py", "services/database.py", "core/log_shape.py", "services/rules.py",
              "adapters/store/migrations/versions/0006_one_under_review.py"],
}
KEYWORDS = {"N_": None, "t": (2,)}


def _po(domain: str):
    with open(LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / f"{domain}.po", "rb") as fh:
        return read_po(fh)


def _msgids(domain: str) -> set[str]:
    ids: set[str] = set()
    for rel in SOURCES[domain]:
        for _lineno, message, _comments, _context in extract_from_file("python", PKG / rel, keywords=KEYWORDS):
            if isinstance(message, tuple):
                message = message[0]
            if message:
                ids.add(message)
    return ids


def _fields(text: str) -> set[str]:
    """Named placeholders; phrase translations (libyaml's messages) may hold lone braces."""
    return set(re.findall(r"\{(\w+)\}", text))


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_marked_string_is_translated(domain: str) -> None:
    catalog = _po(domain)
    missing = sorted(m for m in _msgids(domain) if not (catalog.get(m) and catalog.get(m).string))
    assert not missing, f"untranslated in {domain}.po: {missing}"


@pytest.mark.parametrize("domain", DOMAINS)
def test_translations_keep_their_placeholders(domain: str) -> None:
    bad = [
        (m.id, m.string)
        for m in _po(domain)
        if m.id and m.string and _fields(m.id) != _fields(m.string)
    ]
    assert not bad


@pytest.mark.parametrize("domain", DOMAINS)
def test_compiled_catalogue_matches_source(domain: str) -> None:
    with open(LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / f"{domain}.mo", "rb") as fh:
        compiled = read_mo(fh)
    source = {m.id: m.string for m in _po(domain) if m.id}
    built = {m.id: m.string for m in compiled if m.id}
    assert built == source, f"run: pybabel compile -d icv_permits/locale -D {domain} -l zh_CN"


def test_translation_is_applied_at_display_time() -> None:
    assert t("zh", "COMPLIANT") == "符合要求"
    assert t("en", "COMPLIANT") == "COMPLIANT"
    assert t("zh", "Rule pack {pack} (revision {revision})", pack="p", revision="r") == "规则包 p（修订 r）"


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError):
        t("fr", "COMPLIANT")
