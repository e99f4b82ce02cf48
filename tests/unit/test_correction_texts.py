"""The notices of a birthdate correction speak to their reader (DESIGN §3.7):
a guardian reads about "la date de naissance d'Inès", a pupil who asked for
their own birthdate reads "votre date de naissance", never their first name
as if it were someone else's."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from educonnect.blocked_processes import KINDS, blocked_process, of_first_name
from educonnect.emails.corrections import requester_email, requester_sms
from educonnect.models.corrections import filed_label

KINDS_OF_NOTICE = ["received", "information_requested", "approved", "rejected", "expired"]
FACTS = dict(
    request_id=uuid.uuid4(),
    child_first_name="Inès",
    corrected_birthdate=date(2012, 9, 4),
    text="Pièce ?",
)


@pytest.mark.parametrize("kind", KINDS_OF_NOTICE)
def test_a_pupil_reads_about_their_own_birthdate(kind):
    pupil = blocked_process("pupil-activation/8d7f0e2a-0000-0000-0000-000000000000")
    email = requester_email(kind, to="ines@example.fr", process=pupil, **FACTS)
    assert "votre date de naissance" in email.text
    assert "Inès" not in email.text and "date de naissance de" not in email.text
    sms = requester_sms(kind, process=pupil, **FACTS)
    assert "Inès" not in sms


@pytest.mark.parametrize("process", ["activation", "sms-registration", "franceconnect-link"])
@pytest.mark.parametrize("kind", KINDS_OF_NOTICE)
def test_a_guardian_reads_about_their_child(kind, process):
    email = requester_email(kind, to="parent@example.fr", process=KINDS[process], **FACTS)
    assert (
        "la date de naissance d'Inès" in email.text and "votre date de naissance" not in email.text
    )


def test_the_sms_words_follow_the_reader():
    approved = dict(FACTS, corrected_birthdate=date(2012, 9, 4))
    assert "Votre date de naissance est désormais le 04/09/2012" in requester_sms(
        "approved", process=KINDS["pupil-activation"], **approved
    )
    assert "La date de naissance d'Inès est désormais le 04/09/2012" in requester_sms(
        "approved", process=KINDS["sms-registration"], **approved
    )
    assert "de correction de votre date de naissance est bien reçue" in requester_sms(
        "received", process=KINDS["pupil-activation"], **FACTS
    )


def test_first_names_after_de():
    assert [of_first_name(n) for n in ("Inès", "Zoé", "Émile", "Yves", "Yanis", "Hugo", "")] == [
        "d'Inès", "de Zoé", "d'Émile", "d'Yves", "de Yanis", "de Hugo", "de ",
    ]  # fmt: skip


def test_who_filed_in_the_timeline():
    assert filed_label(False) == "Demande déposée par le responsable"
    assert filed_label(True) == "Demande déposée par l'élève lui-même"
