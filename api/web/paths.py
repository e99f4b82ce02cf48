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

# "Mon compte" (DESIGN §3.8-3.10): the account menu of the header links here.
ACCOUNT = "/mon-compte"

# Not built yet (issue 12, later pages); the JSON routes serve these processes today.
LOST_IDENTIFIER = "/identifiant-oublie"
LOST_PASSWORD = "/mot-de-passe-oublie"
SMS_REGISTRATION = "/inscription"
PUPIL_ACTIVATION = "/pupil-activation"  # JSON until the pupil's pages exist
EMAIL_CHECK = "/account/email"  # JSON until "Mon compte" exists
