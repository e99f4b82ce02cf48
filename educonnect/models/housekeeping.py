"""Messages of the nightly housekeeping (`workflows/housekeeping.py`): what to
purge and how many rows went. Counts only: no row, identifier or address
travels here."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel

from educonnect import policies


class Purge(StrEnum):
    """One kind of data that only grows, in the order the workflow purges them."""

    # Since the OpenID Connect provider (runs that started before skip them:
    # `workflow.patched`). Before the sessions: their rows refer to a session.
    SERVICE_TOKENS = "oidc_tokens"
    SERVICE_CODES = "oidc_codes"  # after the tokens, which refer to their code
    SERVICE_SESSIONS = "service_sessions"
    CLIENT_ASSERTION_IDS = "client_assertion_ids"
    SESSIONS = "sessions"
    STAFF_SESSIONS = "staff_sessions"
    EMAIL_LINKS = "email_links"
    SMS_CODES = "sms_codes"
    SMS_CODE_SUBMISSIONS = "sms_code_submissions"
    SMS_DAILY_COUNTS = "sms_daily_counts"
    PROCESS_BINDINGS = "process_bindings"
    REQUEST_COUNTERS = "request_counters"
    SIGN_IN_IP_FAILURES = "sign_in_ip_failures"
    SIGN_IN_FAILURES = "sign_in_failures"
    PENDING_PASSWORDS = "pending_passwords"
    # Since issue 11 (runs that started before skip them: `workflow.patched`).
    FRANCECONNECT_LOGOUTS = "franceconnect_logouts"
    FRANCECONNECT_MOBILE_TRIES = "franceconnect_mobile_tries"


PURGES_SINCE_FRANCECONNECT_LOGOUT = frozenset(
    {Purge.FRANCECONNECT_LOGOUTS, Purge.FRANCECONNECT_MOBILE_TRIES}
)
PURGES_SINCE_SERVICE_GRANTS = frozenset(
    {Purge.SERVICE_TOKENS, Purge.SERVICE_CODES, Purge.SERVICE_SESSIONS, Purge.CLIENT_ASSERTION_IDS}
)


# For operators (Web UI details, README).
PURGE_LABELS = {
    Purge.SERVICE_TOKENS: f"Jetons d'accès des services expirés depuis {policies.SERVICE_TOKEN_RETENTION.days} jour",
    Purge.SERVICE_CODES: "Codes d'autorisation des services dont les jetons ont expiré",
    Purge.SERVICE_SESSIONS: f"Sessions auprès des services terminées depuis {policies.SERVICE_SESSION_RETENTION.days} jours",
    Purge.CLIENT_ASSERTION_IDS: "Identifiants d'assertions des services expirées",
    Purge.SESSIONS: f"Sessions des familles expirées ou révoquées depuis {policies.SESSION_RETENTION.days} jours",
    Purge.STAFF_SESSIONS: f"Sessions des personnels expirées ou révoquées depuis {policies.SESSION_RETENTION.days} jours",
    Purge.EMAIL_LINKS: f"Liens envoyés par courriel expirés depuis {policies.EMAIL_LINK_RETENTION.days} jours",
    Purge.SMS_CODES: f"Codes SMS expirés depuis {policies.SMS_CODE_RETENTION.days} jours",
    Purge.SMS_CODE_SUBMISSIONS: f"Codes SMS saisis dont le code a expiré depuis {policies.SMS_CODE_RETENTION.days} jours",
    Purge.SMS_DAILY_COUNTS: "Compteurs quotidiens de SMS des jours passés",
    Purge.PROCESS_BINDINGS: "Liaisons navigateur dont le cookie a expiré",
    Purge.REQUEST_COUNTERS: "Demandes comptées hors de leur fenêtre de limitation",
    Purge.SIGN_IN_IP_FAILURES: "Échecs de connexion par adresse hors de leur fenêtre",
    Purge.SIGN_IN_FAILURES: (
        "Échecs de connexion d'identifiants inconnus et séries d'échecs des connexions du personnel, "
        "sans échec depuis un jour"
    ),
    Purge.PENDING_PASSWORDS: "Mots de passe en attente de démarches terminées",
    Purge.FRANCECONNECT_LOGOUTS: "Déconnexions de FranceConnect expirées depuis un jour",
    Purge.FRANCECONNECT_MOBILE_TRIES: "Numéros essayés avec FranceConnect des jours passés",
}


class HousekeepingInput(BaseModel):
    """Nothing to choose: every purge runs with the retention of `educonnect.policies`."""


class PurgeRequest(BaseModel):
    purge: Purge


class PurgeResult(BaseModel):
    purge: Purge
    removed: int


class HousekeepingStep(StrEnum):
    PURGING = "purging"
    COMPLETED = "completed"


class HousekeepingResult(BaseModel):
    removed: dict[Purge, int]

    @property
    def total(self) -> int:
        return sum(self.removed.values())


class HousekeepingStatus(BaseModel):
    step: HousekeepingStep
    current: Purge | None = None
    removed: dict[Purge, int]
