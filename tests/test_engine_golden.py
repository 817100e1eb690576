"""The engine's decisions stay byte-identical to the recorded ones.

``tests/golden/engine.jsonl.xz`` holds several hundred engine inputs (every example on several
as-of dates and with registry facts, every case of the packs' own tests with both packs, trip-log
evidence in both decision layouts, and seeded generated applications — see
``tests/golden_cases.py``) with the decision the engine made of each when the file was written: its
canonical JSON in decision formats 1 and 2, and the zh and en text reports. Each is evaluated again
here and compared byte for byte, so a change that speeds the engine up cannot change a decision
unnoticed.

When a pack or the engine's output changes on purpose, regenerate the file and review the
differences of the decisions before committing it::

    .venv/bin/python tests/golden_cases.py
"""

from __future__ import annotations

import difflib

import pytest
from golden_cases import GOLDEN, outputs, read_golden

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
