"""Emails to staff about birthdate corrections (DESIGN §3.7): a new request,
the reminder after 2 days, the escalation to académie support after 5 days,
the person's answer to a request for information. Once per recipient and step."""

from __future__ import annotations

import logging

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.idempotency import idempotency_key
from educonnect import staff as staff_accounts
from educonnect.emails import corrections as correction_emails
from educonnect.emails.delivery import send_email_once
from educonnect.models.corrections import NoticeOutcome, StaffNotice, StaffNoticeKind
from educonnect.settings import get_settings

log = logging.getLogger(__name__)


def staff_request_url(request_id) -> str:
    """The request's page in the staff back-office (signed in, or after sign-in)."""
    path = correction_emails.STAFF_REQUEST_PATH.format(request_id=request_id)
    return f"{get_settings().public_base_url.rstrip('/')}{path}"


class StaffNotificationActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn
    async def notify_staff(self, notice: StaffNotice) -> NoticeOutcome:
        request = await self._pool.fetchrow(
            """
            SELECT r.id, r.uai, r.academie, r.escalated, r.created_at, p.first_name, p.last_name, s.name AS school_name,
                   EXISTS (SELECT 1 FROM correction_participants cp
                           WHERE cp.request_id = r.id AND cp.contact_channel = 'school') AS school_informs
            FROM correction_requests r JOIN pupils p ON p.id = r.pupil_id JOIN schools s ON s.uai = r.uai
            WHERE r.id = $1
            """,
            notice.request_id,
        )
        if request is None:
            raise ApplicationError(
                "unknown correction request", type="correction_unknown", non_retryable=True
            )
        admins = await staff_accounts.school_admins(self._pool, request["uai"])
        support = await staff_accounts.academie_support(self._pool, request["academie"])
        if notice.kind == StaffNoticeKind.ESCALATION or (
            notice.kind == StaffNoticeKind.INFORMATION_RECEIVED and request["escalated"]
        ):
            recipients = support + admins
        else:
            # The school decides first; académie support stands in for a school without an administrator.
            recipients = admins or support
        if not recipients:
            log.warning("no staff to tell about correction %s (%s)", notice.request_id, notice.kind)
        sent = 0
        for member in recipients:
            email = correction_emails.staff_email(
                notice.kind,
                to=member.email,
                staff_name=member.display_name,
                request_id=request["id"],
                school_name=request["school_name"],
                uai=request["uai"],
                pupil_name=f"{request['first_name']} {request['last_name']}",
                filed_on=request["created_at"].date(),
                url=staff_request_url(request["id"]),
                school_informs=request["school_informs"],
            )
            key = idempotency_key(f"{notice.step}/{member.id}")
            sent += await send_email_once(self._pool, key, email, f"correction_staff_{notice.kind}")
        return NoticeOutcome(sent=sent, recipients=len(recipients))
