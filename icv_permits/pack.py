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

import hashlib
import json
import os
from datetime import date
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import rfc8785
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import DEFAULT_PACK, PackError  # noqa: F401 - defined there so the CLI starts without the model
from .i18n import N_
from .model.application import Activity, Modifiers
from .model.types import Date

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
    fields: list[str] = []  # the application fields it judges (``vehicles[].roof_sign_lamp``); see pack_fields.py
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


# ---------------------------------------------------------------- locating and loading


def packs_root() -> Path:
    """Where packs live: ``$ICV_PERMITS_RULES_DIR``, the repository's ``rules/``, or the wheel's copy."""
    env = os.environ.get("ICV_PERMITS_RULES_DIR")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent
    repo = here.parent / "rules"
    if (here.parent / "pyproject.toml").is_file() and (repo / DEFAULT_PACK / "pack.yaml").is_file():
        return repo  # a source checkout (editable install): the repository's rules/
    return here / "_packs"  # an installed wheel: the copy made at build time


def available_packs(root: Path | None = None) -> list[str]:
    root = root or packs_root()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "pack.yaml").is_file())


class _PackLoader(yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader):  # type: ignore[misc]
    """Safe loader that keeps dates as text (the pack model parses them)."""


_PackLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _read_yaml(path: Path) -> Any:
    try:
        with path.open("rb") as fh:
            return yaml.load(fh, Loader=_PackLoader)  # noqa: S506 - safe loader subclass
    except FileNotFoundError:
        raise PackError(f"{path}: file missing from the pack") from None
    except yaml.YAMLError as exc:
        raise PackError(f"{path}: not valid YAML: {exc}") from None


def _raw_pack(folder: Path) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for name in PACK_FILES:
        data = _read_yaml(folder / name) or {}
        if not isinstance(data, dict):
            raise PackError(f"{folder / name}: the top level must be a mapping")
        raw[name] = data
    return raw


def _by_key(items: Any, key: str, where: str) -> dict[str, dict[str, Any]]:
    if items is None:
        return {}
    if not isinstance(items, list):
        raise PackError(f"{where}: expected a list")
    out: dict[str, dict[str, Any]] = {}
    for i, item in enumerate(items):
        if not isinstance(item, dict) or key not in item:
            raise PackError(f"{where}[{i}]: each entry needs a {key!r}")
        if item[key] in out:
            raise PackError(f"{where}[{i}]: {key} {item[key]!r} appears twice")
        out[str(item[key])] = item
    return out


def _merge_params(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    merged = {**base, **{k: v for k, v in child.items() if k != "values"}}
    values = {str(v.get("effective_from")): v for v in base.get("values", [])}
    for v in child.get("values", []):
        values[str(v.get("effective_from"))] = v
    merged["values"] = [values[k] for k in sorted(values)]
    return merged


def _resolve(root: Path, pack_id: str, seen: tuple[str, ...] = ()) -> tuple[list[str], dict[str, Any]]:
    if pack_id in seen:
        raise PackError(f"pack {pack_id!r} extends itself through {' → '.join(seen)}")
    folder = root / pack_id
    if not (folder / "pack.yaml").is_file():
        known = ", ".join(available_packs(root)) or "—"
        raise PackError(
            f"no rule pack {pack_id!r} in {root} (available: {known})",
            N_("No rule pack “{pack}” in {root} (available: {known})."),
            pack=pack_id, root=str(root), known=known,
        )
    raw = _raw_pack(folder)
    meta = dict(raw["pack.yaml"])
    here = {
        "meta": meta,
        "sources": _by_key(raw["sources.yaml"].get("sources"), "key", f"{folder}/sources.yaml"),
        "rules": _by_key(raw["rules.yaml"].get("rules"), "id", f"{folder}/rules.yaml"),
        "common_messages": dict(raw["rules.yaml"].get("common_messages") or {}),
        "vocabulary": dict(raw["rules.yaml"].get("vocabulary") or {}),
        "parameters": _by_key(raw["parameters.yaml"].get("parameters"), "id", f"{folder}/parameters.yaml"),
        "sections": _by_key(raw["sections.yaml"].get("sections"), "id", f"{folder}/sections.yaml"),
    }
    if meta.get("id") != pack_id:
        raise PackError(f"{folder}/pack.yaml: id is {meta.get('id')!r}, expected the folder name {pack_id!r}")
    parent_id = meta.get("extends")
    if not parent_id:
        for p in here["parameters"].values():
            p["values"] = sorted(p.get("values", []), key=lambda v: str(v.get("effective_from")))
        return [pack_id], here
    chain, base = _resolve(root, parent_id, seen + (pack_id,))
    merged = {
        "meta": meta,
        "sources": {**base["sources"], **here["sources"]},
        "rules": {k: {**base["rules"].get(k, {}), **v} for k, v in here["rules"].items()},
        "common_messages": {**base["common_messages"], **here["common_messages"]},
        "vocabulary": {**base["vocabulary"], **here["vocabulary"]},
        "parameters": dict(base["parameters"]),
        "sections": {**base["sections"], **here["sections"]},
    }
    merged["rules"] = {**base["rules"], **merged["rules"]}
    if "activity_implies" not in meta and "activity_implies" in base["meta"]:
        meta["activity_implies"] = base["meta"]["activity_implies"]
    for k, v in here["parameters"].items():
        merged["parameters"][k] = _merge_params(base["parameters"].get(k, {}), v)
    return [pack_id, *chain], merged


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float) and obj.is_integer():
        return int(obj)
    return obj


