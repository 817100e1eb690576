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

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from icv_permits.core.canonical import digest
from icv_permits.core.errors import DEFAULT_PACK, PackError  # noqa: F401 - defined there so the CLI starts without the model
from icv_permits.core.model.application import Activity, Modifiers
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
    locator: str | None = None  # where in what we have it was seen (e.g. "新闻摘要 (seed)")
    quote: str | None = None  # the words seen there, where we have them
    note: Text | None = None


class Source(_M):
    key: str
    title: Text
    issuer: str
    date: Date | None = None
    effective: Date | None = None
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
    messages: dict[str, Text] = {}
    remedy: Text
    remedies: dict[str, Text] = {}  # a remedy for one reason code, where it differs from ``remedy``


class ParamValue(_M):
    effective_from: Date
    value: Any
    citation: Citation
    confidence: Confidence


class ParamDef(_M):
    id: str = Field(pattern=r"^[a-z_]+(\.[a-z0-9_]+)+$")
    title: Text
    unit: str | None = None  # h, km, yuan, month, year, s, vehicle, person…
    kind: Literal["threshold", "window", "table", "list"] = "threshold"
    comparison: Comparison | None = None  # required for a threshold
    values: list[ParamValue] = Field(min_length=1)

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


class PackMeta(_M):
    id: str
    version: str
    title: Text
    description: Text
    extends: str | None = None
    jurisdiction: Text
    activity_implies: dict[Activity, list[Activity]] = {}
    sample_sections_note: Text | None = None


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

    @property
    def id(self) -> str:
        return self.meta.id

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


def build_pack(chain: list[str], content: dict[str, Any], where: str, revision: str | None = None) -> Pack:
    try:
        return Pack.model_validate(
            {
                "meta": content["meta"],
                "chain": chain,
                "sources": content["sources"],
                "rules": content["rules"],
                "common_messages": content["common_messages"],
                "vocabulary": content["vocabulary"],
                "parameters": content["parameters"],
                "sections": content["sections"],
                "revision": revision or revision_of(content),
            }
        )
    except ValidationError as exc:
        lines = [f"{where}: the pack is malformed:"]
        for err in exc.errors()[:20]:
            loc = ".".join(str(p) for p in err["loc"])
            lines.append(f"  {loc}: {err['msg']}")
        raise PackError("\n".join(lines)) from None


def applies(rule: RuleDef, activity: Activity, conditions: frozenset[str], pack: Pack) -> bool:
    """Whether a rule applies to an application of ``activity`` with ``conditions``."""
    acts = {activity, *pack.meta.activity_implies.get(activity, [])}
    if not acts.intersection(rule.applies_to.activities):
        return False
    if any(c not in conditions for c in rule.applies_to.requires):
        return False
    return not any(c in conditions for c in rule.applies_to.unless)


CONDITIONS = frozenset(
    list(Modifiers.model_fields) + ["carries_passengers", "carries_goods", "fee_charged", "connected_remote_control", "on_record"]
)
"""Names a rule's ``requires``/``unless`` may use (checked by ``rules lint``)."""
