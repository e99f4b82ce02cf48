-- SMS codes (DESIGN §4) and SMS self-registration (DESIGN §3.2, FAQ 2.1).

-- Guardians are matched on their mobile number (E.164) first, then on names.
CREATE INDEX guardians_mobile ON guardians (mobile);

-- One row per SMS code a process issued. Only the code's HMAC is stored
-- (salted with the process id); issuing a new code revokes the previous one.
-- A row with outcome 'daily_cap' records a send the daily cap refused (no code).
CREATE TABLE sms_codes (
    id              uuid PRIMARY KEY,
    idempotency_key text NOT NULL UNIQUE,
    process_id      text NOT NULL,
    purpose         text NOT NULL,
    mobile          text NOT NULL,
    outcome         text NOT NULL CHECK (outcome IN ('issued', 'daily_cap')),
    code_hash       bytea,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    sent_at         timestamptz,
    used_at         timestamptz,
    revoked_at      timestamptz,
    CHECK ((outcome = 'issued') = (code_hash IS NOT NULL))
);
CREATE INDEX sms_codes_process ON sms_codes (process_id);

-- What a person typed as a code: the API stores its HMAC here and hands the
-- workflow the row id only; the check activity records the answer and forgets
-- the hash.
CREATE TABLE sms_code_submissions (
    id              uuid PRIMARY KEY,
    process_id      text NOT NULL,
    code_hash       bytea,
    created_at      timestamptz NOT NULL DEFAULT now(),
    checked_at      timestamptz,
    matched         boolean
);
CREATE INDEX sms_code_submissions_process ON sms_code_submissions (process_id);

-- Daily cap of SMS per phone number (Europe/Paris calendar day), every kind
-- of SMS included: a number cannot be flooded by repeated requests.
CREATE TABLE sms_daily_counts (
    mobile          text NOT NULL,
    day             date NOT NULL,
    sent            integer NOT NULL CHECK (sent >= 0),
    PRIMARY KEY (mobile, day)
);

-- SMS other than codes (e.g. "you already have an account"), keyed for
-- idempotency: a retried activity finds its row and does not send twice.
CREATE TABLE sent_sms (
    idempotency_key text PRIMARY KEY,
    process_id      text NOT NULL,
    mobile          text NOT NULL,
    template        text NOT NULL,
    outcome         text NOT NULL CHECK (outcome IN ('accepted', 'daily_cap')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);

-- One row per registration that reached the password step. The new password's
-- hash waits here (never in Temporal) until the account is created, then is
-- cleared; account_id then records what the registration created.
CREATE TABLE registrations (
    process_id      text PRIMARY KEY,
    guardian_id     uuid NOT NULL REFERENCES guardians (id),
    password_hash   text,
    account_id      uuid REFERENCES accounts (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    completed_at    timestamptz,
    CHECK ((completed_at IS NULL) OR (account_id IS NOT NULL AND password_hash IS NULL))
);
CREATE INDEX registrations_guardian ON registrations (guardian_id);
