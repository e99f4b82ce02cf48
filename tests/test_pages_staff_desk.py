"""Staff pages beside the correction queue, in process: tickets (list, read,
answer by email), disputes "pas le représentant légal" (confirm or detach,
each confirmed first), académie support's audit log with its filters; what
another school's staff get (unknown)."""

from __future__ import annotations

import re
import uuid

import pytest

from educonnect.models.corrections import StaffRole
from tests.support.corrections import children_of, family_at, flagged_child, make_school, make_staff
from tests.support.mail import Mailbox
from tests.support.staff_pages import follow, signed_in_pages

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


async def test_a_ticket_is_listed_read_and_answered_by_email(
    make_client, db_pool, mailbox: Mailbox
):
    school = await make_school(db_pool)
    admin = await make_staff(db_pool, StaffRole.SCHOOL_ADMIN, school)
    other = await make_staff(db_pool, StaffRole.SCHOOL_ADMIN, await make_school(db_pool))
    person = f"sacha.{uuid.uuid4().hex[:6]}@example.fr"
    async with make_client() as family:
        opened = await family.post(
            "/assistance/tickets",
            json={"last_name": "Martin", "first_name": "Sacha", "email": person, "uai": school.uai,
                  "category": "auto_inscription_sms",
                  "message": "Mon numéro de mobile n'est pas reconnu lors de l'auto-inscription."},
        )  # fmt: skip
        assert opened.status_code == 201, opened.text
        ticket_id = opened.json()["ticket_id"]
    async with make_client() as http:
        await signed_in_pages(http, admin)
        listed = await http.get("/gestion/tickets")
        assert f'data-ticket="{ticket_id}"' in listed.text and 'data-open-count="1"' in listed.text
        page = await http.get(f"/gestion/tickets/{ticket_id}")
        assert "Mon numéro de mobile n&#39;est pas reconnu" in page.text and person in page.text
        empty = await http.post(
            f"/gestion/tickets/{ticket_id}", data={"csrf_token": _csrf(page.text), "message": "  "}
        )
        assert 'data-code="invalid_input"' in (await follow(http, empty)).text
        answer = "Votre numéro a été mis à jour : vous pouvez recommencer l'inscription."
        sent = await http.post(
            f"/gestion/tickets/{ticket_id}",
            data={"csrf_token": _csrf(page.text), "message": answer},
        )
        shown = await follow(http, sent)
        assert f"Votre réponse est envoyée à {person}" in shown.text
        assert 'data-kind="reply"' in shown.text and 'data-status="answered"' in shown.text
        [mail] = await mailbox.wait_for(person, 1)
        assert answer in mail.text
    async with make_client() as http:
        await signed_in_pages(http, other)
        page = await http.get(f"/gestion/tickets/{ticket_id}")
        assert page.status_code == 404 and 'data-code="ticket_not_found"' in page.text
        assert person not in page.text
        assert f'data-ticket="{ticket_id}"' not in (await http.get("/gestion/tickets")).text


async def test_a_dispute_is_detached_after_its_confirmation_and_others_cannot(make_client, db_pool):
    school = await make_school(db_pool)
    admin = await make_staff(db_pool, StaffRole.SCHOOL_ADMIN, school)
    neighbour = await make_staff(
        db_pool, StaffRole.SCHOOL_ADMIN, await make_school(db_pool, academie=school.academie)
    )
    family = await family_at(db_pool, school)
    child = (await children_of(db_pool, family))[0]
    dispute_id = await flagged_child(db_pool, family, child["id"], school)
    async with make_client() as http:
        await signed_in_pages(http, neighbour)
        page = await http.get("/gestion/contestations")
        assert f'data-dispute="{dispute_id}"' not in page.text
        refused = await http.post(
            f"/gestion/contestations/{dispute_id}",
            data={"csrf_token": _csrf(page.text), "action": "detacher", "confirme": "oui"},
        )
        assert 'data-code="dispute_not_found"' in (await follow(http, refused)).text
    async with make_client() as http:
        await signed_in_pages(http, admin)
        page = await http.get("/gestion/contestations")
        assert f'data-dispute="{dispute_id}"' in page.text and child["first_name"] in page.text
        first = await http.post(
            f"/gestion/contestations/{dispute_id}",
            data={"csrf_token": _csrf(page.text), "action": "detacher"},
        )
        confirm = await follow(http, first)
        assert 'data-confirm="detacher"' in confirm.text
        assert (
            await db_pool.fetchval(
                "SELECT status FROM attachment_disputes WHERE id = $1", dispute_id
            )
            == "awaiting_review"
        )
        done = await http.post(
            f"/gestion/contestations/{dispute_id}",
            data={"csrf_token": _csrf(confirm.text), "action": "detacher", "confirme": "oui"},
        )
        shown = await follow(http, done)
        assert (
            "Enfant détaché du compte du responsable." in shown.text
            and 'data-status="detached"' in shown.text
        )
    linked = await db_pool.fetchval(
        "SELECT count(*) FROM guardian_pupils WHERE guardian_id = $1 AND pupil_id = $2",
        family.guardian_id, child["id"],
    )  # fmt: skip
    assert linked == 0


async def test_the_audit_log_is_academie_supports_with_its_filters(make_client, db_pool):
    school = await make_school(db_pool)
    admin = await make_staff(db_pool, StaffRole.SCHOOL_ADMIN, school)
    support = await make_staff(db_pool, StaffRole.ACADEMIE_SUPPORT, school)
    elsewhere = await make_staff(db_pool, StaffRole.SCHOOL_ADMIN, await make_school(db_pool))
    for member in (admin, elsewhere):
        async with make_client() as http:
            await signed_in_pages(http, member)
            await http.get("/gestion/tickets")  # an audited consultation
            if member is admin:  # the log is not a school administrator's
                page = await http.get("/gestion/journal")
                assert page.status_code == 404 and 'data-nav="audit"' not in page.text
    async with make_client() as http:
        await signed_in_pages(http, support)
        page = await http.get("/gestion/journal")
        assert page.status_code == 200 and 'data-nav="audit" aria-current="page"' in page.text
        assert 'data-action="ticket.list"' in page.text and "Agent Secretariat" in page.text
        assert f"{elsewhere.id}" not in page.text  # another académie's staff: not listed
        only_admin = await http.get(f"/gestion/journal?personnel={admin.id}&action=staff.sign_in")
        rows = re.findall(r'data-action="([^"]+)"', only_admin.text)
        assert rows == ["staff.sign_in"]
        school_rows = await http.get(f"/gestion/journal?uai={school.uai}&action=ticket.list")
        assert re.findall(r'data-action="([^"]+)"', school_rows.text) == ["ticket.list"]
        assert "Agent Secretariat" in school_rows.text  # the administrator of that school
        future = await http.get("/gestion/journal?du=01/01/2099")
        assert "data-empty" in future.text
        bad = await http.get("/gestion/journal?du=demain")
        assert 'data-code="invalid_input"' in bad.text and "JJ/MM/AAAA" in bad.text
