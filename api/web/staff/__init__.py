"""The staff back-office pages (issue 13; DESIGN §8), under `/gestion`: school
administrators (one school) and académie support (one académie), signed in
with the staff session of the JSON API (`api.routers.staff_session`), its
cookie scoped to `/gestion` for the pages.

One module per page group:
- `access`: the staff member a page is for (or the sign-in page, and back),
  the navigation of their role, rendering in the staff layout
  (`templates/staff/base.html`), the French "unknown" page;
- `session`: sign-in, sign-out, password change;
- `corrections`: the queue of birthdate corrections (tabs, counts, age) and a
  request's page with its three decisions, each confirmed first;
- `tickets`, `disputes`, `audit_log`: assistance tickets, "pas le représentant
  légal" disputes, the académie's audit log;
- `imports`, `families`: provisioning and families (issue 13 items 5, 6).

Every page calls the process layer the JSON routes call (`api.routers.staff_*`,
`educonnect.*`), never the API over HTTP. Something of another school reads
as unknown, as the API answers. `install(app)` adds them to the app."""

from __future__ import annotations

from fastapi import FastAPI

from api.web.staff import (
    access,
    audit_log,
    corrections,
    disputes,
    families,
    imports,
    session,
    tickets,
)


def install(app: FastAPI) -> None:
    """The staff pages and the redirect of a page without a staff session."""
    access.install(app)
    for module in (session, corrections, tickets, disputes, audit_log, imports, families):
        app.include_router(module.router)