def pack_content(pack_id: str, root: Path | None = None) -> tuple[list[str], dict[str, Any]]:
    """The merged, JSON-able content of a pack (what its revision hashes)."""
    return _resolve(root or packs_root(), pack_id)


def revision_of(content: dict[str, Any]) -> str:
    return "sha256:" + hashlib.sha256(rfc8785.dumps(_jsonable(content))).hexdigest()


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


def _cache_dir() -> Path | None:
    env = os.environ.get("ICV_PERMITS_CACHE_DIR")
    if env == "off":
        return None
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("icv-permits", appauthor=False)) / "packs"


def _source_key(root: Path, pack_id: str) -> str:
    """A digest of every pack file under ``root`` (a pack may extend any of them)."""
    h = hashlib.sha256(f"{pack_id}\0{CACHE_FORMAT}\0".encode())
    for name in available_packs(root):
        for f in PACK_FILES:
            path = root / name / f
            h.update(f"{name}/{f}\0".encode())
            try:
                h.update(path.read_bytes())
            except OSError:
                h.update(b"\0missing")
    return h.hexdigest()


CACHE_FORMAT = 1


@lru_cache(maxsize=8)
def _load_cached(pack_id: str, root: str) -> Pack:
    """Load a pack, through an on-disk cache of its merged content keyed by the files' bytes.

    Parsing the YAML files is most of the cost of loading a pack; the cache holds the merged
    content as JSON and its revision. A stale or unreadable cache entry is simply rebuilt; a cache
    that cannot be written is skipped.
    """
    where = f"{root}/{pack_id}"
    cache = _cache_dir()
    entry = None
    if cache is not None:
        entry = cache / f"{pack_id}-{_source_key(Path(root), pack_id)}.json"
        try:
            data = json.loads(entry.read_bytes())
            return build_pack(data["chain"], data["content"], where, data["revision"])
        except (OSError, ValueError, KeyError, TypeError, PackError):
            pass
    chain, content = _resolve(Path(root), pack_id)
    revision = revision_of(content)
    pack = build_pack(chain, content, where, revision)
    if entry is not None:
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            tmp = entry.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"chain": chain, "content": _jsonable(content), "revision": revision}, ensure_ascii=False))
            os.replace(tmp, entry)
            for stale in entry.parent.glob(f"{pack_id}-*.json"):  # entries of earlier pack sources
                if stale != entry:
                    stale.unlink(missing_ok=True)
        except OSError:
            pass
    return pack


def load_pack(pack: str = DEFAULT_PACK, root: Path | None = None) -> Pack:
    """Load a pack by id (from :func:`packs_root`) or by the path of its folder."""
    p = Path(pack)
    if os.sep in pack or p.is_dir() and (p / "pack.yaml").is_file():
        if not (p / "pack.yaml").is_file():
            raise PackError(f"{pack}: not a rule pack folder (no pack.yaml)", N_("{path}: not a rule pack folder (it has no pack.yaml)."), path=pack)
        return _load_cached(p.resolve().name, str(p.resolve().parent))
    return _load_cached(pack, str((root or packs_root()).resolve()))


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
