"""Stable error codes, each declared once with its HTTP status and the French
message a person reads.

The code is the contract (API clients and tests match on it); the message is
what a parent, pupil or staff member reads. Workflows raise these as
`ApplicationError(code.message, type=code)` (`workflows.steps.refusals`), the
API answers `{"code": ..., "message": ...}` with `code.status`. The numbers in
the messages (durations, limits) come from `educonnect.policies`.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from types import MappingProxyType

from educonnect import policies


def _in_words(duration: timedelta) -> str:
    """A policy's duration as a message says it: "une minute", "10 minutes", "une heure"."""
    seconds = int(duration.total_seconds())
    for unit, one, many in ((3600, "une heure", "heures"), (60, "une minute", "minutes")):
        if seconds >= unit and seconds % unit == 0:
            count = seconds // unit
            return one if count == 1 else f"{count} {many}"
    raise ValueError(f"no French words for {duration}")


ASSISTANCE_HINT = (
    "Vous pouvez demander la correction de la date de naissance "
    "en remplissant le formulaire d'assistance."
)
_CREDENTIALS_VALIDITY = f"{policies.PROVISIONAL_CREDENTIALS_VALIDITY_MONTHS} mois"


class ErrorCode(StrEnum):
    """A refusal: its stable code (the member's value), HTTP status and French message."""

    status: int
    message: str

    def __new__(cls, code: str, status: int, message: str) -> ErrorCode:
        member = str.__new__(cls, code)
        member._value_ = code
        member.status = status
        member.message = message
        return member

    INVALID_INPUT = (
        "invalid_input",
        422,
        "Certaines informations saisies sont incorrectes. Vérifiez-les puis réessayez.",
    )
    INVALID_CREDENTIALS = (
        "invalid_credentials",
        401,
        "L'identifiant ou le mot de passe est incorrect.",
    )
    CREDENTIALS_EXPIRED = (
        "credentials_expired",
        401,
        f"Les identifiants transmis par l'établissement ne sont plus valables (plus de {_CREDENTIALS_VALIDITY}). "
        "Demandez de nouveaux identifiants à l'établissement de votre enfant.",
    )
    ACCOUNT_ALREADY_ACTIVE = (
        "account_already_active",
        409,
        "Ce compte est déjà activé. Connectez-vous avec votre identifiant et le mot de passe que vous avez choisi.",
    )
    ACCOUNT_UNAVAILABLE = (
        "account_unavailable",
        403,
        "Ce compte ne peut pas être utilisé. Contactez l'établissement de votre enfant.",
    )
    SESSION_REQUIRED = (
        "session_required",
        401,
        "Votre session a expiré. Reconnectez-vous pour continuer.",
    )
    PASSWORD_POLICY = (
        "password_policy",
        422,
        "Le mot de passe ne respecte pas les règles de sécurité.",
    )
    PASSWORD_MISMATCH = (
        "password_mismatch",
        422,
        "Les deux mots de passe saisis sont différents.",
    )
    EMAIL_INVALID = (
        "email_invalid",
        422,
        "L'adresse électronique saisie n'est pas valide.",
    )
    BIRTHDATE_INCORRECT = (
        "birthdate_incorrect",
        422,
        "La date de naissance saisie est incorrecte.",
    )
    BIRTHDATE_BLOCKED = (
        "birthdate_blocked",
        423,
        "La date de naissance saisie est incorrecte. Vous avez atteint le nombre maximal d'essais. "
        + ASSISTANCE_HINT,
    )
    WRONG_STEP = (
        "wrong_step",
        409,
        "Cette action n'est pas possible à cette étape de l'activation.",
    )
    RESEND_TOO_SOON = (
        "resend_too_soon",
        429,
        f"Un email vient de vous être envoyé. Patientez {_in_words(policies.LINK_RESEND_COOLDOWN)} avant d'en demander un nouveau.",
    )
    TOO_MANY_LINKS = (
        "too_many_links",
        429,
        "Vous avez demandé trop de liens pour cette activation. Attendez l'expiration de la demande "
        "puis reconnectez-vous avec les identifiants transmis par l'établissement.",
    )
    PROCESS_NOT_FOUND = (
        "process_not_found",
        404,
        "Aucune activation n'est en cours pour ce compte. Reconnectez-vous pour la commencer.",
    )
    PROCESS_ENDED = (
        "process_ended",
        410,
        "Cette activation est terminée. Reconnectez-vous pour continuer.",
    )
    LINK_INVALID = (
        "link_invalid",
        404,
        "Ce lien n'est pas valide. Vérifiez que vous avez copié le lien complet reçu par email.",
    )
    LINK_ALREADY_USED = (
        "link_already_used",
        409,
        "Ce lien a déjà été utilisé : votre compte est activé. Vous pouvez vous connecter.",
    )
    LINK_REPLACED = (
        "link_replaced",
        410,
        "Ce lien a été remplacé par un lien plus récent. Utilisez le dernier email reçu.",
    )
    LINK_EXPIRED = (
        "link_expired",
        410,
        "Ce lien a expiré. Connectez-vous avec les identifiants transmis par l'établissement "
        "pour recommencer l'activation.",
    )
    # FranceConnect (DESIGN §3.3)
    FRANCECONNECT_UNAVAILABLE = (
        "franceconnect_unavailable",
        503,
        "La connexion avec FranceConnect est momentanément indisponible. "
        "Réessayez dans quelques instants ou connectez-vous avec votre identifiant EduConnect.",
    )
    FRANCECONNECT_STATE_INVALID = (
        "franceconnect_state_invalid",
        400,
        "Votre demande de connexion avec FranceConnect n'a pas pu être vérifiée (elle a expiré ou ne vient "
        "pas de ce navigateur). Cliquez à nouveau sur « S'identifier avec FranceConnect ».",
    )
    FRANCECONNECT_DENIED = (
        "franceconnect_denied",
        401,
        "La connexion avec FranceConnect a été annulée ou refusée. "
        "Cliquez à nouveau sur « S'identifier avec FranceConnect » pour réessayer.",
    )
    FRANCECONNECT_TOKEN_INVALID = (
        "franceconnect_token_invalid",
        401,
        "L'identité transmise par FranceConnect n'a pas pu être vérifiée. Pour votre sécurité, la connexion "
        "est refusée. Cliquez à nouveau sur « S'identifier avec FranceConnect ».",
    )
    FRANCECONNECT_NONCE_MISMATCH = (
        "franceconnect_nonce_mismatch",
        401,
        "La réponse de FranceConnect ne correspond pas à votre demande de connexion. Pour votre sécurité, "
        "la connexion est refusée. Cliquez à nouveau sur « S'identifier avec FranceConnect ».",
    )
    FRANCECONNECT_ACR_INSUFFICIENT = (
        "franceconnect_acr_insufficient",
        403,
        "Le niveau de garantie de l'identité transmise par FranceConnect est insuffisant pour accéder "
        "à EduConnect. Choisissez un autre compte (impots.gouv.fr, ameli.fr...) puis réessayez.",
    )
    FRANCECONNECT_LINK_NOT_FOUND = (
        "franceconnect_link_not_found",
        404,
        "Cette première connexion avec FranceConnect est introuvable ou terminée. "
        "Cliquez à nouveau sur « S'identifier avec FranceConnect ».",
    )
    FRANCECONNECT_LINK_WRONG_STEP = (
        "franceconnect_link_wrong_step",
        409,
        "Cette action n'est pas possible à cette étape de votre première connexion avec FranceConnect.",
    )
    FRANCECONNECT_LINK_EXPIRED = (
        "franceconnect_link_expired",
        410,
        f"Votre première connexion avec FranceConnect a expiré ({_in_words(policies.FRANCECONNECT_LINK_IDLE_TIMEOUT)} sans action). "
        "Cliquez à nouveau sur « S'identifier avec FranceConnect » pour recommencer.",
    )
    FRANCECONNECT_CANCELLED = (
        "franceconnect_cancelled",
        401,
        "La connexion avec FranceConnect a été annulée : vous n'êtes pas connecté. "
        "Pour vous connecter, cliquez à nouveau sur « S'identifier avec FranceConnect » "
        "ou utilisez votre identifiant EduConnect.",
    )
    FRANCECONNECT_MOBILE_LIMIT = (
        "franceconnect_mobile_limit",
        429,
        "Vous avez essayé le nombre maximal de numéros de téléphone mobile "
        f"({policies.FRANCECONNECT_MOBILES_PER_LINK}) pour cette première connexion avec "
        "FranceConnect. Vérifiez le numéro indiqué sur "
        "la fiche de renseignements auprès de l'établissement de votre enfant, puis cliquez à "
        "nouveau sur « S'identifier avec FranceConnect ».",
    )
    FRANCECONNECT_MOBILE_DAILY_LIMIT = (
        "franceconnect_mobile_daily_limit",
        429,
        "Trop de numéros de téléphone mobile ont été essayés aujourd'hui avec votre identité "
        "FranceConnect. Réessayez demain, après avoir vérifié le numéro indiqué sur la fiche de "
        "renseignements auprès de l'établissement de votre enfant.",
    )
    FRANCECONNECT_LOGOUT_STATE_INVALID = (
        "franceconnect_logout_state_invalid",
        400,
        "Vous êtes déconnecté d'EduConnect, mais la déconnexion de FranceConnect n'a pas pu être "
        "vérifiée. Fermez votre navigateur pour terminer votre session FranceConnect.",
    )
    # SMS codes (DESIGN §4) and SMS self-registration (DESIGN §3.2)
    PHONE_INVALID = (
        "phone_invalid",
        422,
        "Le numéro de téléphone mobile saisi n'est pas valide (exemple : 06 12 34 56 78).",
    )
    SMS_CODE_INCORRECT = (
        "sms_code_incorrect",
        422,
        "Le code saisi est incorrect.",
    )
    SMS_CODE_EXPIRED = (
        "sms_code_expired",
        410,
        f"Ce code a expiré (il est valable {_in_words(policies.SMS_CODE_VALIDITY)}). Demandez un nouveau code.",
    )
    SMS_CODE_LOCKED = (
        "sms_code_locked",
        423,
        "Vous avez saisi trop de codes incorrects. Pour votre sécurité, cette demande est bloquée. "
        "Recommencez plus tard.",
    )
    SMS_CODE_ALREADY_USED = (
        "sms_code_already_used",
        409,
        "Ce code a déjà été utilisé. Passez à l'étape suivante.",
    )
    SMS_RESEND_TOO_SOON = (
        "sms_resend_too_soon",
        429,
        f"Un code vient de vous être envoyé. Patientez {_in_words(policies.SMS_RESEND_COOLDOWN)} avant d'en demander un nouveau.",
    )
    SMS_SEND_LIMIT = (
        "sms_send_limit",
        429,
        f"Vous avez atteint le nombre maximal d'envois de code ({policies.SMS_MAX_SENDS}) pour cette demande. "
        "Utilisez le dernier code reçu ou recommencez plus tard.",
    )
    REGISTRATION_NOT_FOUND = (
        "registration_not_found",
        404,
        "Cette demande d'inscription est introuvable. Recommencez votre inscription.",
    )
    REGISTRATION_WRONG_STEP = (
        "registration_wrong_step",
        409,
        "Cette action n'est pas possible à cette étape de l'inscription.",
    )
    REGISTRATION_EXPIRED = (
        "registration_expired",
        410,
        f"Votre demande d'inscription a expiré ({_in_words(policies.REGISTRATION_IDLE_TIMEOUT)} sans action). Recommencez votre inscription.",
    )
    REGISTRATION_COMPLETED = (
        "registration_completed",
        409,
        "Cette inscription est terminée : votre compte est créé. Connectez-vous avec votre identifiant "
        "et votre mot de passe.",
    )
    REGISTRATION_ACCOUNT_EXISTS = (
        "registration_account_exists",
        409,
        "Vous avez déjà un compte EduConnect. Un SMS vient de vous indiquer comment retrouver votre identifiant.",
    )
    # Sign-in limits (DESIGN §4) and the portal (DESIGN §3.5)
    TOO_MANY_ATTEMPTS = (
        "too_many_attempts",
        429,
        "Trop de tentatives de connexion infructueuses pour cet identifiant. "
        "Patientez quelques instants avant de réessayer.",
    )
    TOO_MANY_REQUESTS = (
        "too_many_requests",
        429,
        "Trop de tentatives de connexion infructueuses depuis votre connexion internet. "
        "Réessayez dans quelques minutes.",
    )
    ACCOUNT_LOCKED = (
        "account_locked",
        423,
        "Ce compte est bloqué après un trop grand nombre d'essais de mot de passe incorrects. "
        "Pour le débloquer, choisissez un nouveau mot de passe avec « Mot de passe perdu », "
        "ou contactez l'établissement scolaire.",
    )
    # Birthdate correction, assistance form and staff access (DESIGN §3.7, FAQ 6)
    CORRECTION_NOT_NEEDED = (
        "correction_not_needed",
        409,
        "Aucune date de naissance n'a été refusée à cette étape : la demande de correction "
        "n'est possible qu'après le message « La date de naissance saisie est incorrecte ».",
    )
    CORRECTION_PUPIL_UNKNOWN = (
        "correction_pupil_unknown",
        422,
        "Cet enfant ne fait pas partie de ceux que vous pouvez choisir. Choisissez un enfant de la liste.",
    )
    CORRECTION_DATE_INVALID = (
        "correction_date_invalid",
        422,
        "Cette date de naissance n'est pas possible. Vérifiez-la puis réessayez.",
    )
    CORRECTION_DATE_UNCHANGED = (
        "correction_date_unchanged",
        422,
        "Cette date est déjà celle enregistrée dans le dossier de l'élève : saisissez la date corrigée.",
    )
    CORRECTION_CONTACT_MISSING = (
        "correction_contact_missing",
        422,
        "Indiquez une adresse électronique ou un numéro de téléphone mobile pour être prévenu de la réponse.",
    )
    CORRECTION_NOT_FOUND = (
        "correction_not_found",
        404,
        "Cette demande est introuvable.",
    )
    CORRECTION_CLOSED = (
        "correction_closed",
        409,
        "Cette demande est déjà traitée : elle ne peut plus être modifiée.",
    )
    CORRECTION_NOT_AWAITING_INFORMATION = (
        "correction_not_awaiting_information",
        409,
        "Aucune information complémentaire ne vous est demandée pour cette demande.",
    )
    ASSISTANCE_SCHOOL_UNKNOWN = (
        "assistance_school_unknown",
        422,
        "Aucun établissement ne correspond à ce code UAI. Vérifiez-le (exemple : 0690001T).",
    )
    ASSISTANCE_ACADEMIE_UNKNOWN = (
        "assistance_academie_unknown",
        422,
        "Indiquez l'académie de l'établissement de votre enfant, ou le code UAI de l'établissement.",
    )
    TICKET_NOT_FOUND = (
        "ticket_not_found",
        404,
        "Cette demande d'assistance est introuvable.",
    )
    STAFF_SESSION_REQUIRED = (
        "staff_session_required",
        401,
        "Votre session a expiré. Connectez-vous avec votre compte personnel.",
    )
    CODEC_ACCESS_REFUSED = (
        "codec_access_refused",
        401,
        "Accès refusé : la lecture des données des processus est réservée aux opérateurs "
        "et au support académique connectés.",
    )
    CODEC_NAMESPACE_UNKNOWN = (
        "codec_namespace_unknown",
        404,
        "Cet espace de noms Temporal n'est pas celui d'EduConnect.",
    )
    STAFF_INVALID_CREDENTIALS = (
        "staff_invalid_credentials",
        401,
        "L'identifiant ou le mot de passe est incorrect.",
    )
    STAFF_OUT_OF_SCOPE = (
        "staff_out_of_scope",
        403,
        "Cette demande concerne un élève d'un établissement qui ne relève pas de votre périmètre : "
        "vous ne pouvez pas la consulter ni la traiter.",
    )
    STAFF_PASSWORD_POLICY = (
        "staff_password_policy",
        422,
        "Le mot de passe ne respecte pas les règles de sécurité des comptes du personnel.",
    )
    # Account management (DESIGN §3.6, §3.8, §3.9; FAQ 4, 5, 7–11)
    RECENT_SIGN_IN_REQUIRED = (
        "recent_sign_in_required",
        401,
        f"Pour votre sécurité, cette modification demande une connexion récente (moins de {_in_words(policies.RECENT_SIGN_IN_MAX_AGE)}). "
        "Reconnectez-vous puis recommencez.",
    )
    EMAIL_MISMATCH = (
        "email_mismatch",
        422,
        "Les deux adresses électroniques saisies sont différentes.",
    )
    EMAIL_UNCHANGED = (
        "email_unchanged",
        409,
        "Cette adresse est déjà l'adresse validée de votre compte.",
    )
    EMAIL_CHANGE_NOT_FOUND = (
        "email_change_not_found",
        404,
        "Aucune modification d'adresse électronique n'est en cours pour votre compte.",
    )
    EMAIL_CHANGE_ENDED = (
        "email_change_ended",
        409,
        "Cette demande de modification d'adresse électronique est terminée. Rechargez la page pour voir "
        "l'adresse de votre compte.",
    )
    TOO_MANY_EMAIL_LINKS = (
        "too_many_email_links",
        429,
        "Vous avez demandé trop d'emails de validation pour cette modification d'adresse. "
        "Utilisez le dernier email reçu, ou annulez la demande puis recommencez plus tard.",
    )
    CURRENT_PASSWORD_INCORRECT = (
        "current_password_incorrect",
        422,
        "Le mot de passe actuel est incorrect.",
    )
    PASSWORD_UNCHANGED = (
        "password_unchanged",
        422,
        "Le nouveau mot de passe doit être différent du mot de passe actuel.",
    )
    RECOVERY_RATE_LIMITED = (
        "recovery_rate_limited",
        429,
        "Trop de demandes ont été faites récemment pour cette adresse, ce numéro ou depuis votre connexion "
        f"internet. Réessayez dans {_in_words(policies.RECOVERY_CONTACT_WINDOW)}.",
    )
    TICKETS_RATE_LIMITED = (
        "tickets_rate_limited",
        429,
        "Vous avez déjà envoyé plusieurs demandes d'assistance récemment : elles ont bien été transmises et "
        "vous recevrez une réponse par courriel. Réessayez plus tard si vous avez une nouvelle demande.",
    )
    RESET_NOT_FOUND = (
        "reset_not_found",
        404,
        "Cette demande de réinitialisation du mot de passe est introuvable. Recommencez avec « Mot de passe perdu ».",
    )
    RESET_WRONG_STEP = (
        "reset_wrong_step",
        409,
        "Cette action n'est pas possible à cette étape de la réinitialisation du mot de passe.",
    )
    RESET_EXPIRED = (
        "reset_expired",
        410,
        "Cette demande de réinitialisation du mot de passe a expiré. Recommencez avec « Mot de passe perdu ».",
    )
    RESET_COMPLETED = (
        "reset_completed",
        409,
        "Votre mot de passe a déjà été réinitialisé. Connectez-vous avec votre identifiant et votre nouveau "
        "mot de passe.",
    )
    # School provisioning (DESIGN §3.11)
    PROVISIONING_FILE_INVALID = (
        "provisioning_file_invalid",
        422,
        "Le fichier ne peut pas être importé. Vérifiez son format (CSV, colonnes décrites dans la documentation).",
    )
    PROVISIONING_SCHOOL_UNKNOWN = (
        "provisioning_school_unknown",
        404,
        "Aucun établissement de votre périmètre ne correspond à ce code UAI. "
        "Vérifiez le code UAI (exemple : 0690001T).",
    )
    # audited; staff read provisioning_school_unknown
    PROVISIONING_OUT_OF_SCOPE = (
        "provisioning_out_of_scope",
        403,
        "Cet établissement ne relève pas de votre périmètre : vous ne pouvez ni importer ses élèves "
        "ni consulter ses imports.",
    )
    PROVISIONING_IMPORT_NOT_FOUND = (
        "provisioning_import_not_found",
        404,
        "Cet import est introuvable pour cet établissement.",
    )
    PROVISIONING_NO_LETTERS = (
        "provisioning_no_letters",
        404,
        "Aucun courrier à imprimer : tous les comptes concernés ont une adresse électronique, "
        "ont déjà été activés ou leurs identifiants ont expiré.",
    )
    # Account merge and children attached by mistake (DESIGN §3.10, FAQ 12-13)
    ACCOUNT_MERGED = (
        "account_merged",
        403,
        "Ce compte a été regroupé avec un autre compte. Connectez-vous avec l'identifiant du compte conservé.",
    )
    MERGE_SAME_ACCOUNT = (
        "merge_same_account",
        422,
        "Vous êtes connecté avec ce compte : saisissez l'identifiant et le mot de passe de l'autre compte à regrouper.",
    )
    MERGE_NOT_SAME_PERSON = (
        "merge_not_same_person",
        422,
        "Ces deux comptes ne sont pas au nom de la même personne (nom et prénom) : ils ne peuvent pas être regroupés. "
        "Vérifiez vos informations auprès des établissements de vos enfants.",
    )
    MERGE_ALREADY_MERGED = (
        "merge_already_merged",
        409,
        "Ce compte a déjà été regroupé avec un autre compte.",
    )
    MERGE_PUPIL_ACCOUNT = (
        "merge_pupil_account",
        422,
        "Un compte élève ne peut pas être regroupé avec un compte de responsable.",
    )
    MERGE_NOT_FOUND = (
        "merge_not_found",
        404,
        "Aucun regroupement de comptes n'est en cours pour votre compte.",
    )
    CHILD_NOT_ATTACHED = (
        "child_not_attached",
        404,
        "Cet enfant n'est pas rattaché à votre compte.",
    )
    DISPUTE_NOT_FOUND = (
        "dispute_not_found",
        404,
        "Ce signalement est introuvable.",
    )
    DISPUTE_CLOSED = (
        "dispute_closed",
        409,
        "Ce signalement a déjà été traité.",
    )
    STAFF_ACCOUNT_NOT_FOUND = (
        "staff_account_not_found",
        404,
        "Ce compte n'existe pas ou n'est rattaché à aucun élève de votre périmètre.",
    )
    STAFF_GUARDIAN_NOT_FOUND = (
        "staff_guardian_not_found",
        404,
        "Ce responsable n'existe pas ou n'est rattaché à aucun élève de votre périmètre.",
    )
    STAFF_ACCOUNT_EXISTS = (
        "staff_account_exists",
        409,
        "Ce responsable a déjà un compte EduConnect : remettez-lui de nouveaux identifiants provisoires pour ce compte.",
    )
    REISSUE_SELF_RECOVERY = (
        "reissue_self_recovery",
        409,
        "Ce compte est activé et son titulaire peut retrouver ses accès lui-même avec « Identifiant oublié » "
        "ou « Mot de passe oublié » (par email ou SMS) : de nouveaux identifiants provisoires ne sont pas nécessaires.",
    )
    REISSUE_ACCOUNT_MERGED = (
        "reissue_account_merged",
        409,
        "Ce compte a été regroupé avec un autre compte de la même personne : c'est l'autre compte qu'il faut utiliser.",
    )
    REISSUE_NOT_FOUND = (
        "reissue_not_found",
        404,
        "Cette remise d'identifiants provisoires n'existe pas.",
    )
    REISSUE_NO_LETTER = (
        "reissue_no_letter",
        404,
        "Ces identifiants ont été envoyés par courriel : il n'y a pas de courrier à imprimer.",
    )
    PAGE_NOT_FOUND = (
        "page_not_found",
        404,
        "Cette adresse n'existe pas. Vérifiez le lien ou revenez à la page d'accueil.",
    )
    METHOD_NOT_ALLOWED = (
        "method_not_allowed",
        405,
        "Cette action n'est pas possible à cette adresse.",
    )
    REQUEST_REFUSED = (
        "request_refused",
        400,
        "La demande n'a pas pu être traitée. Vérifiez les informations envoyées.",
    )
    CROSS_SITE_REQUEST = (
        "cross_site_request",
        403,
        "Cette action a été refusée car elle a été demandée depuis un autre site qu'EduConnect. "
        "Pour la faire, ouvrez EduConnect en saisissant son adresse dans votre navigateur, puis recommencez.",
    )
    REQUEST_TOO_LARGE = (
        "request_too_large",
        413,
        "Les informations envoyées sont trop volumineuses.",
    )
    SERVICE_UNAVAILABLE = (
        "service_unavailable",
        503,
        "Le service est momentanément indisponible. Réessayez dans quelques instants.",
    )
    FORM_EXPIRED = (  # a page's form without its CSRF token (api/web/forms.py)
        "form_expired",
        403,
        "Ce formulaire a expiré ou n'a pas été envoyé depuis EduConnect. Vérifiez les informations "
        "saisies puis envoyez-le à nouveau.",
    )
    # Signing into the school services (DESIGN §10): a request that cannot be
    # sent back to the service is answered with a page, never a redirect.
    SERVICE_UNKNOWN = (
        "service_unknown",
        400,
        "Ce service n'est pas enregistré auprès d'EduConnect : la connexion ne peut pas se faire. "
        "Revenez sur le site du service et réessayez, ou contactez-le.",
    )
    SERVICE_REDIRECT_URI_INVALID = (
        "service_redirect_uri_invalid",
        400,
        "L'adresse de retour demandée n'est pas enregistrée pour ce service : par sécurité, "
        "EduConnect ne vous y renvoie pas. Revenez sur le site du service et réessayez.",
    )
    SERVICE_REQUEST_INVALID = (
        "service_request_invalid",
        400,
        "La demande de connexion envoyée par le service est incomplète ou invalide. "
        "Revenez sur le site du service et réessayez.",
    )


