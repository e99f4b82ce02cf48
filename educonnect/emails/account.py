"""Messages of account management (DESIGN §3.6, §3.8, §3.9; FAQ 4, 5, 7–11):
email change, password change, lost identifier, lost password. The emails,
then the texts of the SMS. Pure functions."""

from __future__ import annotations

from datetime import datetime

from educonnect.emails import Email
from educonnect.emails.activation import SENDER
from educonnect.french_dates import paris_date_time

# FAQ 9: what a person looks for when the validation email seems lost.
FIRST_VALIDATION_SUBJECT = (
    "Mise à disposition de services en ligne pour suivre la scolarité de votre enfant"
)
NEW_ADDRESS_SUBJECT = "Validez votre nouvelle adresse électronique EduConnect"

_FOOTER = """L'administrateur des services en ligne
Ce message est envoyé automatiquement, merci de ne pas y répondre."""

_NOT_YOU_PASSWORD = (
    "Si vous n'êtes pas à l'origine de cette demande, votre compte est peut-être utilisé par quelqu'un d'autre : "
    "changez votre mot de passe avec « Mot de passe perdu » sur l'écran de connexion, "
    "et contactez l'établissement de votre enfant."
)


def email_validation(
    *, to: str, identifier: str, url: str, expires_at: datetime, first_validation: bool, kind: str
) -> Email:
    """The single-use link that validates an address (FAQ 7, 8, 9, 11).

    `first_validation`: the account has no validated address yet; the email
    then carries the subject FAQ 9 tells people to look for. `kind`: "first",
    "resend" or "new_address"."""
    opening = {
        "first": (
            "Vous avez demandé à valider cette adresse électronique pour votre compte EduConnect."
            if first_validation
            else "Vous avez demandé à remplacer l'adresse électronique de votre compte EduConnect par celle-ci."
        ),
        "resend": "Vous avez demandé un nouvel email de validation de votre adresse électronique EduConnect.",
        "new_address": "Vous avez saisi une nouvelle adresse électronique pour votre compte EduConnect.",
    }[kind]
    replaced = (
        "\nCe lien remplace ceux qui vous ont été envoyés précédemment : ils ne fonctionnent plus.\n"
        if kind != "first"
        else ""
    )
    text = f"""Bonjour,

{opening}

Votre identifiant : {identifier}

Pour valider cette adresse, cliquez sur le lien ci-dessous (ou copiez-le dans votre navigateur) :

{url}
{replaced}
Ce lien est valable jusqu'au {paris_date_time(expires_at)}. Il ne peut être utilisé qu'une seule fois.
L'adresse de votre compte ne sera modifiée qu'après ce clic.

Si vous n'êtes pas à l'origine de cette demande, ignorez ce message : rien ne sera modifié.

{_FOOTER}
"""
    subject = FIRST_VALIDATION_SUBJECT if first_validation else NEW_ADDRESS_SUBJECT
    return Email(
        to=to, subject=subject, text=text, sender_name=SENDER, action="Valider cette adresse"
    )


def email_change_requested(*, to: str, identifier: str, new_email: str) -> Email:
    """To the old address: a change to `new_email` was asked for (FAQ 11)."""
    text = f"""Bonjour,

Une demande de modification de l'adresse électronique de votre compte EduConnect ({identifier}) vient d'être faite.

Nouvelle adresse indiquée : {new_email}

Un email de validation a été envoyé à cette nouvelle adresse. Tant qu'elle n'est pas validée, votre compte garde l'adresse actuelle, à laquelle ce message vous est envoyé.

{_NOT_YOU_PASSWORD}

{_FOOTER}
"""
    return Email(
        to=to,
        subject="Demande de modification de l'adresse électronique de votre compte EduConnect",
        text=text,
        sender_name=SENDER,
    )


def email_changed(*, to: str, identifier: str, new_email: str) -> Email:
    """To the old address: the account's address is now `new_email`."""
    text = f"""Bonjour,

L'adresse électronique de votre compte EduConnect ({identifier}) a été modifiée : la nouvelle adresse {new_email} vient d'être validée.

Les prochains messages concernant votre compte seront envoyés à cette nouvelle adresse.

{_NOT_YOU_PASSWORD}

{_FOOTER}
"""
    return Email(
        to=to,
        subject="L'adresse électronique de votre compte EduConnect a été modifiée",
        text=text,
        sender_name=SENDER,
    )


