"""The addresses of the pages, in one place (French, apart from the JSON API's
English paths). Pages not built yet are listed too, so links point where they
will live."""

from __future__ import annotations

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

# Not built yet (issue 12, later pages); the JSON routes serve these processes today.
FRANCECONNECT_LOGIN = (
    "/franceconnect/login"  # the OpenID Connect redirect (api/routers/franceconnect.py)
)
LOST_IDENTIFIER = "/identifiant-oublie"
LOST_PASSWORD = "/mot-de-passe-oublie"
SMS_REGISTRATION = "/inscription"
PUPIL_ACTIVATION = "/pupil-activation"  # JSON until the pupil's pages exist
EMAIL_CHECK = "/account/email"  # JSON until "Mon compte" exists

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


# The pupil's correction of their own birthdate (pupil activation blocked).
PUPIL_CORRECTION = "/activation-eleve/correction-date-de-naissance"
