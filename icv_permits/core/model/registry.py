"""What the regulator's records say about an application: the engine's view of the store.

The workflow service reads the store and hands the engine a :class:`RegistryFacts`, as it hands it an
evidence summary; the engine stays pure. With it, the entity's notice history from the pack's home
province comes from the records, not from the file (the store wins), and the cross-application
rules REC-01…03 apply.
The facts are recorded in the decision, so the decision can be re-run from what was recorded.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from icv_permits.core.model.application import Notice


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VinElsewhere(_M):
    """A VIN of this application on an active notice of another entity."""

    vin: str
    credit_code: str
    entity_name: str
    notice: str
    valid_until: str


class DriverLoad(_M):
    """The vehicles a driver of this application is assigned to on active notices (any entity)."""

    driver_ref: str
    vins: list[str]  # sorted; VINs of this application's own notice being renewed are included


class RegistryFacts(_M):
    source: str = "store"
    database: str  # the backend and revision of the records read (no credentials)
    read_at: str  # UTC instant of the read, from the injected clock
    notices: list[Notice]  # the entity's notices on record (issued by the office, so by the pack's home province), active or not
    vins_elsewhere: list[VinElsewhere] = []
    driver_loads: list[DriverLoad] = []
