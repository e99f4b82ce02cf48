"""Stable error codes and the French message a person reads for each.

The code is the contract (API clients and tests match on it); the message is
what a parent, pupil or staff member reads. Workflows raise these as
`ApplicationError(message, type=code)`, the API answers
`{"code": ..., "message": ...}` with the HTTP status below.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    INVALID_INPUT = "invalid_input"
    INVALID_CREDENTIALS = "invalid_credentials"
    CREDENTIALS_EXPIRED = "credentials_expired"
    ACCOUNT_ALREADY_ACTIVE = "account_already_active"
    ACCOUNT_UNAVAILABLE = "account_unavailable"
    SESSION_REQUIRED = "session_required"
    PASSWORD_POLICY = "password_policy"
    PASSWORD_MISMATCH = "password_mismatch"
    EMAIL_INVALID = "email_invalid"
    BIRTHDATE_INCORRECT = "birthdate_incorrect"
    BIRTHDATE_BLOCKED = "birthdate_blocked"
    WRONG_STEP = "wrong_step"
    RESEND_TOO_SOON = "resend_too_soon"
    TOO_MANY_LINKS = "too_many_links"
    PROCESS_NOT_FOUND = "process_not_found"
    PROCESS_ENDED = "process_ended"
    LINK_INVALID = "link_invalid"
    LINK_ALREADY_USED = "link_already_used"
    LINK_REPLACED = "link_replaced"
    LINK_EXPIRED = "link_expired"
    # FranceConnect (DESIGN §3.3)
    FRANCECONNECT_UNAVAILABLE = "franceconnect_unavailable"
    FRANCECONNECT_STATE_INVALID = "franceconnect_state_invalid"
    FRANCECONNECT_DENIED = "franceconnect_denied"
    FRANCECONNECT_TOKEN_INVALID = "franceconnect_token_invalid"
    FRANCECONNECT_NONCE_MISMATCH = "franceconnect_nonce_mismatch"
    FRANCECONNECT_ACR_INSUFFICIENT = "franceconnect_acr_insufficient"
    FRANCECONNECT_LINK_NOT_FOUND = "franceconnect_link_not_found"
    FRANCECONNECT_LINK_WRONG_STEP = "franceconnect_link_wrong_step"
    FRANCECONNECT_LINK_EXPIRED = "franceconnect_link_expired"
    SERVICE_UNAVAILABLE = "service_unavailable"


ASSISTANCE_HINT = (
    "Vous pouvez demander la correction de la date de naissance "
    "en remplissant le formulaire d'assistance."
)

MESSAGES: dict[ErrorCode, str] = {
    ErrorCode.INVALID_INPUT: "Certaines informations saisies sont incorrectes. Vérifiez-les puis réessayez.",
    ErrorCode.INVALID_CREDENTIALS: "L'identifiant ou le mot de passe est incorrect.",
    ErrorCode.CREDENTIALS_EXPIRED: (
        "Les identifiants transmis par l'établissement ne sont plus valables (plus de 3 mois). "
        "Demandez de nouveaux identifiants à l'établissement de votre enfant."
    ),
    ErrorCode.ACCOUNT_ALREADY_ACTIVE: (
        "Ce compte est déjà activé. Connectez-vous avec votre identifiant et le mot de passe que vous avez choisi."
    ),
    ErrorCode.ACCOUNT_UNAVAILABLE: "Ce compte ne peut pas être utilisé. Contactez l'établissement de votre enfant.",
    ErrorCode.SESSION_REQUIRED: "Votre session a expiré. Reconnectez-vous pour continuer.",
    ErrorCode.PASSWORD_POLICY: "Le mot de passe ne respecte pas les règles de sécurité.",
    ErrorCode.PASSWORD_MISMATCH: "Les deux mots de passe saisis sont différents.",
    ErrorCode.EMAIL_INVALID: "L'adresse électronique saisie n'est pas valide.",
    ErrorCode.BIRTHDATE_INCORRECT: "La date de naissance saisie est incorrecte.",
    ErrorCode.BIRTHDATE_BLOCKED: (
        "La date de naissance saisie est incorrecte. Vous avez atteint le nombre maximal d'essais. "
        + ASSISTANCE_HINT
    ),
    ErrorCode.WRONG_STEP: "Cette action n'est pas possible à cette étape de l'activation.",
    ErrorCode.RESEND_TOO_SOON: "Un email vient de vous être envoyé. Patientez une minute avant d'en demander un nouveau.",
    ErrorCode.TOO_MANY_LINKS: (
        "Vous avez demandé trop de liens pour cette activation. Attendez l'expiration de la demande "
        "puis reconnectez-vous avec les identifiants transmis par l'établissement."
    ),
    ErrorCode.PROCESS_NOT_FOUND: "Aucune activation n'est en cours pour ce compte. Reconnectez-vous pour la commencer.",
    ErrorCode.PROCESS_ENDED: "Cette activation est terminée. Reconnectez-vous pour continuer.",
    ErrorCode.LINK_INVALID: "Ce lien n'est pas valide. Vérifiez que vous avez copié le lien complet reçu par email.",
    ErrorCode.LINK_ALREADY_USED: "Ce lien a déjà été utilisé : votre compte est activé. Vous pouvez vous connecter.",
    ErrorCode.LINK_REPLACED: (
        "Ce lien a été remplacé par un lien plus récent. Utilisez le dernier email reçu."
    ),
    ErrorCode.LINK_EXPIRED: (
        "Ce lien a expiré. Connectez-vous avec les identifiants transmis par l'établissement "
        "pour recommencer l'activation."
    ),
    ErrorCode.FRANCECONNECT_UNAVAILABLE: (
        "La connexion avec FranceConnect est momentanément indisponible. "
        "Réessayez dans quelques instants ou connectez-vous avec votre identifiant EduConnect."
    ),
    ErrorCode.FRANCECONNECT_STATE_INVALID: (
        "Votre demande de connexion avec FranceConnect n'a pas pu être vérifiée (elle a expiré ou ne vient "
        "pas de ce navigateur). Cliquez à nouveau sur « S'identifier avec FranceConnect »."
    ),
    ErrorCode.FRANCECONNECT_DENIED: (
        "La connexion avec FranceConnect a été annulée ou refusée. "
        "Cliquez à nouveau sur « S'identifier avec FranceConnect » pour réessayer."
    ),
    ErrorCode.FRANCECONNECT_TOKEN_INVALID: (
        "L'identité transmise par FranceConnect n'a pas pu être vérifiée. Pour votre sécurité, la connexion "
        "est refusée. Cliquez à nouveau sur « S'identifier avec FranceConnect »."
    ),
    ErrorCode.FRANCECONNECT_NONCE_MISMATCH: (
        "La réponse de FranceConnect ne correspond pas à votre demande de connexion. Pour votre sécurité, "
        "la connexion est refusée. Cliquez à nouveau sur « S'identifier avec FranceConnect »."
    ),
    ErrorCode.FRANCECONNECT_ACR_INSUFFICIENT: (
        "Le niveau de garantie de l'identité transmise par FranceConnect est insuffisant pour accéder "
        "à EduConnect. Choisissez un autre compte (impots.gouv.fr, ameli.fr...) puis réessayez."
    ),
    ErrorCode.FRANCECONNECT_LINK_NOT_FOUND: (
        "Cette première connexion avec FranceConnect est introuvable ou terminée. "
        "Cliquez à nouveau sur « S'identifier avec FranceConnect »."
    ),
    ErrorCode.FRANCECONNECT_LINK_WRONG_STEP: (
        "Cette action n'est pas possible à cette étape de votre première connexion avec FranceConnect."
    ),
    ErrorCode.FRANCECONNECT_LINK_EXPIRED: (
        "Votre première connexion avec FranceConnect a expiré (30 minutes sans action). "
        "Cliquez à nouveau sur « S'identifier avec FranceConnect » pour recommencer."
    ),
    ErrorCode.SERVICE_UNAVAILABLE: "Le service est momentanément indisponible. Réessayez dans quelques instants.",
}

HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.INVALID_INPUT: 422,
    ErrorCode.INVALID_CREDENTIALS: 401,
    ErrorCode.CREDENTIALS_EXPIRED: 401,
    ErrorCode.ACCOUNT_ALREADY_ACTIVE: 409,
    ErrorCode.ACCOUNT_UNAVAILABLE: 403,
    ErrorCode.SESSION_REQUIRED: 401,
    ErrorCode.PASSWORD_POLICY: 422,
    ErrorCode.PASSWORD_MISMATCH: 422,
    ErrorCode.EMAIL_INVALID: 422,
    ErrorCode.BIRTHDATE_INCORRECT: 422,
    ErrorCode.BIRTHDATE_BLOCKED: 423,
    ErrorCode.WRONG_STEP: 409,
    ErrorCode.RESEND_TOO_SOON: 429,
    ErrorCode.TOO_MANY_LINKS: 429,
    ErrorCode.PROCESS_NOT_FOUND: 404,
    ErrorCode.PROCESS_ENDED: 410,
    ErrorCode.LINK_INVALID: 404,
    ErrorCode.LINK_ALREADY_USED: 409,
    ErrorCode.LINK_REPLACED: 410,
    ErrorCode.LINK_EXPIRED: 410,
    ErrorCode.FRANCECONNECT_UNAVAILABLE: 503,
    ErrorCode.FRANCECONNECT_STATE_INVALID: 400,
    ErrorCode.FRANCECONNECT_DENIED: 401,
    ErrorCode.FRANCECONNECT_TOKEN_INVALID: 401,
    ErrorCode.FRANCECONNECT_NONCE_MISMATCH: 401,
    ErrorCode.FRANCECONNECT_ACR_INSUFFICIENT: 403,
    ErrorCode.FRANCECONNECT_LINK_NOT_FOUND: 404,
    ErrorCode.FRANCECONNECT_LINK_WRONG_STEP: 409,
    ErrorCode.FRANCECONNECT_LINK_EXPIRED: 410,
    ErrorCode.SERVICE_UNAVAILABLE: 503,
}


def message(code: ErrorCode) -> str:
    return MESSAGES[code]


class DomainError(Exception):
    """A refusal the person must read, with its stable code (raised outside workflows)."""

    def __init__(self, code: ErrorCode, details: list[dict] | None = None, message: str | None = None):
        self.code = code
        self.details = details or []
        self.message = message or MESSAGES[code]
        super().__init__(f"{code}: {self.message}")
