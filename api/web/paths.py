"""The addresses of the pages, in one place (French, apart from the JSON API's
English paths). Pages not built yet are listed too, so links point where they
will live."""

from __future__ import annotations

from educonnect.emails.corrections import STAFF_REQUEST_PATH

HOME = "/"
SIGN_IN = "/connexion"  # POST of the sign-in form on HOME
SIGN_OUT = "/deconnexion"
PORTAL = "/portail"

# Guardian activation (DESIGN §3.1): one page per step of the workflow.
ACTIVATION_PROFILE = "/activation/gerer-mon-compte"
ACTIVATION_WAITING = "/activation/activer-mon-compte"
ACTIVATION_RESEND = "/activation/activer-mon-compte/renvoyer"
ACTIVATION_CHANGE_EMAIL = "/activation/activer-mon-compte/adresse"
ACTIVATION_BLOCKED = "/activation/date-de-naissance-bloquee"
ACTIVATION_DONE = "/activation/terminee"

# Pupil activation (DESIGN §3.4): the guardian's steps, the address optional.
PUPIL_ACTIVATION_PROFILE = "/activation-eleve/gerer-mon-compte"
PUPIL_ACTIVATION_WAITING = "/activation-eleve/activer-mon-compte"
PUPIL_ACTIVATION_RESEND = "/activation-eleve/activer-mon-compte/renvoyer"
PUPIL_ACTIVATION_CHANGE_EMAIL = "/activation-eleve/activer-mon-compte/adresse"
PUPIL_ACTIVATION_SKIP_EMAIL = "/activation-eleve/activer-mon-compte/sans-adresse"
PUPIL_ACTIVATION_BLOCKED = "/activation-eleve/date-de-naissance-bloquee"
PUPIL_ACTIVATION_DONE = "/activation-eleve/terminee"

# SMS self-registration (DESIGN §3.2): the steps of one attempt live under
# `<SMS_REGISTRATION>/<id>/...` (the attempt's browser cookie is scoped there).
SMS_REGISTRATION = "/inscription"
SMS_REGISTRATION_CODE = "/inscription/{registration_id}/code"
SMS_REGISTRATION_RESEND = "/inscription/{registration_id}/code/renvoyer"
SMS_REGISTRATION_BIRTHDATE = "/inscription/{registration_id}/date-de-naissance"
SMS_REGISTRATION_BLOCKED = "/inscription/{registration_id}/date-de-naissance-bloquee"
SMS_REGISTRATION_PASSWORD = "/inscription/{registration_id}/mot-de-passe"
SMS_REGISTRATION_WELCOME = "/inscription/{registration_id}/bienvenue"
SMS_REGISTRATION_ENDED = "/inscription/{registration_id}/terminee"
# FranceConnect (DESIGN §3.3): the OpenID Connect redirect and its return
# (api/routers/franceconnect.py), then the first visit's pages (api/web/franceconnect.py),
# under /franceconnect where the first visit's browser cookie is sent.
FRANCECONNECT_LOGIN = "/franceconnect/login"
FRANCECONNECT_REFUSED = "/franceconnect/connexion-impossible"  # ?motif=<error code>
FRANCECONNECT_FIRST_VISIT = "/franceconnect/premiere-connexion"  # -> the page of its step
FRANCECONNECT_MOBILE = "/franceconnect/premiere-connexion/mobile"
FRANCECONNECT_CODE = "/franceconnect/premiere-connexion/code"
FRANCECONNECT_RESEND_CODE = "/franceconnect/premiere-connexion/code/renvoyer"
FRANCECONNECT_CHANGE_MOBILE = "/franceconnect/premiere-connexion/modifier-le-numero"
FRANCECONNECT_BIRTHDATE = "/franceconnect/premiere-connexion/date-de-naissance"
FRANCECONNECT_BLOCKED = "/franceconnect/premiere-connexion/date-de-naissance-bloquee"
FRANCECONNECT_ENDED = "/franceconnect/premiere-connexion/terminee"

