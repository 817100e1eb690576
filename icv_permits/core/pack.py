"""Rule packs: the rules as data.

A pack is a folder ``rules/<pack-id>/`` of YAML files:

``pack.yaml``        identity, title, the pack it extends, how activities imply one another
``sources.yaml``     the documents cited (keys such as ``AH-2025``)
``rules.yaml``       the rule catalogue and the messages shared by all rules
``parameters.yaml``  dated parameters: each value has an effective date, a citation and a confidence
``sections.yaml``    the register of open road sections and areas

A pack that ``extends`` another is merged over it: sources, rules, parameters and sections by their
key; a rule entry in the child replaces only the fields it names; a parameter's dated values are
merged by date (the child wins on the same date). The merged pack's content hash (SHA-256 over the
RFC 8785 canonical JSON of its content) is its *revision*: two packs with the same revision decide
alike.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, ValidationInfo, field_validator, model_validator

from icv_permits.core.canonical import digest
from icv_permits.core.errors import DEFAULT_PACK, PackError  # noqa: F401 - defined there so the CLI starts without the model
from icv_permits.core.i18n import N_, t
from icv_permits.core.model.application import Activity, Modifiers, NoticeKind, Province
from icv_permits.core.model.ids import LEGACY_ID_MASK, IdMask
from icv_permits.core.model.types import Date

PACK_FILES = ("pack.yaml", "sources.yaml", "rules.yaml", "parameters.yaml", "sections.yaml")


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_M):
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def __call__(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


class Confidence(StrEnum):
    confirmed = "confirmed"
    national_basis = "national-basis"
    unconfirmed = "unconfirmed"


class Severity(StrEnum):
    blocking = "blocking"
    advisory = "advisory"


class Comparison(StrEnum):
    ge = "ge"  # 不少于
    gt = "gt"  # 超过
    le = "le"  # 不超过
    lt = "lt"  # 少于
    eq = "eq"  # 等于
    in_ = "in"  # 属于
    not_in = "not_in"  # 不属于


class Subject(StrEnum):
    application = "application"
    entity = "entity"
    driver = "driver"
    vehicle = "vehicle"
    section = "section"


class Citation(_M):
    source: str
    article: str | None = None  # e.g. "第十条"; None where the article number is not known yet
    # where in what we have it was seen, in both languages ({zh: 新闻摘要, en: news summary}); a
    # plain string (a pack of one language) is shown as it is in both
    locator: Text | str | None = None

    def where(self, lang: str) -> str | None:
        """The locator in ``lang``."""
        return self.locator(lang) if isinstance(self.locator, Text) else self.locator
    quote: str | None = None  # the words seen there, where we have them
    # the source entry (a news report, a reprint) in which the quote or the rule was read, where that
    # is not the cited document itself: every quote is traceable to an entry with an address
    seen_in: str | None = None
    note: Text | None = None


class Source(_M):
    """A document a citation names. ``issuer`` is who issued the document; ``publisher`` who
    published the copy we read, where that differs (a newspaper, a news site). ``address`` is the
    public web address of that copy; where none is known, ``why`` says why (not found, not public,
    a stored copy only), so that an empty address is never silent."""

    key: str
    title: Text
    issuer: str
    publisher: str | None = None
    date: Date | None = None
    effective: Date | None = None
    address: str | None = Field(default=None, pattern=r"^https?://\S+$")
    why: Text | None = None  # why there is no address
    what_we_have: Text


class Applicability(_M):
    activities: list[Activity] = Field(min_length=1)
    requires: list[str] = []  # application conditions that must all hold (modifiers, carriage…)
    unless: list[str] = []  # conditions any of which makes the rule not apply


class RuleDef(_M):
    id: str = Field(pattern=r"^[A-Z]{3}-\d{2}[a-z]?$")
    title: Text
    requirement: Text
    citation: Citation
    confidence: Confidence
    severity: Severity = Severity.blocking
    applies_to: Applicability
    subject: Subject
    enabled: bool = True
    params: list[str] = []
    fields: list[str] = []  # the application fields it judges (``vehicles[].roof_sign_lamp``); see pack_fields.py
    messages: dict[str, Text] = {}
    remedy: Text
    remedies: dict[str, Text] = {}  # a remedy for one reason code, where it differs from ``remedy``


class ParamValue(_M):
    effective_from: Date
    value: Any
    citation: Citation
    confidence: Confidence


# A number a parameter may hold: whole in these units, and within what a calendar can add (the
# engine adds years, months and days to dates of 1900–2199); other numbers within ±(2^53 − 1).
CALENDAR_LIMITS = {"year": 200, "month": 2400, "day": 73_000, "cycle": 200}
WHOLE_UNITS = frozenset({*CALENDAR_LIMITS, "yuan", "case", "vehicle", "member", "person", "s"})
NUMBER_LIMIT = 2**53 - 1


class ParamDef(_M):
    id: str = Field(pattern=r"^[a-z_]+(\.[a-z0-9_]+)+$")
    title: Text
    unit: str | None = None  # h, km, yuan, month, year, s, vehicle, person…
    kind: Literal["threshold", "window", "table", "list", "switch"] = "threshold"  # switch: true or false
    comparison: Comparison | None = None  # required for a threshold
    values: list[ParamValue] = Field(min_length=1)

    @model_validator(mode="after")
    def _values_fit_the_kind(self, info: ValidationInfo) -> ParamDef:
        """Each dated value is of the shape the engine reads: a number (not negative, whole in
        whole units, within :data:`CALENDAR_LIMITS` for calendar units) for a window or a threshold
        with an ordering comparison, true or false for a switch, a list or a mapping for a
        membership threshold, a table or a list; ``null`` is "not set" for any of them. A value of
        another shape would fail every check that reads it, so a pack folder is refused where it is
        read. Only a pack folder (``check_values`` in the validation context): a pack snapshot in
        the log is the pack a decision used, read back as it was, whatever a later version of this
        tool would say of its values (a replay must be able to use it)."""
        if not (info.context or {}).get("check_values"):
            return self
        membership = self.comparison in (Comparison.in_, Comparison.not_in)
        numeric = self.kind == "window" or (self.comparison is not None and not membership)
        for v in self.values:
            x, where = v.value, f"the value from {v.effective_from.isoformat()}"
            if x is None:
                continue
            if self.kind == "switch":
                if not isinstance(x, bool):
                    raise ValueError(f"{where}: a switch is true or false, not {x!r}")
            elif numeric:
                if isinstance(x, bool) or not isinstance(x, int | float) or x != x or x in (float("inf"), float("-inf")):
                    raise ValueError(f"{where}: a number is needed, not {x!r}")
                limit = CALENDAR_LIMITS.get(self.unit or "", NUMBER_LIMIT)
                if not 0 <= x <= limit:
                    raise ValueError(f"{where}: {x!r} is outside 0–{limit}" + (f" ({self.unit})" if self.unit else ""))
                if self.unit in WHOLE_UNITS and x != int(x):
                    raise ValueError(f"{where}: a whole number is needed (unit: {self.unit}), not {x!r}")
            elif (membership or self.kind in ("table", "list")) and not isinstance(x, list | dict):
                raise ValueError(f"{where}: a list or a mapping is needed, not {x!r}")
        return self

    def at(self, as_of: date) -> ParamValue | None:
        """The value in force on ``as_of`` (the latest whose effective date is not after it)."""
        current = None
        for v in self.values:  # sorted by effective_from when the pack is built
            if v.effective_from <= as_of:
                current = v
            else:
                break
        return current


class SectionKind(StrEnum):
    urban_road = "urban_road"
    area = "area"
    highway = "highway"


class Section(_M):
    id: str
    name: Text
    city: Text
    kind: SectionKind
    length_km: float | None = None
    activities: list[Activity] = Field(min_length=1)
    night: bool = False
    opened: Date
    closed: Date | None = None
    sample: bool = True


NUMBER_FIELDS = ("prefix", "year", "seq")
NUMBER_MAX_LENGTH = 40  # the store's column for notice and plate numbers
SERIES_MAX_LENGTH = 60  # the store's column for the names of serial counters
# serials on which formats are compared: different formats that give the same number for two of
# these (one format's 10 and another's 1 followed by a 0, say) are refused
_SAMPLE_SERIALS = (1, 2, 9, 10, 11, 12, 19, 20, 99, 100, 101, 110, 120, 999, 1000, 1001, 1010, 1100, 9999, 10000, 99999)


def check_number_format(fmt: str) -> str:
    """A notice or plate number format: ``{prefix}``, ``{year}`` and ``{seq}`` (the serial, which may
    carry an integer format such as ``{seq:04d}``); year and serial are required, so numbers of
    different years or serials never coincide. Raises ``ValueError`` saying what is wrong."""
    import string

    try:
        fields = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(fmt) if name is not None]
    except ValueError as exc:
        raise ValueError(f"{fmt!r} is not a valid format: {exc}") from None
    names = [n for n, _, _ in fields]
    for name, spec, conv in fields:
        if name not in NUMBER_FIELDS:
            raise ValueError(f"{fmt!r}: unknown placeholder {{{name}}} (allowed: {{prefix}}, {{year}}, {{seq}})")
        if conv:
            raise ValueError(f"{fmt!r}: no conversion (!{conv}) is allowed in {{{name}}}")
        if name != "seq" and spec:
            raise ValueError(f"{fmt!r}: {{{name}}} takes no format (only {{seq}} does, e.g. {{seq:04d}})")
    for name in ("year", "seq"):
        if name not in names:
            raise ValueError(f"{fmt!r}: the placeholder {{{name}}} is required")
    try:
        sample = fmt.format(prefix="", year=9999, seq=99999)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{fmt!r}: {exc}") from None
    if "{" in sample or "}" in sample or any(ch.isspace() for ch in sample):
        raise ValueError(f"{fmt!r}: a number may contain no braces or spaces")
    return fmt


class Numbering(_M):
    """How the office numbers what it issues (``pack.yaml`` ``numbering``): one format per notice
    kind and one for plates, with ``{prefix}``, ``{year}`` and ``{seq}``. Each distinct format
    (with the year) is its own series of serials."""

    prefix: str = Field(pattern=r"^[A-Za-z0-9-]{1,10}$")
    notice: dict[NoticeKind, str]
    plate: str

    @field_validator("notice")
    @classmethod
    def _notice_formats(cls, v: dict[NoticeKind, str]) -> dict[NoticeKind, str]:
        missing = [k.value for k in NoticeKind if k not in v]
        if missing:
            raise ValueError(f"a number format is needed for every notice kind; missing: {', '.join(missing)}")
        return {k: check_number_format(f) for k, f in v.items()}

    @field_validator("plate")
    @classmethod
    def _plate_format(cls, v: str) -> str:
        return check_number_format(v)

    @model_validator(mode="after")
    def _distinct(self) -> Numbering:
        seen: dict[str, tuple[str, str]] = {}  # a sample number → (what gives it, its format)
        for what, fmt in [*((f"notice.{k.value}", f) for k, f in self.notice.items()), ("plate", self.plate)]:
            if len(self.number(fmt, 9999, 99999)) > NUMBER_MAX_LENGTH:
                raise ValueError(f"{what}: numbers such as {self.number(fmt, 2026, 1)!r} may grow longer than {NUMBER_MAX_LENGTH} characters")
            if len(self.series(fmt, 9999)) > SERIES_MAX_LENGTH:
                raise ValueError(f"{what}: the format is too long (at most {SERIES_MAX_LENGTH - 7} characters)")
            for seq in _SAMPLE_SERIALS:
                sample = self.number(fmt, 2026, seq)
                other = seen.setdefault(sample, (what, fmt))
                # kinds that share one format share one series of serials; different formats must not meet
                if other[1] != fmt or (what == "plate") != (other[0] == "plate"):
                    raise ValueError(f"{other[0]} and {what} give the same number {sample!r}; give them different formats")
        return self

    def series(self, fmt: str, year: int) -> str:
        """The name of the series a number of ``fmt`` issued in ``year`` takes its serial from."""
        return "number:" + fmt.replace("{prefix}", self.prefix).replace("{year}", str(year))

    def number(self, fmt: str, year: int, seq: int) -> str:
        return fmt.format(prefix=self.prefix, year=year, seq=seq)


class IdMaskSpec(_M):
    """How the pack's decisions show a resident ID number (``pack.yaml`` ``id_mask``): its first
    ``head`` characters — at most the 6 of the region code — and its last ``tail`` (0 or 1: the
    check character, which DRV-08 quotes as expected anyway), the rest as ``*``. The birth date and
    the sequence number are always hidden; ``docs/personal-data.md`` has the arithmetic."""

    head: int = Field(ge=0, le=6)
    tail: int = Field(ge=0, le=1)

    @property
    def form(self) -> IdMask:
        return IdMask(self.head, self.tail, self.tail)


class PackMeta(_M):
    id: str
    version: str
    title: Text
    description: Text
    extends: str | None = None
    jurisdiction: Text
    activity_implies: dict[Activity, list[Activity]] = {}
    sample_sections_note: Text | None = None
    # The province whose office applies the pack: its notices are the entity's "home" history
    # (DOP-01/02, PER-01/02, REC-01) and the office records its notices as issued by it. A
    # national pack leaves it unset: the rules that need it are then not evaluated.
    home_province: Province | None = None
    provinces: dict[Province, Text] = {}  # display names; ``{home_province}`` in rule texts uses them
    numbering: Numbering | None = None
    # How its decisions mask ID numbers. A pack without it — every pack snapshot logged before the
    # key existed — masks the old way (``ids.LEGACY_ID_MASK``), so that old decisions replay alike.
    id_mask: IdMaskSpec | None = None

    @field_validator("home_province")
    @classmethod
    def _home(cls, v: Province | None) -> Province | None:
        if v is Province.other:
            raise ValueError("the home province must be a named province, not 'other'")
        return v

    @model_validator(mode="after")
    def _home_named(self) -> PackMeta:
        if self.home_province is not None and self.home_province not in self.provinces:
            raise ValueError(f"home_province {self.home_province.value!r} has no zh/en name under provinces")
        return self


class Pack(_M):
    meta: PackMeta
    chain: list[str]  # this pack and the packs it extends, child first
    sources: dict[str, Source]
    rules: dict[str, RuleDef]
    common_messages: dict[str, Text]
    vocabulary: dict[str, Text]
    parameters: dict[str, ParamDef]
    sections: dict[str, Section]
    revision: str
    # what the revision hashes: the chain and the merged content the pack was built from (set by
    # build_pack; a pack snapshot stores it, so that its revision can be recomputed)
    _source: dict[str, Any] | None = PrivateAttr(default=None)

    @property
    def id(self) -> str:
        return self.meta.id

    @property
    def source(self) -> dict[str, Any] | None:
        """``{"chain", "content"}``: what :func:`build_pack` built this pack from, whose
        :func:`revision_of` is its revision (``None`` for a pack built otherwise)."""
        return self._source

    @property
    def home_province(self) -> Province | None:
        return self.meta.home_province

    @property
    def id_mask(self) -> IdMask:
        """How this pack's decisions show an ID number (``LEGACY_ID_MASK`` when it does not say)."""
        return self.meta.id_mask.form if self.meta.id_mask is not None else LEGACY_ID_MASK

    def home_name(self, lang: str) -> str:
        """The home province's name (``{home_province}`` in rule texts), or a neutral word if unset."""
        home = self.meta.home_province
        if home is None:
            return t(lang, N_("the home province"))
        return self.meta.provinces[home](lang)

    def message(self, rule_id: str, reason: str) -> Text | None:
        rule = self.rules.get(rule_id)
        if rule is not None and reason in rule.messages:
            return rule.messages[reason]
        return self.common_messages.get(reason)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float) and obj.is_integer():
        return int(obj)
    return obj


