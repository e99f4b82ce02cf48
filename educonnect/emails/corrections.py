"""Emails and SMS texts of the birthdate correction (DESIGN §3.7, FAQ 6) and of
the assistance tickets: to the person who asked, and to staff. The person who
asked reads about "la date de naissance d'Inès" (a guardian) or "votre date de
naissance" (the pupil themself): `BlockedProcess.whose_birthdate`."""

from __future__ import annotations

import uuid
from datetime import date

from educonnect.blocked_processes import KINDS, BlockedProcess
from educonnect.emails import Email
from educonnect.french_dates import french_date
from educonnect.models.corrections import RequesterNoticeKind, StaffNoticeKind

SENDER = "Assistance EduConnect"
FOOTER = (
    "L'assistance EduConnect\nCe message est envoyé automatiquement, merci de ne pas y répondre."
)


# A request's page in the staff back-office (api.web.paths.GESTION_REQUEST, which
# takes it from here): the staff emails link to it.
STAFF_REQUEST_PATH = "/gestion/demandes/{request_id}"


def reference(request_id: uuid.UUID | str) -> str:
    """The short reference a person and staff quote: "N° 3F2A9C1B"."""
    return str(request_id).replace("-", "")[:8].upper()


# --- to the person who asked ---------------------------------------------------------


def requester_email(
    kind: RequesterNoticeKind,
    *,
    to: str,
    request_id: uuid.UUID,
    child_first_name: str,
    corrected_birthdate: date | None = None,
    text: str | None = None,
    process: BlockedProcess = KINDS["activation"],
) -> Email:
    """`kind`: received | information_requested | approved | rejected | expired.
    `text` is the staff question (information_requested) or reason (rejected);
    `process` the one the person is blocked in (whose birthdate, how to follow
    and resume it)."""
    ref = reference(request_id)
    birthdate = process.whose_birthdate(child_first_name)
    follow = f"Vous pouvez suivre votre demande {process.where_to_follow}."
    if kind == RequesterNoticeKind.RECEIVED:
        subject = f"Demande de correction de date de naissance n° {ref} : bien reçue"
        body = (
            f"Votre demande de correction de {birthdate} a bien été reçue "
            "et transmise à l'établissement scolaire.\n\n"
            "Vous serez prévenu dès qu'une décision sera prise. La modification est en général effective "
            "quelques jours après.\n\n" + follow
        )
    elif kind == RequesterNoticeKind.INFORMATION_REQUESTED:
        subject = (
            f"Demande de correction n° {ref} : des informations complémentaires sont nécessaires"
        )
        body = (
            f"Pour traiter votre demande de correction de {birthdate}, "
            "l'établissement a besoin d'informations complémentaires :\n\n"
            f"« {text} »\n\n"
            f"Répondez {process.where_to_follow}. Sans réponse de votre part, "
            "la demande sera clôturée 30 jours après son dépôt."
        )
    elif kind == RequesterNoticeKind.APPROVED:
        assert corrected_birthdate is not None
        subject = f"Demande de correction n° {ref} : date de naissance corrigée"
        body = (
            f"Votre demande a été acceptée : {birthdate} est désormais "
            f"le {french_date(corrected_birthdate)} dans le dossier de l'établissement.\n\n"
            f"Vous pouvez reprendre {process.resume} : {process.how_to_resume} "
            "Vous disposez à nouveau de 3 essais."
        )
    elif kind == RequesterNoticeKind.REJECTED:
        subject = f"Demande de correction n° {ref} : demande refusée"
        body = (
            f"Votre demande de correction de {birthdate} n'a pas pu être acceptée.\n\n"
            f"Motif : « {text} »\n\n"
            f"Si vous pensez qu'il s'agit d'une erreur, contactez directement {process.school}."
        )
    elif kind == RequesterNoticeKind.EXPIRED:
        subject = f"Demande de correction n° {ref} : demande clôturée"
        body = (
            f"Votre demande de correction de {birthdate} a été clôturée : "
            "elle n'a pas pu être traitée dans un délai de 30 jours.\n\n"
            f"Contactez directement {process.school}, ou déposez une nouvelle demande "
            "à l'aide du formulaire d'assistance."
        )
    else:  # pragma: no cover - programming error
        raise ValueError(f"unknown notice {kind!r}")
    return Email(
        to=to,
        subject=subject,
        text=f"Bonjour,\n\n{body}\n\nRéférence de la demande : {ref}\n\n{FOOTER}\n",
        sender_name=SENDER,
    )


