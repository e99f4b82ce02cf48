"""The numbers of the processes (DESIGN §3 and §4).

Workflow code reads these constants, never the environment: a value read from
the environment could differ between a run and its replay.
"""

from datetime import timedelta

# Activation with school-issued credentials (DESIGN §3.1, FAQ 2.2).
PROVISIONAL_CREDENTIALS_VALIDITY = timedelta(days=92)  # "valable 3 mois"
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
# (`workflows.sms_code_step.SmsCodeStep`).
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
