"""The application digest is SHA-256 over RFC 8785 canonical JSON, whichever encoder computes it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from test_properties import applications

from icv_permits.core.engine import application_digest
from icv_permits.core.model.application import Application
from icv_permits.services.precheck import load_application

EXAMPLES = sorted(p for p in (Path(__file__).resolve().parent.parent / "examples").rglob("*") if p.suffix in (".yaml", ".json") and p.name != "expected.yaml")


def _rfc8785_digest(app) -> str:
    return "sha256:" + hashlib.sha256(rfc8785.dumps(app.model_dump(mode="json"))).hexdigest()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_digest_equals_rfc8785_for_every_example(path: Path) -> None:
    app = load_application(path)
    assert application_digest(app) == _rfc8785_digest(app)


def test_digest_equals_rfc8785_with_awkward_text() -> None:
    app = load_application(EXAMPLES[0])
    tricky = app.model_copy(update={"application_id": "A-\u2028-\u00e9-\U0001F697"})
    name = app.entity.model_copy(update={"name": 'quote " backslash \\ tab \t bell \x07 中文 😀'})
    app = tricky.model_copy(update={"entity": name})
    assert application_digest(app) == _rfc8785_digest(app)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(d=applications())
def test_digest_equals_rfc8785_for_generated_applications(d) -> None:
    app = Application.model_validate(d)
    assert application_digest(app) == _rfc8785_digest(app)
