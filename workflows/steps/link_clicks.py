"""What every process with an emailed link checks before it counts a click
(DESIGN §4): that the API recorded it, the person having shown the link's
token. Link ids are readable in the history; a click sent to Temporal by
anyone else (the Web UI, the CLI) changes nothing."""

from __future__ import annotations

from uuid import UUID

from temporalio import workflow

from educonnect.models.activation import ClickReadBack
from workflows.steps.short_steps import run_short_step

with workflow.unsafe.imports_passed_through():
    from activities.email_links import EmailLinkActivities

# Clicks by signal counted without reading them back before: runs recorded
# then replay without the read-back.
CLICK_READ_BACK_PATCH = "click-read-back"


async def click_was_made(link_id: UUID) -> bool:
    """True if the API recorded a click on this link of this process."""
    return await run_short_step(
        EmailLinkActivities.click_recorded,
        ClickReadBack(process_id=workflow.info().workflow_id, link_id=link_id),
        summary="Vérification du clic sur le lien",
    )