def requester_sms(
    kind: RequesterNoticeKind,
    *,
    request_id: uuid.UUID,
    child_first_name: str,
    corrected_birthdate: date | None = None,
    text: str | None = None,
    process: BlockedProcess = KINDS["activation"],
) -> str:
    ref = reference(request_id)
    short = (text or "")[:300]
    birthdate = process.whose_birthdate(child_first_name)
    if kind == RequesterNoticeKind.RECEIVED:
        return f"EduConnect : votre demande n° {ref} de correction de {birthdate} est bien reçue."
    if kind == RequesterNoticeKind.INFORMATION_REQUESTED:
        return (
            f"EduConnect : l'établissement demande des informations pour votre demande n° {ref} : « {short} ». "
            f"Répondez {process.where_to_follow}."
        )
    if kind == RequesterNoticeKind.APPROVED:
        assert corrected_birthdate is not None
        return (
            f"EduConnect : demande n° {ref} acceptée. {birthdate[:1].upper()}{birthdate[1:]} est désormais le "
            f"{french_date(corrected_birthdate)}. Vous pouvez reprendre {process.resume}."
        )
    if kind == RequesterNoticeKind.REJECTED:
        return f"EduConnect : demande n° {ref} refusée. Motif : « {short} »."
    if kind == RequesterNoticeKind.EXPIRED:
        return (
            f"EduConnect : votre demande n° {ref} a été clôturée sans décision après 30 jours. "
            f"Contactez {process.school}."
        )
    raise ValueError(f"unknown notice {kind!r}")  # pragma: no cover


# --- to staff ------------------------------------------------------------------------

SCHOOL_INFORMS = (
    "La demande vient de l'élève lui-même, qui n'a pas d'adresse électronique : aucun message ne lui est "
    "envoyé. Prévenez-le de votre décision (en classe ou par la vie scolaire) ; une fois la date corrigée, "
    "il se reconnecte avec les identifiants transmis par l'établissement (à lui redonner s'ils ont expiré)."
)


def staff_email(
    kind: StaffNoticeKind,
    *,
    to: str,
    staff_name: str,
    request_id: uuid.UUID,
    school_name: str,
    uai: str,
    pupil_name: str,
    filed_on: date,
    url: str,
    school_informs: bool = False,
) -> Email:
    """`kind`: new | reminder | escalation | information_received.
    `school_informs`: a pupil without an email address asked; staff tell them."""
    ref = reference(request_id)
    about = f"l'élève {pupil_name} ({school_name}, {uai}), déposée le {french_date(filed_on)}"
    if kind == StaffNoticeKind.NEW:
        subject = f"Nouvelle demande de correction de date de naissance n° {ref}"
        body = f"Une nouvelle demande de correction de date de naissance concerne {about}."
    elif kind == StaffNoticeKind.REMINDER:
        subject = f"Rappel : demande de correction n° {ref} en attente depuis 2 jours"
        body = (
            f"La demande de correction de date de naissance concernant {about} attend votre décision "
            "depuis 2 jours. Sans décision après 5 jours, elle sera transmise à l'assistance académique."
        )
    elif kind == StaffNoticeKind.ESCALATION:
        subject = f"Demande de correction n° {ref} transmise à l'assistance académique"
        body = (
            f"La demande de correction de date de naissance concernant {about} n'a reçu aucune décision "
            "de l'établissement depuis 5 jours : elle est transmise à l'assistance académique. "
            "Sans décision, elle sera clôturée 30 jours après son dépôt."
        )
    elif kind == StaffNoticeKind.INFORMATION_RECEIVED:
        subject = f"Demande de correction n° {ref} : le demandeur a répondu"
        body = f"Le demandeur a répondu à votre demande d'informations sur la demande concernant {about}."
    else:  # pragma: no cover
        raise ValueError(f"unknown staff notice {kind!r}")
    if school_informs:
        body += f"\n\n{SCHOOL_INFORMS}"
    text = (
        f"Bonjour {staff_name},\n\n{body}\n\n"
        f"Consultez et traitez la demande (accepter, refuser ou demander des informations) : {url}\n\n"
        f"Référence : {ref}\n\n{FOOTER}\n"
    )
    return Email(
        to=to, subject=subject, text=text, sender_name=SENDER, action="Consulter la demande"
    )


# --- assistance tickets -----------------------------------------------------------------


def ticket_answer(*, to: str, first_name: str, last_name: str, ticket_id: uuid.UUID, category_label: str,
                  question: str, answer: str, staff_label: str) -> Email:  # fmt: skip
    ref = reference(ticket_id)
    text = f"""Bonjour {first_name} {last_name},

L'assistance académique a répondu à votre demande n° {ref} ({category_label}).

Votre demande :
« {question} »

Réponse de {staff_label} :
« {answer} »

{FOOTER}
"""
    return Email(
        to=to,
        subject=f"Réponse à votre demande d'assistance n° {ref}",
        text=text,
        sender_name=SENDER,
    )
