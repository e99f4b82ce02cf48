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
EMAIL_CHECK = "/mon-compte/adresse"  # FAQ 7: check or correct the address (MY_ACCOUNT_EMAIL)

# "Mon compte" (DESIGN §3.8–3.10; api.web.account): the account menu's "Mon compte" leads here.
MY_ACCOUNT = "/mon-compte"
MY_ACCOUNT_SIGN_IN_AGAIN = "/mon-compte/confirmer-mon-identite"  # a recent sign-in, then back
MY_ACCOUNT_EMAIL = "/mon-compte/adresse"
MY_ACCOUNT_EMAIL_RESEND = "/mon-compte/adresse/renvoyer"
MY_ACCOUNT_EMAIL_CANCEL = "/mon-compte/adresse/annuler"
MY_ACCOUNT_PASSWORD = "/mon-compte/mot-de-passe"
MY_ACCOUNT_MERGE = "/mon-compte/regrouper-mes-comptes"
MY_ACCOUNT_MERGE_DONE = "/mon-compte/regrouper-mes-comptes/termine"
MY_ACCOUNT_NOT_MY_CHILD = "/mon-compte/enfants/{pupil_id}/pas-mon-enfant"
MY_ACCOUNT_NOT_MY_CHILD_DONE = "/mon-compte/enfants/signalement-transmis"
