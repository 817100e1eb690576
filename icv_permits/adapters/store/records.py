"""The office's records in SQL: what they say about an application (the engine's
:class:`~icv_permits.core.model.registry.RegistryFacts`), the parties kept on record, and the
numbers issued. Only the office service calls these, inside its own transactions."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable

from sqlalchemy import or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from icv_permits.adapters.store import tables
from icv_permits.adapters.store.db import Store, insert_missing
from icv_permits.adapters.store.personal import Keys
from icv_permits.core.canonical import utc_timestamp
from icv_permits.core.model.application import Application, NoticeKind, Province
from icv_permits.core.model.application import Notice as NoticeModel
from icv_permits.core.model.ids import mask
from icv_permits.core.model.registry import DriverLoad, RegistryFacts, VinElsewhere
from icv_permits.core.pack import Pack
from icv_permits.core.personal_text import mask_text


def _notice_model(s: Session, n: tables.Notice, day: dt.date, home: Province) -> NoticeModel:
    vins = s.exec(select(tables.Vehicle.vin).join(tables.NoticeVehicle, tables.NoticeVehicle.vehicle_id == tables.Vehicle.id)
                  .where(tables.NoticeVehicle.notice_id == n.id).order_by(tables.Vehicle.vin)).scalars().all()
    plates = s.exec(select(tables.Plate).where(tables.Plate.notice_id == n.id).order_by(tables.Plate.valid_from, tables.Plate.id)).scalars().all()
    current = [p for p in plates if p.valid_from <= day <= p.valid_until]
    shown = current or plates
    plate = max(shown, key=lambda p: (p.valid_until, p.id)) if shown else None
    return NoticeModel(
        number=n.number, kind=NoticeKind(n.kind), issuer_province=home, issued=n.issued,
        valid_from=n.valid_from if n.valid_from != n.issued else None, valid_until=n.valid_until,
        vins=list(vins), configurations=json.loads(n.configurations), sections=json.loads(n.sections),
        plates_issued=plate.valid_from if plate else None, plates_valid_until=plate.valid_until if plate else None,
    )


def active_notices(day: dt.date):
    """Notices not withdrawn and not yet ended on ``day`` (in force, or issued to start later; a
    superseded notice runs until the day before its replacement starts)."""
    return tables.Notice.status.in_([tables.NoticeStatus.active.value, tables.NoticeStatus.superseded.value]) & (tables.Notice.valid_until >= day)


# the two key spaces of the office's advisory locks on PostgreSQL (pg_advisory_xact_lock(int, int)):
# "ICPE" entities by credit code, "ICPV" vehicles by VIN
ENTITY_LOCKS = 0x49435045
VEHICLE_LOCKS = 0x49435056


def _lock_key(value: str) -> int:
    """A stable 32-bit key for ``value``; two values that share a key only wait for each other."""
    return int.from_bytes(hashlib.sha256(value.encode("utf-8")).digest()[:4], "big", signed=True)


def lock_parties(s: Session, credit_code: str, vins: Iterable[str]) -> None:
    """Hold the entity and the vehicles of an application until the transaction ends, before its
    records are read (:func:`registry_facts`) and acted on.

    A submission or a decision reads what the records say (the entity's submissions and notices,
    the vehicles' notices of other entities) and then writes on that basis. Two of them at once on
    the same entity or vehicle would each read the records as they were before the other committed:
    two submissions under review for one application, or one VIN on the active notices of two
    entities (REC-02 passed by both). On PostgreSQL (READ COMMITTED) each holds transaction-level
    advisory locks — the entity's, then the vehicles' in ascending key order, the same order in
    every transaction so that two of them cannot deadlock — and each statement after them sees what
    the previous holder committed. Advisory locks, not row locks: an entity or vehicle seen for the
    first time has no row yet, and a row lock on a vehicle would also stop the foreign-key checks
    of plates being renewed. On SQLite a write transaction begins IMMEDIATE and so already excludes
    every other writer: nothing to do."""
    if s.get_bind().dialect.name != "postgresql":
        return
    keys = [(ENTITY_LOCKS, _lock_key(credit_code))] + sorted({(VEHICLE_LOCKS, _lock_key(vin)) for vin in vins})
    for space, key in keys:
        s.execute(text("SELECT pg_advisory_xact_lock(CAST(:space AS integer), CAST(:key AS integer))"), {"space": space, "key": key})


def under_review(s: Session, entity_id: int, application_id: str) -> tables.Submission | None:
    """The entity's submission under review for ``application_id`` (at most one: migration 0006)."""
    return s.exec(select(tables.Submission).where(tables.Submission.entity_id == entity_id, tables.Submission.application_id == application_id,
                                                  tables.Submission.state == tables.State.under_review.value)
                  .order_by(tables.Submission.id)).scalars().first()


def one_under_review_violated(exc: IntegrityError) -> bool:
    """Whether ``exc`` is the database refusing a second submission under review for one entity and
    application id (the partial unique index :data:`tables.ONE_UNDER_REVIEW`)."""
    diag = getattr(exc.orig, "diag", None)
    if diag is not None:  # psycopg names the index
        return getattr(diag, "constraint_name", None) == tables.ONE_UNDER_REVIEW
    return "submission.entity_id, submission.application_id" in str(exc.orig)  # SQLite names the columns


def driver_named(lookups: list[str]):
    """The drivers whose lookup is one of ``lookups``, or was before they were re-keyed (a version
    submitted earlier names the lookup its drivers had then: :func:`rekey_drivers`)."""
    return or_(tables.Driver.id_lookup.in_(lookups), tables.Driver.former_lookup.in_(lookups))


def rekey_drivers(s: Session, app: Application, keys: Keys, lookups_by_ref: dict[str, str]) -> int:
    """Re-key the drivers of ``app`` on record under an older lookup scheme (``driver.lookup_scheme``,
    migration 0007) to ``keys``' scheme, so that REC-03 still recognises them; returns how many.

    Costs nothing once no row of an older scheme is left; until then, one derivation per older
    scheme for each driver not yet found under the current one. The lookup a row had is kept in
    ``former_lookup`` for the versions submitted before, which name it."""
    older = s.exec(select(tables.Driver.lookup_scheme).where(tables.Driver.lookup_scheme != keys.scheme).distinct()).scalars().all()
    if not older:
        return 0
    done = 0
    for d in app.drivers:
        new = lookups_by_ref[d.ref]
        if s.exec(select(tables.Driver.id).where(tables.Driver.id_lookup == new)).first() is not None:
            continue
        for scheme in sorted(older):
            old = keys.lookup_under(scheme, d.id_number)
            if old is None:
                continue
            changed = s.execute(update(tables.Driver).where(tables.Driver.id_lookup == old, tables.Driver.lookup_scheme == scheme)
                                .values(id_lookup=new, lookup_scheme=keys.scheme, former_lookup=old, id_masked=mask("id_number", d.id_number)))
            if changed.rowcount:
                done += 1
                break
    s.flush()
    return done


def registry_facts(s: Session, app: Application, day: dt.date, read_at: dt.datetime, lookups_by_ref: dict[str, str], store: Store,
                   exclude_notice_ids: frozenset[int] = frozenset(), *, home: Province) -> RegistryFacts:
    """What the records say about ``app`` on ``day``; drivers are matched by ``lookups_by_ref``
    (driver ref → keyed hash of the ID number), never by the number itself. The office's notices
    are issued by ``home``, the pack's home province."""
    entity = s.exec(select(tables.Entity).where(tables.Entity.credit_code == app.entity.credit_code)).scalars().first()
    notices: list[NoticeModel] = []
    if entity is not None:
        rows = s.exec(select(tables.Notice).where(tables.Notice.entity_id == entity.id).order_by(tables.Notice.issued, tables.Notice.id)).scalars().all()
        notices = [_notice_model(s, n, day, home) for n in rows]
    vins = [v.vin for v in app.vehicles]
    elsewhere = []
    q = (select(tables.Vehicle.vin, tables.Entity.credit_code, tables.Entity.name, tables.Notice.number, tables.Notice.valid_until)
         .join(tables.NoticeVehicle, tables.NoticeVehicle.vehicle_id == tables.Vehicle.id)
         .join(tables.Notice, tables.Notice.id == tables.NoticeVehicle.notice_id)
         .join(tables.Entity, tables.Entity.id == tables.Notice.entity_id)
         .where(tables.Vehicle.vin.in_(vins), active_notices(day), tables.Entity.credit_code != app.entity.credit_code)
         .order_by(tables.Vehicle.vin, tables.Notice.number))
    for vin, code, name, number, until in s.exec(q).all():
        elsewhere.append(VinElsewhere(vin=vin, credit_code=code, entity_name=name, notice=number, valid_until=until.isoformat()))
    loads = []
    lookups = {lookup: ref for ref, lookup in lookups_by_ref.items()}
    q = (select(tables.Driver.id_lookup, tables.Driver.former_lookup, tables.Vehicle.vin)
         .join(tables.NoticeDriver, tables.NoticeDriver.driver_id == tables.Driver.id)
         .join(tables.Vehicle, tables.Vehicle.id == tables.NoticeDriver.vehicle_id)
         .join(tables.Notice, tables.Notice.id == tables.NoticeDriver.notice_id)
         .where(driver_named(list(lookups)), active_notices(day)))
    if exclude_notice_ids:
        q = q.where(tables.Notice.id.not_in(list(exclude_notice_ids)))
    by_ref: dict[str, set[str]] = {}
    for lookup, former, vin in s.exec(q).all():
        by_ref.setdefault(lookups[lookup] if lookup in lookups else lookups[former], set()).add(vin)
    for ref in sorted(by_ref):
        loads.append(DriverLoad(driver_ref=ref, vins=sorted(by_ref[ref])))
    return RegistryFacts(database=f"{store.backend}", read_at=utc_timestamp(read_at), notices=notices, vins_elsewhere=elsewhere, driver_loads=loads)


def upsert_parties(s: Session, app: Application, keys: Keys, now: dt.datetime) -> tuple[tables.Entity, dict[str, tables.Vehicle], dict[str, tables.Driver]]:
    """The entity, vehicles and drivers of ``app`` on record, created where missing (race-free).
    Names and models are kept as the stored application has them: numbers in them masked."""
    insert_missing(s, tables.Entity.__table__, {"credit_code": app.entity.credit_code, "name": mask_text(app.entity.name), "created_at": now}, ["credit_code"])
    entity = s.exec(select(tables.Entity).where(tables.Entity.credit_code == app.entity.credit_code)).scalars().one()
    entity.name = mask_text(app.entity.name)
    vehicles: dict[str, tables.Vehicle] = {}
    for v in app.vehicles:
        insert_missing(s, tables.Vehicle.__table__, {"vin": v.vin, "created_at": now}, ["vin"])
        row = s.exec(select(tables.Vehicle).where(tables.Vehicle.vin == v.vin)).scalars().one()
        row.brand_model = mask_text(v.brand_model) if v.brand_model is not None else None
        row.configuration = v.configuration
        vehicles[v.vin] = row
    drivers: dict[str, tables.Driver] = {}
    for d in app.drivers:
        lookup = keys.id_lookup(d.id_number)
        insert_missing(s, tables.Driver.__table__, {"id_lookup": lookup, "id_masked": mask("id_number", d.id_number), "name": mask_text(d.name),
                                               "created_at": now, "lookup_scheme": keys.scheme}, ["id_lookup"])
        row = s.exec(select(tables.Driver).where(tables.Driver.id_lookup == lookup)).scalars().one()
        row.name = mask_text(d.name)
        row.id_masked = mask("id_number", d.id_number)  # as shown now (a row made before showed more)
        drivers[d.ref] = row
    s.flush()
    return entity, vehicles, drivers


def _next(s: Session, name: str) -> int:
    """The next number of a sequence, under the counter row's lock (created race-free if missing)."""
    insert_missing(s, tables.Counter.__table__, {"name": name, "value": 0}, ["name"])
    row = s.exec(select(tables.Counter).where(tables.Counter.name == name).with_for_update()).scalars().one()
    row.value += 1
    s.flush()
    return row.value


def take_number(s: Session, table: type[tables.Notice] | type[tables.Plate], p: Pack, fmt: str, year: int) -> str:
    """The next number of format ``fmt`` (``pack.yaml`` ``numbering``) in ``year``. Each format has
    its own series; a number already on record (a series restarted by a changed format, or
    counters of an earlier version of this tool) is skipped."""
    numbering = p.meta.numbering
    while True:
        number = numbering.number(fmt, year, _next(s, numbering.series(fmt, year)))
        if s.exec(select(table.id).where(table.number == number)).first() is None:
            return number
