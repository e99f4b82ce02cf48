"""Emails of the activation process (DESIGN §3.1, FAQ 2.2 and 7)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from educonnect.emails import Email

PARIS = ZoneInfo("Europe/Paris")
SENDER = "Administrateur des services en ligne"


def _when(moment: datetime) -> str:
    local = moment.astimezone(PARIS)
    return f"{local:%d/%m/%Y} à {local:%H:%M}"


def confirmation(*, to: str, identifier: str, url: str, expires_at: datetime, kind: str) -> Email:
    """The link that activates the account; `kind` says why it is sent."""
    opening = {
        "confirmation": "Vous avez demandé l'activation de votre compte EduConnect.",
        "resend": "Vous avez demandé un nouveau lien de confirmation pour activer votre compte EduConnect.",
        "new_address": "Vous avez corrigé l'adresse électronique de votre compte EduConnect.",
        "reminder": (
            "Vous avez commencé l'activation de votre compte EduConnect il y a quelques jours, "
            "mais vous n'avez pas encore confirmé votre adresse électronique."
        ),
    }[kind]
    subject = (
        "Rappel : confirmez votre adresse électronique pour activer votre compte EduConnect"
        if kind == "reminder"
        else "Mise à disposition de services en ligne pour suivre la scolarité de votre enfant"
    )
    replaced = (
        "\nCe lien remplace ceux qui vous ont été envoyés précédemment : ils ne fonctionnent plus.\n"
        if kind != "confirmation"
        else ""
    )
    text = f"""Bonjour,

{opening}

Votre identifiant : {identifier}

Pour terminer l'activation, cliquez sur le lien ci-dessous (ou copiez-le dans votre navigateur) :

{url}
{replaced}
Ce lien est valable jusqu'au {_when(expires_at)}. Il ne peut être utilisé qu'une seule fois.
Votre compte ne sera activé qu'après ce clic.

Si vous n'êtes pas à l'origine de cette demande, ignorez ce message.

L'administrateur des services en ligne
Ce message est envoyé automatiquement, merci de ne pas y répondre.
"""
    return Email(to=to, subject=subject, text=text, sender_name=SENDER)