def password_changed(*, to: str, identifier: str, kind: str) -> Email:
    """After "Modifier mon mot de passe" (`kind` "changed") or "Mot de passe
    perdu" (`kind` "reset")."""
    how = {
        "changed": "depuis la gestion de votre compte",
        "reset": "avec la procédure « Mot de passe perdu »",
    }[kind]
    text = f"""Bonjour,

Le mot de passe de votre compte EduConnect ({identifier}) a été modifié {how}.

Il vous sera demandé à votre prochaine connexion. Pour votre sécurité, les autres connexions ouvertes à votre compte ont été fermées.

Si vous n'êtes pas à l'origine de ce changement, choisissez tout de suite un nouveau mot de passe avec « Mot de passe perdu » sur l'écran de connexion, et contactez l'établissement de votre enfant.

{_FOOTER}
"""
    return Email(
        to=to,
        subject="Le mot de passe de votre compte EduConnect a été modifié",
        text=text,
        sender_name=SENDER,
    )


def _identifier_lines(identifiers: list[str]) -> str:
    if len(identifiers) == 1:
        return f"Votre identifiant EduConnect : {identifiers[0]}"
    return "Les identifiants EduConnect associés à cette adresse :\n" + "\n".join(
        f"  - Identifiant : {i}" for i in identifiers
    )


def identifier_reminder(*, to: str, identifiers: list[str]) -> Email:
    """ "Identifiant perdu" by email (FAQ 4)."""
    text = f"""Bonjour,

Vous avez demandé à recevoir votre identifiant EduConnect.

{_identifier_lines(identifiers)}

Connectez-vous avec cet identifiant et votre mot de passe. Mot de passe oublié ? Cliquez sur « Mot de passe perdu » sur l'écran de connexion.

Si vous n'êtes pas à l'origine de cette demande, ignorez ce message.

{_FOOTER}
"""
    return Email(to=to, subject="Votre identifiant EduConnect", text=text, sender_name=SENDER)


def password_reset_link(*, to: str, identifier: str, url: str, expires_at: datetime) -> Email:
    """ "Mot de passe perdu" by email (FAQ 5): a single-use link, valid 1 hour."""
    text = f"""Bonjour,

Vous avez demandé à réinitialiser le mot de passe de votre compte EduConnect.

Votre identifiant : {identifier}

Pour choisir un nouveau mot de passe, cliquez sur le lien ci-dessous (ou copiez-le dans votre navigateur) :

{url}

Ce lien est valable une heure, jusqu'au {paris_date_time(expires_at)}. Il ne peut être utilisé qu'une seule fois.

Si vous n'êtes pas à l'origine de cette demande, ignorez ce message : votre mot de passe actuel reste valable.

{_FOOTER}
"""
    return Email(
        to=to,
        subject="Réinitialisation du mot de passe de votre compte EduConnect",
        text=text,
        sender_name=SENDER,
        action="Choisir un nouveau mot de passe",
    )


# --- SMS ---------------------------------------------------------------------------


def sms_identifier_reminder(identifiers: list[str]) -> str:
    """ "Identifiant perdu" by SMS (FAQ 4)."""
    if len(identifiers) == 1:
        found = f"votre identifiant est {identifiers[0]}"
    else:
        found = "vos identifiants sont " + ", ".join(identifiers)
    return f"EduConnect : {found}. Si vous n'êtes pas à l'origine de cette demande, ignorez ce message."


def sms_email_change(kind: str, new_email: str) -> str:
    """To the verified number of an account without a validated address: a change
    to `new_email` was asked for (`kind` "requested") or made ("changed")."""
    what = {
        "requested": f"une demande de modification de l'adresse électronique de votre compte vers {new_email} "
        "vient d'être faite",
        "changed": f"l'adresse électronique de votre compte est désormais {new_email}",
    }[kind]
    return (
        f"EduConnect : {what}. Si vous n'êtes pas à l'origine de cette demande, choisissez un nouveau mot de passe "
        "avec « Mot de passe perdu » et contactez l'établissement de votre enfant."
    )


def sms_password_changed(kind: str) -> str:
    how = {"changed": "depuis la gestion de votre compte", "reset": "avec « Mot de passe perdu »"}[
        kind
    ]
    return (
        f"EduConnect : le mot de passe de votre compte a été modifié {how}. "
        "Si vous n'êtes pas à l'origine de ce changement, choisissez un nouveau mot de passe "
        "avec « Mot de passe perdu » et contactez l'établissement de votre enfant."
    )