# Read-only views by code, for the callers that look a code up.
MESSAGES: MappingProxyType[ErrorCode, str] = MappingProxyType({c: c.message for c in ErrorCode})
HTTP_STATUS: MappingProxyType[ErrorCode, int] = MappingProxyType({c: c.status for c in ErrorCode})


# Where a pupil reads the refusal at sign-in: their own school, not "your child's".
PUPIL_MESSAGES: dict[ErrorCode, str] = {
    ErrorCode.CREDENTIALS_EXPIRED: (
        f"Les identifiants transmis par l'établissement ne sont plus valables (plus de {_CREDENTIALS_VALIDITY}). "
        "Demandez-en de nouveaux à votre établissement (vie scolaire ou secrétariat)."
    ),
    ErrorCode.ACCOUNT_UNAVAILABLE: "Ce compte ne peut pas être utilisé. Adressez-vous à votre établissement.",
}


class DomainError(Exception):
    """A refusal the person must read, with its stable code (raised outside workflows)."""

    def __init__(
        self, code: ErrorCode, details: list[dict] | None = None, message: str | None = None
    ):
        self.code = code
        self.details = details or []
        self.message = message or code.message
        super().__init__(f"{code}: {self.message}")


def refusal_for(code: ErrorCode, account_kind: str) -> DomainError:
    """The refusal worded for who reads it: a pupil or a guardian."""
    return DomainError(code, message=PUPIL_MESSAGES.get(code) if account_kind == "pupil" else None)
