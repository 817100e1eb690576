"""Display-time translation of interface strings (gettext catalogues, compiled with Babel).

Interface strings are written in English (the msgid) and translated to Chinese in
``locale/zh_CN/LC_MESSAGES/<domain>.po``. The compiled ``.mo`` files are committed next to
them; ``tests/test_i18n.py`` proves the two agree and that every marked string is translated.
Recompile after editing a ``.po`` file with::

    pybabel compile -d icv_permits/locale -D <domain> -l zh_CN

Rule messages are not here: they live in the rule packs (``rules/<pack>/rules.yaml``) so that a
pack maintainer can fix a wording without touching code.
"""

from __future__ import annotations

import gettext
from functools import lru_cache
from importlib.resources import files
from typing import Literal

Lang = Literal["zh", "en"]
LANGS: tuple[str, ...] = ("zh", "en")
LOCALE_DIR = files("icv_permits") / "locale"  # a Traversable: the package's own catalogues
DOMAINS: tuple[str, ...] = ("report", "input", "tui")
_GETTEXT_LOCALE = {"zh": "zh_CN"}


def N_(msgid: str) -> str:
    """Mark a string for extraction without translating it now."""
    return msgid


@lru_cache(maxsize=None)
def translations(lang: str, domain: str) -> gettext.NullTranslations:
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; expected one of {', '.join(LANGS)}")
    if lang == "en":
        return gettext.NullTranslations()
    return gettext.translation(domain, str(LOCALE_DIR), languages=[_GETTEXT_LOCALE[lang]])


def t(lang: str, msgid: str, domain: str = "report", /, **params: object) -> str:
    """Translate ``msgid`` into ``lang`` and fill its ``{named}`` placeholders."""
    text = translations(lang, domain).gettext(msgid)
    return text.format(**params) if params else text
