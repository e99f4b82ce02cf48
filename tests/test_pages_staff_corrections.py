"""The correction queue and a request's page (issue 13, items 2, 3 and 8), in
process on the time-skipping server with the real worker: the tabs and their
counts, a question then an approval each confirmed first, the outcome the
process gave, another school's request read as unknown, the escalated tab of
académie support 5 days later. The browser walk:
tests/e2e/test_pages_staff_browser_e2e.py."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest

from educonnect.models.corrections import StaffRole
from tests.support.corrections import (
    WRONG_BIRTHDATE,
    blocked_and_filed,
    make_school,
    make_staff,
    school_scene,
)
from tests.support.mail import Mailbox
from tests.support.staff_pages import follow, sign_in_page, signed_in_pages

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _count(html: str, tab: str) -> int:
    return int(re.search(rf'data-tab="{tab}" data-count="(\d+)"', html).group(1))


async def test_a_question_then_an_approval_each_confirmed_and_the_outcome_shown(
    make_client, db_pool, time_skipping_env, mailbox: Mailbox
):
    scene = await school_scene(db_pool)
    lea = scene.children[0]
    async with make_client() as family, make_client() as http:
        request_id = await blocked_and_filed(family, scene.family, lea["id"])
        page_path = f"/gestion/demandes/{request_id}"
        # The school's email links to the request's page: sign-in first, then back there.
        [new] = await mailbox.wait_for(scene.admin.email, 1)
        assert re.search(rf"https?://\S+{page_path}\n", new.text), new.text
        asked = await http.get(page_path)
        assert asked.headers["location"] == f"/gestion/connexion?retour={page_path}"
        signed = await sign_in_page(http, scene.admin, retour=page_path)
        assert signed.headers["location"] == page_path
        queue = await http.get("/gestion/demandes")
        assert _count(queue.text, "a-traiter") == 1 and _count(queue.text, "closes") == 0
        assert f'data-request="{request_id}"' in queue.text and 'data-age="0"' in queue.text

        page = await http.get(page_path)
        assert page.status_code == 200
        assert lea["first_name"] in page.text and "Date de naissance au dossier" in page.text
        assert lea["birthdate"].strftime("%d/%m/%Y") in page.text
        assert WRONG_BIRTHDATE.strftime("%d/%m/%Y") in page.text  # the proposed date
        assert "erronée dans le dossier" in page.text  # the family's message
        assert 'data-kind="filed"' in page.text

        # A question without text is refused at its field.
        empty = await http.post(
            f"{page_path}/question", data={"csrf_token": _csrf(page.text), "question": " "}
        )
        shown = await follow(http, empty)
        assert 'data-code="invalid_input"' in shown.text and 'id="question-messages"' in shown.text

        question = "Pouvez-vous nous transmettre une copie du livret de famille ?"
        asked = await http.post(
            f"{page_path}/question", data={"csrf_token": _csrf(page.text), "question": question}
        )
        assert asked.headers["location"].endswith("?confirmer=question#confirmation")
        confirm = await follow(http, asked)
        assert 'data-confirm="question"' in confirm.text and question in confirm.text
        # Nothing was decided yet.
        status = await db_pool.fetchval(
            "SELECT status FROM correction_requests WHERE id = $1", uuid.UUID(request_id)
        )
        assert status == "awaiting_review"
        done = await http.post(
            f"{page_path}/question",
            data={"csrf_token": _csrf(confirm.text), "question": question, "confirme": "oui"},
        )
        shown = await follow(http, done)
        assert (
            'data-decision-outcome="applied"' in shown.text
            and "Votre question est transmise" in shown.text
        )
        assert 'data-status="awaiting_information"' in shown.text

        answered = await family.post(
            f"/assistance/requests/{request_id}/answer", json={"message": "Je l'apporte demain."}
        )
        assert answered.status_code == 202, answered.text
        for _ in range(100):
            page = await http.get(page_path)
            if 'data-status="awaiting_review"' in page.text:
                break
        assert "Je l&#39;apporte demain." in page.text and 'data-kind="answer"' in page.text

        approve = await http.post(
            f"{page_path}/accepter",
            data={
                "csrf_token": _csrf(page.text),
                "corrected_birthdate": WRONG_BIRTHDATE.strftime("%d/%m/%Y"),
            },
        )
        confirm = await follow(http, approve)
        assert 'data-confirm="accepter"' in confirm.text and "passera du" in confirm.text
        approved = await http.post(
            f"{page_path}/accepter",
            data={"csrf_token": _csrf(confirm.text), "corrected_birthdate": WRONG_BIRTHDATE.strftime("%d/%m/%Y"),
                  "confirme": "oui"},
        )  # fmt: skip
        shown = await follow(http, approved)
        assert 'data-decision-outcome="applied"' in shown.text, shown.text
        assert "la date de naissance est corrigée (01/01/2014)" in shown.text
        assert "Le processus bloqué a repris" in shown.text and "Activation du compte" in shown.text
        assert (
            'data-status="approved"' in shown.text and 'data-decision="accepter"' not in shown.text
        )

        # Deciding again: the page says the request is decided already.
        again = await http.post(
            f"{page_path}/refuser",
            data={"csrf_token": _csrf(shown.text), "reason": "Non.", "confirme": "oui"},
        )
        shown = await follow(http, again)
        assert 'data-code="correction_closed"' in shown.text
        queue = await http.get("/gestion/demandes?onglet=closes")
        assert _count(queue.text, "closes") == 1 and f'data-request="{request_id}"' in queue.text

    # Another school's administrator: unknown, as the API answers; the refusal is audited.
    other = await make_staff(db_pool, StaffRole.SCHOOL_ADMIN, await make_school(db_pool))
    async with make_client() as http:
        await signed_in_pages(http, other)
        page = await http.get(page_path)
        assert page.status_code == 404 and 'data-code="correction_not_found"' in page.text
        assert "Cette demande est introuvable." in page.text and lea["first_name"] not in page.text
        assert (
            f'data-request="{request_id}"'
            not in (await http.get("/gestion/demandes?onglet=closes")).text
        )
    refused = await db_pool.fetchval(
        "SELECT details->>'code' FROM audit_log WHERE actor_id = $1 AND action = 'correction.view' "
        "AND outcome = 'refused'",
        other.id,
    )
    assert refused == "staff_out_of_scope"


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


async def test_academie_support_sees_the_escalated_request_after_five_days(
    make_client, db_pool, time_skipping_env
):
    scene = await school_scene(db_pool)
    support = await make_staff(db_pool, StaffRole.ACADEMIE_SUPPORT, scene.school)
    async with make_client() as family, make_client() as http:
        request_id = await blocked_and_filed(family, scene.family, scene.children[0]["id"])
        await signed_in_pages(http, support)
        escalated = await http.get("/gestion/demandes?onglet=escaladees")
        assert _count(escalated.text, "escaladees") == 0 and "data-empty" in escalated.text
        assert 'data-nav="escalated" aria-current="page"' in escalated.text

        await time_skipping_env.sleep(timedelta(days=5, hours=1))
        for _ in range(100):
            escalated = await http.get("/gestion/demandes?onglet=escaladees")
            if _count(escalated.text, "escaladees") == 1:
                break
        assert f'data-request="{request_id}"' in escalated.text
        assert scene.school.name in escalated.text
        # The age is the wall clock's (the server skipped time, PostgreSQL did not): filed 5 days ago.
        await db_pool.execute(
            "UPDATE correction_requests SET created_at = now() - interval '5 days 1 hour' WHERE id = $1",
            uuid.UUID(request_id),
        )
        escalated = await http.get("/gestion/demandes?onglet=escaladees")
        assert 'data-age="5"' in escalated.text and "5 jours" in escalated.text
        # The school filter: this school, then another one of the académie (none of its requests).
        mine = await http.get(f"/gestion/demandes?onglet=escaladees&uai={scene.school.uai}")
        assert f'data-request="{request_id}"' in mine.text
        assert f'<option value="{scene.school.uai}" selected>' in mine.text
        page = await http.get(f"/gestion/demandes/{request_id}")
        assert 'data-status="escalated"' in page.text and 'data-kind="escalated"' in page.text
