"""The numbers of the processes (DESIGN §3 and §4).

Workflow code reads these constants, never the environment: a value read from
the environment could differ between a run and its replay.
"""

from datetime import timedelta

# Activation with school-issued credentials (DESIGN §3.1, FAQ 2.2).
# "valables 3 mois" (what families read): 92 days, so that no 3 months are shorter.
PROVISIONAL_CREDENTIALS_VALIDITY_MONTHS = 3
PROVISIONAL_CREDENTIALS_VALIDITY = timedelta(days=92)
ACTIVATION_REMINDER_AFTER = timedelta(days=3)
ACTIVATION_LINK_VALIDITY = timedelta(days=7)
LINK_RESEND_COOLDOWN = timedelta(seconds=60)
# Links a person may ask for in one activation (resends + corrections): the
# platform must not become a way to mail strangers over and over.
ACTIVATION_MAX_LINKS = 10
BIRTHDATE_MAX_ATTEMPTS = 3

# Password policy (DESIGN §4).
PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 14

# Email links (DESIGN §4): at least 128 random bits.
LINK_TOKEN_BYTES = 32

# SMS codes (DESIGN §4), shared by SMS self-registration and FranceConnect
# (`workflows.steps.sms_code_step.SmsCodeStep`).
SMS_CODE_DIGITS = 6
SMS_CODE_VALIDITY = timedelta(minutes=10)
SMS_CODE_MAX_FAILURES = 5  # per process: a new code does not reset the count
SMS_RESEND_COOLDOWN = timedelta(seconds=60)
SMS_MAX_SENDS = 3  # per process, the first code included
SMS_DAILY_CAP_PER_NUMBER = 10  # SMS of any kind per number per day (Europe/Paris)

# SMS self-registration, "Je n'ai pas de compte" (DESIGN §3.2, FAQ 2.1).
REGISTRATION_IDLE_TIMEOUT = timedelta(minutes=30)  # without moving to the next step
# Blocked on the birthdate: how long the attempt waits for a correction, and how
# long the person has to come back once the correction is approved.
REGISTRATION_BLOCKED_MAX_WAIT = timedelta(days=31)
REGISTRATION_RESUME_WINDOW = timedelta(days=7)

# Sign-in (DESIGN §3.5, §4, FAQ 3): progressive delays per identifier, lock
# after 100 consecutive failures, per-IP limit (sliding window).
SIGN_IN_FREE_FAILURES = 3  # consecutive failures before the first delay
SIGN_IN_FIRST_DELAY = timedelta(seconds=1)  # then 2 s, 4 s, ... doubling
SIGN_IN_MAX_DELAY = timedelta(minutes=15)
SIGN_IN_MAX_CONSECUTIVE_FAILURES = 100  # the 100th failure locks the account
SIGN_IN_IP_MAX_FAILURES = 30
SIGN_IN_IP_WINDOW = timedelta(minutes=10)

# Birthdate correction awaiting staff approval (DESIGN §3.7, FAQ 6).
CORRECTION_REMINDER_AFTER = timedelta(days=2)  # staff reminded without a decision
CORRECTION_ESCALATION_AFTER = timedelta(days=5)  # then académie support takes over
CORRECTION_CLOSE_AFTER = timedelta(days=30)  # closed without decision, the person told
# An approval waits this long at most for the blocked processes to confirm they resumed.
CORRECTION_UNBLOCK_CONFIRM_WAIT = timedelta(minutes=1)

# Staff accounts (DESIGN §2, §4): strong passwords; failed sign-ins get the
# families' progressive delays (SIGN_IN_*), per login and client address
# (`educonnect.staff_sign_in_limits`), never a lock-out.
STAFF_PASSWORD_MIN_LENGTH = 12
STAFF_PASSWORD_MAX_LENGTH = 128
STAFF_SESSION_TTL = timedelta(hours=8)

# FranceConnect (DESIGN §3.3, FAQ 2.3).
FRANCECONNECT_ACR_VALUES = "eidas1"  # asked of the provider
FRANCECONNECT_ACCEPTED_ACR = ("eidas1", "eidas2", "eidas3")  # eidas1 or a higher level
FRANCECONNECT_LOGIN_VALIDITY = timedelta(minutes=10)  # from the redirect to the callback
FRANCECONNECT_LINK_IDLE_TIMEOUT = timedelta(minutes=30)  # first visit, without progress
# Blocked on the birthdate: how long the first visit waits for a correction, and
# how long the person has to come back (through FranceConnect) once it is approved.
FRANCECONNECT_BLOCKED_MAX_WAIT = timedelta(days=31)
FRANCECONNECT_RESUME_WINDOW = timedelta(days=7)
# "Modifier le numéro": mobile numbers tried per first visit (the first one
# included), and per FranceConnect identity per day (Europe/Paris) over all its
# first visits (a fresh one after an expired one does not start the count again).
FRANCECONNECT_MOBILES_PER_LINK = 3
FRANCECONNECT_MOBILES_PER_IDENTITY_PER_DAY = 6
FRANCECONNECT_LOGOUT_VALIDITY = timedelta(minutes=10)  # from sign-out to the provider's return
FRANCECONNECT_LOGOUT_RETENTION = timedelta(days=1)  # a logout's state, after it expired

