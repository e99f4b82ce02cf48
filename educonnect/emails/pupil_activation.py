"""Emails of the pupil activation process (DESIGN §3.4, FAQ 2.4): the optional
address a pupil gives is confirmed by a single-use link."""

from __future__ import annotations

from datetime import datetime

from educonnect.emails import Email
from educonnect.emails.activation import SENDER, _when


def confirmation(*, to: str, identifier: str, url: str, expires_at: datetime, kind: str) -> Email:
    """The link that activates the pupil's account; `kind` says why it is sent."""
    opening = {
        "confirmation": "Vous avez demandé l'activation de votre compte élève EduConnect.",
        "resend": "Vous avez demandé un nouveau lien de confirmation pour activer votre compte élève EduConnect.",
        "new_address": "Vous avez corrigé l'adresse électronique de votre compte élève EduConnect.",
        "reminder": (
            "Vous avez commencé l'activation de votre compte élève EduConnect il y a quelques jours, "
            "mais vous n'avez pas encore confirmé votre adresse électronique."
        ),
    }[kind]
    subject = (
        "Rappel : confirmez votre adresse électronique pour activer votre compte élève EduConnect"
        if kind == "reminder"
        else "Confirmez votre adresse électronique pour activer votre compte élève EduConnect"
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
Votre compte ne sera activé qu'après ce clic. Cette adresse vous permettra de récupérer
votre identifiant ou votre mot de passe si vous les oubliez.

Si vous n'êtes pas à l'origine de cette demande, ignorez ce message.

L'administrateur des services en ligne
Ce message est envoyé automatiquement, merci de ne pas y répondre.
"""
    return Email(to=to, subject=subject, text=text, sender_name=SENDER)
