"""Texts of the SMS the platform sends (French, as the person reads them).

Pure functions: no I/O, no settings read here except by the caller.
"""

from __future__ import annotations

from educonnect.policies import SMS_CODE_VALIDITY

# Where a guardian who forgot the identifier goes (the lost-identifier
# process, DESIGN §3.6, plugs in here).
IDENTIFIER_RECOVERY_PATH = "/identifiant-oublie"


def code_message(code: str) -> str:
    """The SMS carrying a one-time code (registration, FranceConnect first visit)."""
    minutes = int(SMS_CODE_VALIDITY.total_seconds() // 60)
    return (
        f"Votre code EduConnect est {code}. Il est valable {minutes} minutes. "
        "Ne le communiquez à personne."
    )


def existing_account_message(recovery_url: str) -> str:
    """To the number on file of a guardian who asked to register but already
    has an account: the screen said nothing about it (no enumeration)."""
    return (
        "EduConnect : une demande de création de compte a été faite avec votre numéro, "
        "mais vous avez déjà un compte EduConnect. Connectez-vous avec votre identifiant. "
        f"Identifiant oublié ? Rendez-vous sur {recovery_url} . "
        "Si vous n'êtes pas à l'origine de cette demande, ignorez ce message."
    )
