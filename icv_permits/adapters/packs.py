"""Finding and loading rule packs: the files under ``rules/`` (or ``$ICV_PERMITS_RULES_DIR``, or the
wheel's copy), merged over the packs they extend, validated into :class:`~icv_permits.core.pack.Pack`,
and cached on disk by the files' bytes. The schema and the merge result's meaning live in
:mod:`icv_permits.core.pack`; this module is the file and environment access around it."""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from icv_permits.core.errors import DEFAULT_PACK, PackError
from icv_permits.core.i18n import N_
from icv_permits.core.pack import PACK_FILES, Pack, _jsonable, build_pack, revision_of

# ---------------------------------------------------------------- locating and loading


def packs_root() -> Path:
    """Where packs live: ``$ICV_PERMITS_RULES_DIR``, the repository's ``rules/``, or the wheel's copy."""
    env = os.environ.get("ICV_PERMITS_RULES_DIR")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent.parent  # the icv_permits package
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
    for key in INHERITED_META:
        if key not in meta and key in base["meta"]:
            meta[key] = base["meta"][key]
    if isinstance(base["meta"].get("provinces"), dict) and isinstance(meta.get("provinces"), dict):
        meta["provinces"] = {**base["meta"]["provinces"], **meta["provinces"]}
    for k, v in here["parameters"].items():
        merged["parameters"][k] = _merge_params(base["parameters"].get(k, {}), v)
    return [pack_id, *chain], merged


INHERITED_META = ("activity_implies", "home_province", "provinces", "numbering", "id_mask")
"""``pack.yaml`` keys a pack takes from the pack it extends unless it sets them itself
(``provinces`` is merged by province, the child's names winning)."""


def pack_content(pack_id: str, root: Path | None = None) -> tuple[list[str], dict[str, Any]]:
    """The merged, JSON-able content of a pack (what its revision hashes)."""
    return _resolve(root or packs_root(), pack_id)


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


CACHE_FORMAT = 2


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
            return build_pack(data["chain"], data["content"], where, data["revision"], check_values=True)
        except (OSError, ValueError, KeyError, TypeError, PackError):
            pass
    chain, content = _resolve(Path(root), pack_id)
    revision = revision_of(content)
    pack = build_pack(chain, content, where, revision, check_values=True)
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


# ---------------------------------------------------------------- the pack's own tests


TESTS_DIR = "tests"
"""``rules/<pack>/tests/*.yaml``: the pack's cases. Not among :data:`PACK_FILES`, so neither the
revision nor the load cache covers them: a new case never changes what a pack decides."""


def pack_folder(pack: str = DEFAULT_PACK, root: Path | None = None) -> Path:
    """The folder of a pack given by id or by path (as :func:`load_pack` takes it)."""
    p = Path(pack)
    if os.sep in pack or p.is_dir() and (p / "pack.yaml").is_file():
        return p.resolve()
    return (root or packs_root()).resolve() / pack


def pack_test_files(folder: Path) -> list[Path]:
    """The pack's test files, sorted by name (none when it has no ``tests/`` folder)."""
    tests = folder / TESTS_DIR
    return sorted(tests.glob("*.yaml")) if tests.is_dir() else []


def read_test_file(path: Path) -> Any:
    """A test file's YAML (dates kept as text, as in the pack files); ``PackError`` names the file."""
    return _read_yaml(path)


def base_file(name: str, test_file: Path) -> Path | None:
    """Where a case's ``base: examples/…`` is: beside the test file, else in the folder that holds
    the packs root (the repository), else in this source checkout (a copy of ``rules/`` elsewhere
    still finds the repository's examples); ``None`` when nowhere."""
    here = Path(__file__).resolve().parent.parent.parent
    anchors = [test_file.parent, packs_root().resolve().parent]
    if (here / "pyproject.toml").is_file():
        anchors.append(here)
    for anchor in anchors:
        candidate = anchor / name
        if candidate.is_file():
            return candidate
    return None