# Not built yet (issue 12, later pages); the JSON routes serve these processes today.
LOST_IDENTIFIER = "/identifiant-oublie"
LOST_PASSWORD = "/mot-de-passe-oublie"

# "Mon compte" (DESIGN §3.8–3.10; api.web.account): the account menu's "Mon compte" leads here.
MY_ACCOUNT = "/mon-compte"
MY_ACCOUNT_SIGN_IN_AGAIN = "/mon-compte/confirmer-mon-identite"  # a recent sign-in, then back
MY_ACCOUNT_EMAIL = "/mon-compte/adresse"
EMAIL_CHECK = MY_ACCOUNT_EMAIL  # FAQ 7: check or correct the address
MY_ACCOUNT_EMAIL_RESEND = "/mon-compte/adresse/renvoyer"
MY_ACCOUNT_EMAIL_CANCEL = "/mon-compte/adresse/annuler"
MY_ACCOUNT_PASSWORD = "/mon-compte/mot-de-passe"
MY_ACCOUNT_MERGE = "/mon-compte/regrouper-mes-comptes"
MY_ACCOUNT_MERGE_DONE = "/mon-compte/regrouper-mes-comptes/termine"
MY_ACCOUNT_NOT_MY_CHILD = "/mon-compte/enfants/{pupil_id}/pas-mon-enfant"
MY_ACCOUNT_NOT_MY_CHILD_DONE = "/mon-compte/enfants/signalement-transmis"

# Recovery (DESIGN §3.6; api/web/recovery.py): the steps after LOST_IDENTIFIER
# (also in the SMS of educonnect.sms_texts) and LOST_PASSWORD above.
LOST_IDENTIFIER_BY_EMAIL = "/identifiant-oublie/courriel"
LOST_IDENTIFIER_BY_SMS = "/identifiant-oublie/sms"
LOST_IDENTIFIER_SENT = "/identifiant-oublie/envoye"
LOST_PASSWORD_BY_EMAIL = "/mot-de-passe-oublie/courriel"
LOST_PASSWORD_SENT = "/mot-de-passe-oublie/envoye"
LOST_PASSWORD_BY_SMS = "/mot-de-passe-oublie/sms"  # POST; then <this>/<reset-id>/...
LOST_PASSWORD_DONE = "/mot-de-passe-oublie/modifie"
PASSWORD_RESET_LINK = "/recovery/password/link"  # opened from the email (api/routers/recovery.py)


def lost_password_code(reset_id: object) -> str:
    return f"{LOST_PASSWORD_BY_SMS}/{reset_id}"


def lost_password_resend(reset_id: object) -> str:
    return f"{LOST_PASSWORD_BY_SMS}/{reset_id}/renvoyer"


def lost_password_new(reset_id: object) -> str:
    return f"{LOST_PASSWORD_BY_SMS}/{reset_id}/nouveau-mot-de-passe"


# Assistance (DESIGN §3.7; api/web/assistance.py): the birthdate-correction
# form of a blocked guardian activation, following a request, a ticket.
ASSISTANCE_CORRECTION = "/assistance/correction-date-de-naissance"
ASSISTANCE_TICKET = "/assistance/contact"
ASSISTANCE_TICKET_SENT = "/assistance/contact/envoyee"


def assistance_request(request_id: object) -> str:
    return f"/assistance/demandes/{request_id}"


def assistance_answer(request_id: object) -> str:
    return f"/assistance/demandes/{request_id}/reponse"


# The correction pages of the other blocked processes (api.web.assistance,
# `add_blocked_correction_pages`), where each one's browser cookie is sent.
PUPIL_CORRECTION = "/activation-eleve/correction-date-de-naissance"
SMS_REGISTRATION_CORRECTION = "/inscription/{registration_id}/correction-date-de-naissance"
FRANCECONNECT_CORRECTION = "/franceconnect/premiere-connexion/correction-date-de-naissance"


