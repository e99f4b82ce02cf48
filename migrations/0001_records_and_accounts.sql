-- School records (référentiel fed by SIECLE / ONDE) and accounts (DESIGN §2).

CREATE TABLE schools (
    uai         text PRIMARY KEY CHECK (uai ~ '^[0-9]{7}[A-Z]$'),
    name        text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('ecole', 'college', 'lycee')),
    degree      smallint NOT NULL CHECK (degree IN (1, 2)),
    academie    text NOT NULL,
    city        text NOT NULL
);

CREATE TABLE pupils (
    id          uuid PRIMARY KEY,
    last_name   text NOT NULL,
    first_name  text NOT NULL,
    birthdate   date NOT NULL,
    uai         text NOT NULL REFERENCES schools (uai),
    class_name  text NOT NULL,
    level       text NOT NULL
);
CREATE INDEX pupils_uai ON pupils (uai);

CREATE TABLE guardians (
    id          uuid PRIMARY KEY,
    last_name   text NOT NULL,
    first_name  text NOT NULL,
    mobile      text,            -- E.164, as given on the "fiche de renseignements"
    email       text
);

CREATE TABLE guardian_pupils (
    guardian_id uuid NOT NULL REFERENCES guardians (id),
    pupil_id    uuid NOT NULL REFERENCES pupils (id),
    relationship text NOT NULL DEFAULT 'representant_legal',
    PRIMARY KEY (guardian_id, pupil_id)
);
CREATE INDEX guardian_pupils_pupil ON guardian_pupils (pupil_id);

CREATE TABLE accounts (
    id                      uuid PRIMARY KEY,
    kind                    text NOT NULL CHECK (kind IN ('guardian', 'pupil')),
    identifier              text NOT NULL UNIQUE,
    guardian_id             uuid UNIQUE REFERENCES guardians (id),
    pupil_id                uuid UNIQUE REFERENCES pupils (id),
    state                   text NOT NULL DEFAULT 'provisioned'
                            CHECK (state IN ('provisioned', 'activating', 'active', 'locked', 'merged')),
    password_hash           text,
    provisional_password_hash text,
    provisional_expires_at  timestamptz,
    email                   text,
    email_verified_at       timestamptz,
    mobile                  text,
    mobile_verified_at      timestamptz,
    created_at              timestamptz NOT NULL DEFAULT now(),
    activated_at            timestamptz,
    updated_at              timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'guardian') = (guardian_id IS NOT NULL)),
    CHECK ((kind = 'pupil') = (pupil_id IS NOT NULL))
);

-- What a person typed during a process and that must not enter Temporal:
-- the new password's hash waits here until the process makes it effective.
CREATE TABLE pending_passwords (
    account_id      uuid NOT NULL REFERENCES accounts (id),
    process_id      text NOT NULL,
    password_hash   text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, process_id)
);

-- Single-use email links (DESIGN §4): only the token's HMAC is stored.
CREATE TABLE email_links (
    id              uuid PRIMARY KEY,
    idempotency_key text NOT NULL UNIQUE,
    account_id      uuid NOT NULL REFERENCES accounts (id),
    process_id      text NOT NULL,
    purpose         text NOT NULL,
    email           text NOT NULL,
    token_hash      bytea NOT NULL UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    sent_at         timestamptz,
    used_at         timestamptz,
    revoked_at      timestamptz
);
CREATE INDEX email_links_process ON email_links (process_id);

-- Every email sent by the platform, keyed for idempotency: a retried activity
-- finds its row and does not send twice.
CREATE TABLE sent_emails (
    idempotency_key text PRIMARY KEY,
    account_id      uuid REFERENCES accounts (id),
    to_address      text NOT NULL,
    subject         text NOT NULL,
    template        text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);

-- Server-side sessions; the cookie carries a random token, the table its HMAC.
CREATE TABLE sessions (
    id              uuid PRIMARY KEY,
    token_hash      bytea NOT NULL UNIQUE,
    account_id      uuid NOT NULL REFERENCES accounts (id),
    scope           text NOT NULL CHECK (scope IN ('activation', 'portal')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz
);
CREATE INDEX sessions_account ON sessions (account_id);