def revision_of(content: dict[str, Any]) -> str:
    return digest(_jsonable(content))


HOME_PLACEHOLDER = "{home_province}"


def _fill_home(content: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The rules and common messages with ``{home_province}`` replaced by the home province's name
    in each language (``provinces`` in ``pack.yaml``), or by a neutral word where no home province is
    set. Done when the pack is built, so every reader of a rule text sees the name."""
    meta = content["meta"]
    names = meta.get("provinces") if isinstance(meta.get("provinces"), dict) else {}
    name = names.get(meta.get("home_province")) if meta.get("home_province") else None
    by_lang = {lang: (name.get(lang) if isinstance(name, dict) and isinstance(name.get(lang), str) else t(lang, N_("the home province")))
               for lang in ("zh", "en")}

    def fill(value: Any) -> Any:
        if isinstance(value, dict) and set(value) <= {"zh", "en"}:
            return {k: v.replace(HOME_PLACEHOLDER, by_lang[k]) if isinstance(v, str) else v for k, v in value.items()}
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return value

    rules = {rid: {k: fill(v) if k in ("title", "requirement", "messages", "remedy", "remedies") else v for k, v in r.items()}
             if isinstance(r, dict) else r for rid, r in content["rules"].items()}
    return rules, fill(content["common_messages"])


def build_pack(chain: list[str], content: dict[str, Any], where: str, revision: str | None = None, *,
               check_values: bool = False) -> Pack:
    """The pack of ``content``. ``check_values``: a pack folder being read — every parameter value
    must have the shape its rules read (:meth:`ParamDef._values_fit_the_kind`,
    :func:`~icv_permits.core.engine.parameter_shape_problems`); a snapshot from the log is taken as
    it was recorded."""
    rules, common = _fill_home(content)
    try:
        pack = Pack.model_validate(
            {
                "meta": content["meta"],
                "chain": chain,
                "sources": content["sources"],
                "rules": rules,
                "common_messages": common,
                "vocabulary": content["vocabulary"],
                "parameters": content["parameters"],
                "sections": content["sections"],
                "revision": revision or revision_of(content),
            },
            context={"check_values": check_values},
        )
    except ValidationError as exc:
        lines = [f"{where}: the pack is malformed:"]
        for err in exc.errors()[:20]:
            loc = ".".join(str(p) for p in err["loc"])
            lines.append(f"  {loc}: {err['msg']}")
        raise PackError("\n".join(lines)) from None
    from icv_permits.core.engine import parameter_shape_problems  # the checks say what they read (the engine imports this module)

    if check_values and (problems := parameter_shape_problems(pack)):
        raise PackError("\n".join([f"{where}: the pack is malformed:", *(f"  {p}" for p in problems[:20])]))
    pack._source = {"chain": list(chain), "content": _jsonable(content)}
    return pack


def office_pack(pack: Pack) -> Pack:
    """``pack``, if an office can work with it: it names its home province and how it numbers
    notices and plates (a national pack does neither; a province's pack does), and how its
    decisions mask ID numbers (the stand-ins the office stores keep only what that mask shows)."""
    missing = [k for k in ("home_province", "numbering", "id_mask") if getattr(pack.meta, k) is None]
    if missing:
        keys = ", ".join(missing)
        raise PackError(
            f"rule pack {pack.id!r} sets no {keys} in pack.yaml; an office cannot work with it",
            N_("Rule pack “{pack}” sets no {keys} in pack.yaml, so an office cannot work with it; use a province's pack (such as anhui-2025), or one that extends this pack and sets them."),
            pack=pack.id, keys=keys,
        )
    return pack


def applies(rule: RuleDef, activity: Activity, conditions: frozenset[str], pack: Pack) -> bool:
    """Whether a rule applies to an application of ``activity`` with ``conditions``."""
    acts = {activity, *pack.meta.activity_implies.get(activity, [])}
    if not acts.intersection(rule.applies_to.activities):
        return False
    if any(c not in conditions for c in rule.applies_to.requires):
        return False
    return not any(c in conditions for c in rule.applies_to.unless)


OFFICE_PARAMETERS = frozenset({"plate.renewal_window_days"})
"""Parameters the office workflow reads rather than a rule (``rules lint`` counts them as read)."""

CONDITIONS = frozenset(
    list(Modifiers.model_fields) + ["carries_passengers", "carries_goods", "fee_charged", "connected_remote_control", "on_record",
                                      "renewal_verified"]
)
"""Names a rule's ``requires``/``unless`` may use (checked by ``rules lint``)."""
