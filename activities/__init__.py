"""Side effects of the processes, one module per family (records, accounts,
email links...). Each activity is idempotent: its idempotency key derives from
the workflow id, the run id and the step (`activities.idempotency`)."""

from __future__ import annotations

import asyncpg

from activities.accounts import AccountActivities
from activities.email_links import EmailLinkActivities
from activities.records import RecordActivities


def all_activities(pool: asyncpg.Pool) -> list:
    """Every activity the worker serves, bound to the database pool."""
    families = [RecordActivities(pool), AccountActivities(pool), EmailLinkActivities(pool)]
    return [
        getattr(family, name)
        for family in families
        for name in dir(family)
        if hasattr(getattr(family, name), "__temporal_activity_definition")
    ]
