"""Bad input gets a French message and a stable code; nothing escapes as a 500."""

from __future__ import annotations

import pytest

from tests.support.families import make_family
from tests.workflows.test_activation import sign_in

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_unknown_identifier_and_wrong_password_answer_alike(api, db_pool):
    family = await make_family(db_pool)
    unknown = await sign_in(api, "x.inconnu", "Nimporte123")
    wrong = await sign_in(api, family.identifier, "Mauvais123")
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()
    assert unknown.json()["message"] == "L'identifiant ou le mot de passe est incorrect."


async def test_steps_need_an_activation_session(api):
    api.cookies.clear()
    response = await api.get("/activation")
    assert response.status_code == 401 and response.json()["code"] == "session_required"


async def test_profile_refusals_are_french_and_coded(api, db_pool):
    family = await make_family(db_pool)
    assert (await sign_in(api, family.identifier, family.provisional_password)).status_code == 200
    good = {
        "password": "Soleil2027b",
        "password_confirmation": "Soleil2027b",
        "email": family.email,
        "child_birthdate": family.child_birthdates[0].isoformat(),
    }

    weak = await api.post(
        "/activation/profile", json=dict(good, password="court", password_confirmation="court")
    )
    assert weak.status_code == 422 and weak.json()["code"] == "password_policy"
    codes = {d["code"] for d in weak.json()["details"]}
    assert codes == {"password_length", "password_digit"}
    assert all(d["message"].startswith("Le mot de passe") for d in weak.json()["details"])

    named = await api.post(
        "/activation/profile",
        json=dict(good, password="Hugo2020ab", password_confirmation="Hugo2020ab"),
    )
    assert {d["code"] for d in named.json()["details"]} == {"password_name"}

    mismatch = await api.post(
        "/activation/profile", json=dict(good, password_confirmation="Soleil2027c")
    )
    assert mismatch.json()["code"] == "password_mismatch"
    # A weak password typed differently twice: one answer says both.
    both = await api.post(
        "/activation/profile", json=dict(good, password="court", password_confirmation="courte")
    )
    assert both.json()["code"] == "password_policy"
    assert {(d["field"], d["code"]) for d in both.json()["details"]} == {
        ("password", "password_length"), ("password", "password_digit"),
        ("password_confirmation", "password_mismatch"),
    }  # fmt: skip

    bad_email = await api.post("/activation/profile", json=dict(good, email="pas-une-adresse"))
    assert bad_email.status_code == 422 and bad_email.json()["code"] == "email_invalid"

    bad_date = await api.post("/activation/profile", json=dict(good, child_birthdate="17/04/2013"))
    assert bad_date.status_code == 422 and bad_date.json()["code"] == "invalid_input"
    assert bad_date.json()["details"] == [
        {"field": "child_birthdate", "message": "Date invalide : format attendu AAAA-MM-JJ."}
    ]

    not_json = await api.post(
        "/activation/profile", content=b"{", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 422 and not_json.json()["code"] == "invalid_input"

    # None of the refusals used up a birthdate attempt or moved the process on.
    status = (await api.get("/activation")).json()
    assert status["step"] == "profile" and status["attempts_left"] == 3


async def test_unknown_link_gets_a_french_page(api):
    page = await api.get("/activation/confirmation", params={"jeton": "inconnu"})
    assert page.status_code == 404 and "Ce lien n'est pas valide" in page.text
