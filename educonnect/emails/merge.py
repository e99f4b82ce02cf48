"""Emails of the account merge (DESIGN §3.10, FAQ 12): both addresses are told."""

from __future__ import annotations

from educonnect.emails import Email

SUBJECT = "Regroupement de vos comptes EduConnect"
FOOTER = (
    "Si vous n'êtes pas à l'origine de ce regroupement, contactez sans attendre l'établissement de votre enfant "
    "ou l'assistance académique.\n\nCe courriel a été envoyé automatiquement, merci de ne pas y répondre.\n"
)


def _children(children: list[str]) -> str:
    if not children:
        return ""
    lines = "\n".join(f"  - {c}" for c in children)
    return f"Enfants désormais rattachés au compte {{kept}} :\n{lines}\n\n"


def to_kept(*, to: str, kept_identifier: str, other_identifier: str, children: list[str]) -> Email:
    text = (
        "Bonjour,\n\n"
        f"Vos comptes EduConnect ont été regroupés : le compte {other_identifier} a été rattaché à votre compte "
        f"{kept_identifier}, que vous conservez.\n\n"
        + _children(children).replace("{kept}", kept_identifier)
        + f"L'identifiant {other_identifier} ne permet plus de se connecter : utilisez désormais {kept_identifier}.\n\n"
        + FOOTER
    )
    return Email(to=to, subject=SUBJECT, text=text)


def to_other(*, to: str, kept_identifier: str, other_identifier: str) -> Email:
    text = (
        "Bonjour,\n\n"
        f"Votre compte EduConnect {other_identifier} a été regroupé avec le compte {kept_identifier}. "
        f"Les enfants qui lui étaient rattachés le sont désormais au compte {kept_identifier}.\n\n"
        f"L'identifiant {other_identifier} ne permet plus de se connecter : utilisez désormais {kept_identifier}.\n\n"
        + FOOTER
    )
    return Email(to=to, subject=SUBJECT, text=text)
