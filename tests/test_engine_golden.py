"""The engine's decisions stay byte-identical to the recorded ones.

``tests/golden/engine.jsonl.xz`` holds several hundred engine inputs (every example on several
as-of dates and with registry facts, every case of the packs' own tests with both packs, trip-log
evidence in both decision layouts, and seeded generated applications — see
``tests/golden_cases.py``) with the decision the engine made of each when the file was written: its
canonical JSON in decision formats 1 and 2, and the zh and en text reports. Each is evaluated again
here and compared byte for byte, so a change that speeds the engine up cannot change a decision
unnoticed — through the decision's model (``evaluate``, what the office and the reports use) and
through the direct path to its JSON (``evaluate_json``, what ``audit replay`` compares), which must
also give plain JSON types (no enum member where the recorded JSON has a string).

When a pack or the engine's output changes on purpose, regenerate the file and review the
differences of the decisions before committing it::

    .venv/bin/python tests/golden_cases.py
"""

from __future__ import annotations

import datetime as dt
import difflib
import json

import pytest
from golden_cases import GOLDEN, outputs, read_golden

from icv_permits.adapters.packs import load_pack
from icv_permits.core.canonical import canonical_json
from icv_permits.core.engine import evaluate_json
from icv_permits.core.engine.decision import DECISION_FORMAT, LEGACY_DECISION_FORMAT
from icv_permits.core.model.application import Application
from icv_permits.core.model.evidence import EvidenceSummary
from icv_permits.core.model.registry import RegistryFacts

CASES = read_golden()


def test_the_golden_file_has_every_kind_of_case() -> None:
    kinds = {c["name"].split()[0] for c in CASES}
    assert kinds == {"example", "pack-test", "evidence", "generated"}
    assert len(CASES) >= 500, GOLDEN
    assert any(c["registry"] for c in CASES) and any(c["evidence"] for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_decision_and_reports_are_byte_identical(case: dict) -> None:
    got = outputs(case)
    for key, want in case["out"].items():
        if got[key] != want:
            diff = "\n".join(difflib.unified_diff(want.splitlines(), got[key].splitlines(), "recorded", "now", lineterm="", n=1))
            pytest.fail(f"{key} differs from the recorded one:\n{diff[:4000]}")
    assert set(got) == set(case["out"])


def _types(x: object) -> object:
    """The shape of JSON data with the exact type of every leaf."""
    if type(x) is dict:
        return {k: _types(v) for k, v in x.items()}
    if type(x) is list:
        return [_types(v) for v in x]
    return type(x).__name__


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_the_direct_json_path_gives_the_same_decision(case: dict) -> None:
    app = Application.model_validate(case["app"])
    evidence = EvidenceSummary.model_validate(case["evidence"]) if case["evidence"] is not None else None
    registry = RegistryFacts.model_validate(case["registry"]) if case["registry"] is not None else None
    for fmt, key in ((DECISION_FORMAT, "decision/2"), (LEGACY_DECISION_FORMAT, "decision/1")):
        got = evaluate_json(app, load_pack(case["pack"]), dt.date.fromisoformat(case["as_of"]), evidence, registry, fmt)
        assert canonical_json(got) == case["out"][key], key
        assert _types(got) == _types(json.loads(case["out"][key])), key
