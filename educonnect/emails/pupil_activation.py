"""Emails of the pupil activation process (DESIGN §3.4, FAQ 2.4): the optional
address a pupil gives is confirmed by a single-use link, with the activation's
email (`educonnect.emails.activation.confirmation`) in the pupil's words."""

from __future__ import annotations

from educonnect.emails.activation import LinkEmailWording

PUPIL = LinkEmailWording(
    account="compte élève EduConnect",
    subject="Confirmez votre adresse électronique pour activer votre compte élève EduConnect",
    # Without a confirmed address a pupil cannot recover alone (FAQ 2.4).
    after_click=(
        " Cette adresse vous permettra de récupérer\n"
        "votre identifiant ou votre mot de passe si vous les oubliez."
    ),
)
