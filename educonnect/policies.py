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
BIRTHDATE_MAX_ATTEMPTS = 3

# Password policy (DESIGN §4).
PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 14

# Email links (DESIGN §4): at least 128 random bits.
LINK_TOKEN_BYTES = 32
