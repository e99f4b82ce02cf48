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
    # SMS codes (DESIGN §4) and SMS self-registration (DESIGN §3.2)
    PHONE_INVALID = "phone_invalid"
    SMS_CODE_INCORRECT = "sms_code_incorrect"
    SMS_CODE_EXPIRED = "sms_code_expired"
    SMS_CODE_LOCKED = "sms_code_locked"
    SMS_CODE_ALREADY_USED = "sms_code_already_used"
    SMS_RESEND_TOO_SOON = "sms_resend_too_soon"
    SMS_SEND_LIMIT = "sms_send_limit"
    REGISTRATION_NOT_FOUND = "registration_not_found"
    REGISTRATION_WRONG_STEP = "registration_wrong_step"
    REGISTRATION_EXPIRED = "registration_expired"
    REGISTRATION_COMPLETED = "registration_completed"
    REGISTRATION_ACCOUNT_EXISTS = "registration_account_exists"
    # Sign-in limits (DESIGN §4) and the portal (DESIGN §3.5)
    TOO_MANY_ATTEMPTS = "too_many_attempts"
    TOO_MANY_REQUESTS = "too_many_requests"
    ACCOUNT_LOCKED = "account_locked"
    # Birthdate correction, assistance form and staff access (DESIGN §3.7, FAQ 6)
    CORRECTION_NOT_NEEDED = "correction_not_needed"
    CORRECTION_PUPIL_UNKNOWN = "correction_pupil_unknown"
    CORRECTION_DATE_INVALID = "correction_date_invalid"
    CORRECTION_DATE_UNCHANGED = "correction_date_unchanged"
    CORRECTION_CONTACT_MISSING = "correction_contact_missing"
    CORRECTION_NOT_FOUND = "correction_not_found"
    CORRECTION_CLOSED = "correction_closed"
    CORRECTION_NOT_AWAITING_INFORMATION = "correction_not_awaiting_information"
    ASSISTANCE_SCHOOL_UNKNOWN = "assistance_school_unknown"
    ASSISTANCE_ACADEMIE_UNKNOWN = "assistance_academie_unknown"
    TICKET_NOT_FOUND = "ticket_not_found"
    STAFF_SESSION_REQUIRED = "staff_session_required"
    STAFF_INVALID_CREDENTIALS = "staff_invalid_credentials"
    STAFF_OUT_OF_SCOPE = "staff_out_of_scope"
    STAFF_PASSWORD_POLICY = "staff_password_policy"
    # Account management (DESIGN §3.6, §3.8, §3.9; FAQ 4, 5, 7–11)
    RECENT_SIGN_IN_REQUIRED = "recent_sign_in_required"
    EMAIL_MISMATCH = "email_mismatch"
    EMAIL_UNCHANGED = "email_unchanged"
    EMAIL_CHANGE_NOT_FOUND = "email_change_not_found"
    EMAIL_CHANGE_ENDED = "email_change_ended"
    TOO_MANY_EMAIL_LINKS = "too_many_email_links"
    CURRENT_PASSWORD_INCORRECT = "current_password_incorrect"
    PASSWORD_UNCHANGED = "password_unchanged"
    RECOVERY_RATE_LIMITED = "recovery_rate_limited"
    TICKETS_RATE_LIMITED = "tickets_rate_limited"
    RESET_NOT_FOUND = "reset_not_found"
    RESET_WRONG_STEP = "reset_wrong_step"
    RESET_EXPIRED = "reset_expired"
    RESET_COMPLETED = "reset_completed"
    # School provisioning (DESIGN §3.11)
    PROVISIONING_FILE_INVALID = "provisioning_file_invalid"
    PROVISIONING_SCHOOL_UNKNOWN = "provisioning_school_unknown"
    PROVISIONING_OUT_OF_SCOPE = (
        "provisioning_out_of_scope"  # audited; staff read provisioning_school_unknown
    )
    PROVISIONING_IMPORT_NOT_FOUND = "provisioning_import_not_found"
    PROVISIONING_NO_LETTERS = "provisioning_no_letters"
    # Account merge and children attached by mistake (DESIGN §3.10, FAQ 12-13)
    ACCOUNT_MERGED = "account_merged"
    MERGE_SAME_ACCOUNT = "merge_same_account"
    MERGE_NOT_SAME_PERSON = "merge_not_same_person"
    MERGE_ALREADY_MERGED = "merge_already_merged"
    MERGE_PUPIL_ACCOUNT = "merge_pupil_account"
    MERGE_NOT_FOUND = "merge_not_found"
    CHILD_NOT_ATTACHED = "child_not_attached"
    DISPUTE_NOT_FOUND = "dispute_not_found"
    DISPUTE_CLOSED = "dispute_closed"
    STAFF_ACCOUNT_NOT_FOUND = "staff_account_not_found"
    STAFF_GUARDIAN_NOT_FOUND = "staff_guardian_not_found"
    STAFF_ACCOUNT_EXISTS = "staff_account_exists"
    REISSUE_SELF_RECOVERY = "reissue_self_recovery"
    REISSUE_ACCOUNT_MERGED = "reissue_account_merged"
    REISSUE_NOT_FOUND = "reissue_not_found"
    REISSUE_NO_LETTER = "reissue_no_letter"
    PAGE_NOT_FOUND = "page_not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    REQUEST_REFUSED = "request_refused"
    CROSS_SITE_REQUEST = "cross_site_request"
    REQUEST_TOO_LARGE = "request_too_large"
    SERVICE_UNAVAILABLE = "service_unavailable"
    FORM_EXPIRED = "form_expired"  # a page's form without its CSRF token (api/web/forms.py)


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
    ErrorCode.PHONE_INVALID: "Le numéro de téléphone mobile saisi n'est pas valide (exemple : 06 12 34 56 78).",
    ErrorCode.SMS_CODE_INCORRECT: "Le code saisi est incorrect.",
    ErrorCode.SMS_CODE_EXPIRED: "Ce code a expiré (il est valable 10 minutes). Demandez un nouveau code.",
    ErrorCode.SMS_CODE_LOCKED: (
        "Vous avez saisi trop de codes incorrects. Pour votre sécurité, cette demande est bloquée. "
        "Recommencez plus tard."
    ),
    ErrorCode.SMS_CODE_ALREADY_USED: "Ce code a déjà été utilisé. Passez à l'étape suivante.",
    ErrorCode.SMS_RESEND_TOO_SOON: (
        "Un code vient de vous être envoyé. Patientez une minute avant d'en demander un nouveau."
    ),
    ErrorCode.SMS_SEND_LIMIT: (
        "Vous avez atteint le nombre maximal d'envois de code (3) pour cette demande. "
        "Utilisez le dernier code reçu ou recommencez plus tard."
    ),
    ErrorCode.REGISTRATION_NOT_FOUND: "Cette demande d'inscription est introuvable. Recommencez votre inscription.",
    ErrorCode.REGISTRATION_WRONG_STEP: "Cette action n'est pas possible à cette étape de l'inscription.",
    ErrorCode.REGISTRATION_EXPIRED: (
        "Votre demande d'inscription a expiré (30 minutes sans action). Recommencez votre inscription."
    ),
    ErrorCode.REGISTRATION_COMPLETED: (
        "Cette inscription est terminée : votre compte est créé. Connectez-vous avec votre identifiant "
        "et votre mot de passe."
    ),
    ErrorCode.REGISTRATION_ACCOUNT_EXISTS: (
        "Vous avez déjà un compte EduConnect. Un SMS vient de vous indiquer comment retrouver votre identifiant."
    ),
    ErrorCode.TOO_MANY_ATTEMPTS: (
        "Trop de tentatives de connexion infructueuses pour cet identifiant. "
        "Patientez quelques instants avant de réessayer."
    ),
    ErrorCode.TOO_MANY_REQUESTS: (
        "Trop de tentatives de connexion infructueuses depuis votre connexion internet. "
        "Réessayez dans quelques minutes."
    ),
    ErrorCode.ACCOUNT_LOCKED: (
        "Ce compte est bloqué après un trop grand nombre d'essais de mot de passe incorrects. "
        "Pour le débloquer, choisissez un nouveau mot de passe avec « Mot de passe perdu », "
        "ou contactez l'établissement scolaire."
    ),
    ErrorCode.CORRECTION_NOT_NEEDED: (
        "Aucune date de naissance n'a été refusée à cette étape : la demande de correction "
        "n'est possible qu'après le message « La date de naissance saisie est incorrecte »."
    ),
    ErrorCode.CORRECTION_PUPIL_UNKNOWN: (
        "Cet enfant ne fait pas partie de ceux que vous pouvez choisir. Choisissez un enfant de la liste."
    ),
    ErrorCode.CORRECTION_DATE_INVALID: "Cette date de naissance n'est pas possible. Vérifiez-la puis réessayez.",
    ErrorCode.CORRECTION_DATE_UNCHANGED: (
        "Cette date est déjà celle enregistrée dans le dossier de l'élève : saisissez la date corrigée."
    ),
    ErrorCode.CORRECTION_CONTACT_MISSING: (
        "Indiquez une adresse électronique ou un numéro de téléphone mobile pour être prévenu de la réponse."
    ),
    ErrorCode.CORRECTION_NOT_FOUND: "Cette demande est introuvable.",
    ErrorCode.CORRECTION_CLOSED: "Cette demande est déjà traitée : elle ne peut plus être modifiée.",
    ErrorCode.CORRECTION_NOT_AWAITING_INFORMATION: (
        "Aucune information complémentaire ne vous est demandée pour cette demande."
    ),
    ErrorCode.ASSISTANCE_SCHOOL_UNKNOWN: "Aucun établissement ne correspond à ce code UAI. Vérifiez-le (exemple : 0690001T).",
    ErrorCode.ASSISTANCE_ACADEMIE_UNKNOWN: (
        "Indiquez l'académie de l'établissement de votre enfant, ou le code UAI de l'établissement."
    ),
    ErrorCode.TICKET_NOT_FOUND: "Cette demande d'assistance est introuvable.",
    ErrorCode.STAFF_SESSION_REQUIRED: "Votre session a expiré. Connectez-vous avec votre compte personnel.",
    ErrorCode.STAFF_INVALID_CREDENTIALS: "L'identifiant ou le mot de passe est incorrect.",
    ErrorCode.STAFF_OUT_OF_SCOPE: (
        "Cette demande concerne un élève d'un établissement qui ne relève pas de votre périmètre : "
        "vous ne pouvez pas la consulter ni la traiter."
    ),
    ErrorCode.STAFF_PASSWORD_POLICY: "Le mot de passe ne respecte pas les règles de sécurité des comptes du personnel.",
    ErrorCode.RECENT_SIGN_IN_REQUIRED: (
        "Pour votre sécurité, cette modification demande une connexion récente (moins de 15 minutes). "
        "Reconnectez-vous puis recommencez."
    ),
    ErrorCode.EMAIL_MISMATCH: "Les deux adresses électroniques saisies sont différentes.",
    ErrorCode.EMAIL_UNCHANGED: "Cette adresse est déjà l'adresse validée de votre compte.",
    ErrorCode.EMAIL_CHANGE_NOT_FOUND: "Aucune modification d'adresse électronique n'est en cours pour votre compte.",
    ErrorCode.EMAIL_CHANGE_ENDED: (
        "Cette demande de modification d'adresse électronique est terminée. Rechargez la page pour voir "
        "l'adresse de votre compte."
    ),
    ErrorCode.TOO_MANY_EMAIL_LINKS: (
        "Vous avez demandé trop d'emails de validation pour cette modification d'adresse. "
        "Utilisez le dernier email reçu, ou annulez la demande puis recommencez plus tard."
    ),
    ErrorCode.CURRENT_PASSWORD_INCORRECT: "Le mot de passe actuel est incorrect.",
    ErrorCode.PASSWORD_UNCHANGED: "Le nouveau mot de passe doit être différent du mot de passe actuel.",
    ErrorCode.RECOVERY_RATE_LIMITED: (
        "Trop de demandes ont été faites récemment pour cette adresse, ce numéro ou depuis votre connexion "
        "internet. Réessayez dans une heure."
    ),
    ErrorCode.TICKETS_RATE_LIMITED: (
        "Vous avez déjà envoyé plusieurs demandes d'assistance récemment : elles ont bien été transmises et "
        "vous recevrez une réponse par courriel. Réessayez plus tard si vous avez une nouvelle demande."
    ),
    ErrorCode.RESET_NOT_FOUND: (
        "Cette demande de réinitialisation du mot de passe est introuvable. Recommencez avec « Mot de passe perdu »."
    ),
    ErrorCode.RESET_WRONG_STEP: "Cette action n'est pas possible à cette étape de la réinitialisation du mot de passe.",
    ErrorCode.RESET_EXPIRED: (
        "Cette demande de réinitialisation du mot de passe a expiré. Recommencez avec « Mot de passe perdu »."
    ),
    ErrorCode.RESET_COMPLETED: (
        "Votre mot de passe a déjà été réinitialisé. Connectez-vous avec votre identifiant et votre nouveau "
        "mot de passe."
    ),
    ErrorCode.PROVISIONING_FILE_INVALID: "Le fichier ne peut pas être importé. Vérifiez son format (CSV, colonnes décrites dans la documentation).",
    ErrorCode.PROVISIONING_SCHOOL_UNKNOWN: (
        "Aucun établissement de votre périmètre ne correspond à ce code UAI. "
        "Vérifiez le code UAI (exemple : 0690001T)."
    ),
    ErrorCode.PROVISIONING_OUT_OF_SCOPE: (
        "Cet établissement ne relève pas de votre périmètre : vous ne pouvez ni importer ses élèves "
        "ni consulter ses imports."
    ),
    ErrorCode.PROVISIONING_IMPORT_NOT_FOUND: "Cet import est introuvable pour cet établissement.",
    ErrorCode.PROVISIONING_NO_LETTERS: (
        "Aucun courrier à imprimer : tous les comptes concernés ont une adresse électronique, "
        "ont déjà été activés ou leurs identifiants ont expiré."
    ),
    ErrorCode.ACCOUNT_MERGED: (
        "Ce compte a été regroupé avec un autre compte. Connectez-vous avec l'identifiant du compte conservé."
    ),
    ErrorCode.MERGE_SAME_ACCOUNT: (
        "Vous êtes connecté avec ce compte : saisissez l'identifiant et le mot de passe de l'autre compte à regrouper."
    ),
    ErrorCode.MERGE_NOT_SAME_PERSON: (
        "Ces deux comptes ne sont pas au nom de la même personne (nom et prénom) : ils ne peuvent pas être regroupés. "
        "Vérifiez vos informations auprès des établissements de vos enfants."
    ),
    ErrorCode.MERGE_ALREADY_MERGED: "Ce compte a déjà été regroupé avec un autre compte.",
    ErrorCode.MERGE_PUPIL_ACCOUNT: "Un compte élève ne peut pas être regroupé avec un compte de responsable.",
    ErrorCode.MERGE_NOT_FOUND: "Aucun regroupement de comptes n'est en cours pour votre compte.",
    ErrorCode.CHILD_NOT_ATTACHED: "Cet enfant n'est pas rattaché à votre compte.",
    ErrorCode.DISPUTE_NOT_FOUND: "Ce signalement est introuvable.",
    ErrorCode.DISPUTE_CLOSED: "Ce signalement a déjà été traité.",
    ErrorCode.STAFF_ACCOUNT_NOT_FOUND: "Ce compte n'existe pas ou n'est rattaché à aucun élève de votre périmètre.",
    ErrorCode.STAFF_GUARDIAN_NOT_FOUND: "Ce responsable n'existe pas ou n'est rattaché à aucun élève de votre périmètre.",
    ErrorCode.STAFF_ACCOUNT_EXISTS: (
        "Ce responsable a déjà un compte EduConnect : remettez-lui de nouveaux identifiants provisoires pour ce compte."
    ),
    ErrorCode.REISSUE_SELF_RECOVERY: (
        "Ce compte est activé et son titulaire peut retrouver ses accès lui-même avec « Identifiant oublié » "
        "ou « Mot de passe oublié » (par email ou SMS) : de nouveaux identifiants provisoires ne sont pas nécessaires."
    ),
    ErrorCode.REISSUE_ACCOUNT_MERGED: (
        "Ce compte a été regroupé avec un autre compte de la même personne : c'est l'autre compte qu'il faut utiliser."
    ),
    ErrorCode.REISSUE_NOT_FOUND: "Cette remise d'identifiants provisoires n'existe pas.",
    ErrorCode.REISSUE_NO_LETTER: "Ces identifiants ont été envoyés par courriel : il n'y a pas de courrier à imprimer.",
    ErrorCode.PAGE_NOT_FOUND: "Cette adresse n'existe pas. Vérifiez le lien ou revenez à la page d'accueil.",
    ErrorCode.METHOD_NOT_ALLOWED: "Cette action n'est pas possible à cette adresse.",
    ErrorCode.REQUEST_REFUSED: "La demande n'a pas pu être traitée. Vérifiez les informations envoyées.",
    ErrorCode.CROSS_SITE_REQUEST: (
        "Cette action a été refusée car elle a été demandée depuis un autre site qu'EduConnect. "
        "Pour la faire, ouvrez EduConnect en saisissant son adresse dans votre navigateur, puis recommencez."
    ),
    ErrorCode.REQUEST_TOO_LARGE: "Les informations envoyées sont trop volumineuses.",
    ErrorCode.SERVICE_UNAVAILABLE: "Le service est momentanément indisponible. Réessayez dans quelques instants.",
    ErrorCode.FORM_EXPIRED: (
        "Ce formulaire a expiré ou n'a pas été envoyé depuis EduConnect. Vérifiez les informations "
        "saisies puis envoyez-le à nouveau."
    ),
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
    ErrorCode.PHONE_INVALID: 422,
    ErrorCode.SMS_CODE_INCORRECT: 422,
    ErrorCode.SMS_CODE_EXPIRED: 410,
    ErrorCode.SMS_CODE_LOCKED: 423,
    ErrorCode.SMS_CODE_ALREADY_USED: 409,
    ErrorCode.SMS_RESEND_TOO_SOON: 429,
    ErrorCode.SMS_SEND_LIMIT: 429,
    ErrorCode.REGISTRATION_NOT_FOUND: 404,
    ErrorCode.REGISTRATION_WRONG_STEP: 409,
    ErrorCode.REGISTRATION_EXPIRED: 410,
    ErrorCode.REGISTRATION_COMPLETED: 409,
    ErrorCode.REGISTRATION_ACCOUNT_EXISTS: 409,
    ErrorCode.TOO_MANY_ATTEMPTS: 429,
    ErrorCode.TOO_MANY_REQUESTS: 429,
    ErrorCode.ACCOUNT_LOCKED: 423,
    ErrorCode.CORRECTION_NOT_NEEDED: 409,
    ErrorCode.CORRECTION_PUPIL_UNKNOWN: 422,
    ErrorCode.CORRECTION_DATE_INVALID: 422,
    ErrorCode.CORRECTION_DATE_UNCHANGED: 422,
    ErrorCode.CORRECTION_CONTACT_MISSING: 422,
    ErrorCode.CORRECTION_NOT_FOUND: 404,
    ErrorCode.CORRECTION_CLOSED: 409,
    ErrorCode.CORRECTION_NOT_AWAITING_INFORMATION: 409,
    ErrorCode.ASSISTANCE_SCHOOL_UNKNOWN: 422,
    ErrorCode.ASSISTANCE_ACADEMIE_UNKNOWN: 422,
    ErrorCode.TICKET_NOT_FOUND: 404,
    ErrorCode.STAFF_SESSION_REQUIRED: 401,
    ErrorCode.STAFF_INVALID_CREDENTIALS: 401,
    ErrorCode.STAFF_OUT_OF_SCOPE: 403,
    ErrorCode.STAFF_PASSWORD_POLICY: 422,
    ErrorCode.RECENT_SIGN_IN_REQUIRED: 401,
    ErrorCode.EMAIL_MISMATCH: 422,
    ErrorCode.EMAIL_UNCHANGED: 409,
    ErrorCode.EMAIL_CHANGE_NOT_FOUND: 404,
    ErrorCode.EMAIL_CHANGE_ENDED: 409,
    ErrorCode.TOO_MANY_EMAIL_LINKS: 429,
    ErrorCode.CURRENT_PASSWORD_INCORRECT: 422,
    ErrorCode.PASSWORD_UNCHANGED: 422,
    ErrorCode.RECOVERY_RATE_LIMITED: 429,
    ErrorCode.TICKETS_RATE_LIMITED: 429,
    ErrorCode.RESET_NOT_FOUND: 404,
    ErrorCode.RESET_WRONG_STEP: 409,
    ErrorCode.RESET_EXPIRED: 410,
    ErrorCode.RESET_COMPLETED: 409,
    ErrorCode.PROVISIONING_FILE_INVALID: 422,
    ErrorCode.PROVISIONING_SCHOOL_UNKNOWN: 404,
    ErrorCode.PROVISIONING_OUT_OF_SCOPE: 403,
    ErrorCode.PROVISIONING_IMPORT_NOT_FOUND: 404,
    ErrorCode.PROVISIONING_NO_LETTERS: 404,
    ErrorCode.ACCOUNT_MERGED: 403,
    ErrorCode.MERGE_SAME_ACCOUNT: 422,
    ErrorCode.MERGE_NOT_SAME_PERSON: 422,
    ErrorCode.MERGE_ALREADY_MERGED: 409,
    ErrorCode.MERGE_PUPIL_ACCOUNT: 422,
    ErrorCode.MERGE_NOT_FOUND: 404,
    ErrorCode.CHILD_NOT_ATTACHED: 404,
    ErrorCode.DISPUTE_NOT_FOUND: 404,
    ErrorCode.DISPUTE_CLOSED: 409,
    ErrorCode.STAFF_ACCOUNT_NOT_FOUND: 404,
    ErrorCode.STAFF_GUARDIAN_NOT_FOUND: 404,
    ErrorCode.STAFF_ACCOUNT_EXISTS: 409,
    ErrorCode.REISSUE_SELF_RECOVERY: 409,
    ErrorCode.REISSUE_ACCOUNT_MERGED: 409,
    ErrorCode.REISSUE_NOT_FOUND: 404,
    ErrorCode.REISSUE_NO_LETTER: 404,
    ErrorCode.PAGE_NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.REQUEST_REFUSED: 400,
    ErrorCode.CROSS_SITE_REQUEST: 403,
    ErrorCode.REQUEST_TOO_LARGE: 413,
    ErrorCode.SERVICE_UNAVAILABLE: 503,
    ErrorCode.FORM_EXPIRED: 403,
}


# Where a pupil reads the refusal at sign-in: their own school, not "your child's".
PUPIL_MESSAGES: dict[ErrorCode, str] = {
    ErrorCode.CREDENTIALS_EXPIRED: (
        "Les identifiants transmis par l'établissement ne sont plus valables (plus de 3 mois). "
        "Demandez-en de nouveaux à votre établissement (vie scolaire ou secrétariat)."
    ),
    ErrorCode.ACCOUNT_UNAVAILABLE: "Ce compte ne peut pas être utilisé. Adressez-vous à votre établissement.",
}


def message(code: ErrorCode) -> str:
    return MESSAGES[code]


class DomainError(Exception):
    """A refusal the person must read, with its stable code (raised outside workflows)."""

    def __init__(
        self, code: ErrorCode, details: list[dict] | None = None, message: str | None = None
    ):
        self.code = code
        self.details = details or []
        self.message = message or MESSAGES[code]
        super().__init__(f"{code}: {self.message}")


def refusal_for(code: ErrorCode, account_kind: str) -> DomainError:
    """The refusal worded for who reads it: a pupil or a guardian."""
    return DomainError(code, message=PUPIL_MESSAGES.get(code) if account_kind == "pupil" else None)
