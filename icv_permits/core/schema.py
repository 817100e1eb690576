"""The JSON Schema of an application file (``icv-permits schema``; committed as
``docs/application.schema.json`` and kept in sync by a test)."""

from __future__ import annotations

import json

from icv_permits.core.model.application import Application


def application_schema() -> dict:
    schema = Application.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://icv-permits.invalid/schema/application-1.json"
    return schema


def application_schema_json() -> str:
    return json.dumps(application_schema(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