# Staff back-office (issue 13; api/web/staff/): school administrators and académie
# support, with their own session cookie (path /gestion). A page without a staff
# session sends to GESTION_SIGN_IN?retour=<the page>, and back after sign-in.
GESTION = "/gestion"  # -> the first page of the member's navigation
GESTION_SIGN_IN = "/gestion/connexion"
GESTION_SIGN_OUT = "/gestion/deconnexion"
GESTION_PASSWORD = "/gestion/mot-de-passe"
GESTION_REQUESTS = "/gestion/demandes"  # ?onglet=a-traiter|information|escaladees|closes&uai=
GESTION_REQUEST = STAFF_REQUEST_PATH  # "/gestion/demandes/{request_id}", the staff emails' link
GESTION_REQUEST_DECISION = "/gestion/demandes/{request_id}/{decision}"  # accepter|refuser|question
GESTION_TICKETS = "/gestion/tickets"
GESTION_TICKET = "/gestion/tickets/{ticket_id}"
GESTION_DISPUTES = "/gestion/contestations"
GESTION_DISPUTE = "/gestion/contestations/{dispute_id}"
GESTION_AUDIT = "/gestion/journal"
# Provisioning and families (issue 13 items 5 and 6).
GESTION_IMPORTS = "/gestion/imports"
GESTION_IMPORT = "/gestion/imports/{import_id}"
GESTION_FAMILIES = "/gestion/familles"  # ?nom=
# api/web/staff/imports.py: the import's progress for its page's script, its
# refused lines (CSV), its letters (one PDF).
GESTION_IMPORT_PROGRESS = "/gestion/imports/{import_id}/avancement"
GESTION_IMPORT_ERRORS_CSV = "/gestion/imports/{import_id}/lignes-refusees.csv"
GESTION_IMPORT_LETTERS = "/gestion/imports/{import_id}/courriers.pdf"
# api/web/staff/families.py: new provisional credentials (POST), a guardian's
# account (POST), the outcome of either and its letter.
GESTION_FAMILY_REISSUE = "/gestion/familles/comptes/{account_id}/identifiants"
GESTION_FAMILY_CREATE = "/gestion/familles/responsables/{guardian_id}/compte"
GESTION_FAMILY_HANDOVER = "/gestion/familles/remises/{reissue_id}"
GESTION_FAMILY_LETTER = "/gestion/familles/remises/{reissue_id}/courrier.pdf"

ESCALATED_TAB = "escaladees"


def gestion_request(request_id: object) -> str:
    return GESTION_REQUEST.format(request_id=request_id)


def gestion_ticket(ticket_id: object) -> str:
    return GESTION_TICKET.format(ticket_id=ticket_id)


def gestion_import(import_id: object) -> str:
    return GESTION_IMPORT.format(import_id=import_id)


def gestion_import_progress(import_id: object) -> str:
    return GESTION_IMPORT_PROGRESS.format(import_id=import_id)


def gestion_import_errors(import_id: object) -> str:
    return GESTION_IMPORT_ERRORS_CSV.format(import_id=import_id)


def gestion_import_letters(import_id: object) -> str:
    return GESTION_IMPORT_LETTERS.format(import_id=import_id)


def gestion_family_reissue(account_id: object) -> str:
    return GESTION_FAMILY_REISSUE.format(account_id=account_id)


def gestion_family_create(guardian_id: object) -> str:
    return GESTION_FAMILY_CREATE.format(guardian_id=guardian_id)


def gestion_handover(reissue_id: object) -> str:
    return GESTION_FAMILY_HANDOVER.format(reissue_id=reissue_id)


def gestion_family_letter(reissue_id: object) -> str:
    return GESTION_FAMILY_LETTER.format(reissue_id=reissue_id)