# Account management (DESIGN §3.6, §3.8, §3.9, §4; FAQ 4, 5, 7–11).
RECENT_SIGN_IN_MAX_AGE = timedelta(minutes=15)  # email and password changes
EMAIL_CHANGE_LINK_VALIDITY = timedelta(hours=72)  # from each new link
EMAIL_CHANGE_MAX_LINKS = 10  # links per pending change (resends + other addresses)
PASSWORD_RESET_LINK_VALIDITY = timedelta(hours=1)
PASSWORD_RESET_SMS_VALIDITY = timedelta(minutes=30)  # code and new password, from the request
# Lost identifier / lost password requests (sliding windows), whatever the answer.
RECOVERY_MAX_PER_CONTACT = 5  # per email address or mobile number typed
RECOVERY_CONTACT_WINDOW = timedelta(hours=1)
RECOVERY_MAX_PER_IP = 30
RECOVERY_IP_WINDOW = timedelta(hours=1)
# Assistance form tickets (no session needed): enough for a family, not a flood
# of a school's staff queue.
TICKETS_MAX_PER_EMAIL = 5
TICKETS_EMAIL_WINDOW = timedelta(days=1)
TICKETS_MAX_PER_IP = 20
TICKETS_IP_WINDOW = timedelta(hours=1)

# Housekeeping (`workflows/housekeeping.py`, every night): how long rows that
# serve no more stay in PostgreSQL. Personal data and secrets' hashes are kept
# no longer than a process, a limit or an operator may need them.
# Sessions (families' and staff's): 30 days after they expired or were
# revoked (an ended session opens nothing; the rows help answer support
# questions for a month). An account's latest activation session stays:
# `sessions.activation_may_be_running` reads it.
SESSION_RETENTION = timedelta(days=30)
# Email links (their token's HMAC, the address): 30 days after they expired
# (a link used or killed has expired by then too).
EMAIL_LINK_RETENTION = timedelta(days=30)
# SMS codes (their HMAC, the mobile): 7 days after they expired. A code that
# was accepted also stays while its process runs: the correction form of a
# blocked registration or FranceConnect first visit reads the number from it.
SMS_CODE_RETENTION = timedelta(days=7)
# Typed codes (`sms_code_submissions`): 7 days after the code they tried expired.
SMS_SUBMISSION_RETENTION = SMS_CODE_VALIDITY + timedelta(days=7)
# Browser bindings (`process_bindings`): a day after their own end (the
# cookie's lifetime, stored by `api.process_binding.BrowserBinding` at bind time).
PROCESS_BINDING_MARGIN = timedelta(days=1)
# Sign-in failures of an identifier that belongs to no account: after a day
# without a failure. Never those of an account's identifier, nor a locked one
# (the delays, the lock and the 100-failure rule count on them).
UNKNOWN_IDENTIFIER_FAILURES_QUIET = timedelta(days=1)
# A staff sign-in series (login and address) after a day without a failure:
# its delay ended long ago; it starts again from the free failures.
STAFF_SIGN_IN_FAILURES_QUIET = timedelta(days=1)
# A password waiting for its process (`pending_passwords`) goes once the
# process has ended; a row younger than this is left alone (the API stores it
# just before it starts or signals the process).
PENDING_PASSWORD_GRACE = timedelta(days=1)
# Rows removed by one DELETE statement (one short transaction each).
HOUSEKEEPING_BATCH_SIZE = 5000

# Production mode (`educonnect.production_mode`): what the API and the worker
# refuse to start with.
SECRET_KEY_MIN_LENGTH = 32  # characters of SECRET_KEY
# Argon2id at least as costly as one of OWASP's minimum profiles
# (memory KiB, passes), all with parallelism 1 (DESIGN §7).
ARGON2_MIN_PROFILES = ((47104, 1), (19456, 2), (12288, 3), (9216, 4), (7168, 5))
# Strict-Transport-Security in production (`api.security_headers`): two years.
HSTS_MAX_AGE = timedelta(days=730)

# --- operations ----------------------------------------------------------------------

# Each dependency of the readiness check (`GET /health/ready`) answers within this.
READINESS_CHECK_TIMEOUT_S = 2.0

# Signing into the school services (DESIGN §10, educonnect.service_provider).
SERVICE_CODE_VALIDITY = timedelta(minutes=1)  # authorization code, single use
SERVICE_ACCESS_TOKEN_VALIDITY = timedelta(minutes=10)  # for userinfo
SERVICE_ID_TOKEN_VALIDITY = timedelta(minutes=10)
# A retired signing key stays in the JWKS this long: every token it signed has expired.
SIGNING_KEY_PUBLISHED_AFTER_RETIREMENT = max(
    SERVICE_ID_TOKEN_VALIDITY, SERVICE_ACCESS_TOKEN_VALIDITY
) + timedelta(minutes=5)
SERVICE_LOGOUT_TOKEN_VALIDITY = timedelta(minutes=2)
SERVICE_LOGOUT_TIMEOUT = timedelta(seconds=5)  # each service's back-channel logout answer
# A person sent to sign in (or activate) on the way to a service comes back to it within this.
SERVICE_RETURN_VALIDITY = timedelta(days=1)
# A private_key_jwt assertion is accepted up to this after its `exp` (clock skew):
# its id (`client_assertion_ids`) is kept that long after `exp`, or it could be replayed.
CLIENT_ASSERTION_LEEWAY = timedelta(seconds=60)

# Housekeeping of what the provider hands to the services (`service_grants`):
# Access tokens (their HMAC): a day after they expired.
SERVICE_TOKEN_RETENTION = timedelta(days=1)
# Authorization codes (their HMAC): a code used twice revokes the tokens it gave
# (`service_grants.find_code`), which live up to SERVICE_ACCESS_TOKEN_VALIDITY after
# the code expired; so a code stays until its tokens are gone (a code removed is
# refused as unknown, which is all a replay needs once its tokens have expired).
SERVICE_CODE_RETENTION = SERVICE_ACCESS_TOKEN_VALIDITY + SERVICE_TOKEN_RETENTION
# A service session (`sid`): as long as its EduConnect session's row, SESSION_RETENTION
# after it ended (or after the EduConnect session ended, whichever came first).
SERVICE_SESSION_RETENTION = SESSION_RETENTION
