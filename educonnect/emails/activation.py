"""Emails of the activation processes (DESIGN §3.1 and §3.4; FAQ 2.2, 2.4 and 7).

One confirmation-link email for the guardian's and the pupil's activation,
each in its reader's own words: the guardian's here (`GUARDIAN`), the pupil's
in `educonnect.emails.pupil_activation`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from educonnect.emails import Email
from educonnect.french_dates import paris_date_time
from educonnect.models.activation import LinkRequestKind

SENDER = "Administrateur des services en ligne"


@dataclass(frozen=True)
class LinkEmailWording:
    """What differs from one reader to another."""

    account: str  # how the reader's account is named
    subject: str  # the subject of every link but the reminder
    after_click: str = ""  # follows "Votre compte ne sera activé qu'après ce clic."


GUARDIAN = LinkEmailWording(
    account="compte EduConnect",
    # FAQ 9: the subject a parent looks for when the email seems lost.
    subject="Mise à disposition de services en ligne pour suivre la scolarité de votre enfant",
)


def confirmation(
    *,
    to: str,
    identifier: str,
    url: str,
    expires_at: datetime,
    kind: LinkRequestKind,
    wording: LinkEmailWording,
) -> Email:
    """The link that activates the account, in the reader's `wording`; `kind`
    says why it is sent (confirmation, resend, new address, reminder)."""
    account = wording.account
    opening = {
        LinkRequestKind.CONFIRMATION: f"Vous avez demandé l'activation de votre {account}.",
        LinkRequestKind.RESEND: f"Vous avez demandé un nouveau lien de confirmation pour activer votre {account}.",
        LinkRequestKind.NEW_ADDRESS: f"Vous avez corrigé l'adresse électronique de votre {account}.",
        LinkRequestKind.REMINDER: (
            f"Vous avez commencé l'activation de votre {account} il y a quelques jours, "
            "mais vous n'avez pas encore confirmé votre adresse électronique."
        ),
    }[kind]
    subject = (
        f"Rappel : confirmez votre adresse électronique pour activer votre {account}"
        if kind == LinkRequestKind.REMINDER
        else wording.subject
    )
    replaced = (
        "\nCe lien remplace ceux qui vous ont été envoyés précédemment : ils ne fonctionnent plus.\n"
        if kind != LinkRequestKind.CONFIRMATION
        else ""
    )
    text = f"""Bonjour,

{opening}

Votre identifiant : {identifier}

Pour terminer l'activation, cliquez sur le lien ci-dessous (ou copiez-le dans votre navigateur) :

{url}
{replaced}
Ce lien est valable jusqu'au {paris_date_time(expires_at)}. Il ne peut être utilisé qu'une seule fois.
Votre compte ne sera activé qu'après ce clic.{wording.after_click}

Si vous n'êtes pas à l'origine de cette demande, ignorez ce message.

L'administrateur des services en ligne
Ce message est envoyé automatiquement, merci de ne pas y répondre.
"""
    return Email(to=to, subject=subject, text=text, sender_name=SENDER, action="Activer mon compte")
