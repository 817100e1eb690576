"""Check functions, one per rule ID, grouped by party. Importing this package registers them."""

from icv_permits.core.engine.checks import (  # noqa: F401
    demonstration,
    driver,
    entity,
    evidence,
    insurance,
    materials,
    operations,
    records,
    scope,
    vehicle,
)
