-- Account management (DESIGN §3.6, §3.8, §3.9; FAQ 4, 5, 7–11): email change,
-- password change, lost identifier, lost password.

-- What an account is told at its next sign-in (e.g. "your email change
-- expired, nothing changed"). Written by activities under an idempotency key;
-- sign-in returns the undelivered ones once and marks them delivered.
CREATE TABLE account_notices (
    id              uuid PRIMARY KEY,
    idempotency_key text NOT NULL UNIQUE,
    account_id      uuid NOT NULL REFERENCES accounts (id),
    kind            text NOT NULL,
    message         text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz
);
CREATE INDEX account_notices_undelivered ON account_notices (account_id) WHERE delivered_at IS NULL;

-- Password changes and resets made effective (one row per process): the
-- marker that makes applying the new password idempotent, and a trace.
CREATE TABLE password_changes (
    process_id      text PRIMARY KEY,
    account_id      uuid NOT NULL REFERENCES accounts (id),
    kind            text NOT NULL CHECK (kind IN ('change', 'reset')),
    sessions_ended  integer NOT NULL,
    changed_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX password_changes_account ON password_changes (account_id);

-- Lost identifier / lost password requests, one row per request and per
-- counter ('email', 'mobile', 'ip'), for the sliding-window limits. Counted
-- whether or not an account matches (no enumeration); a refused request is
-- not counted; rows older than the window are purged as requests come.
CREATE TABLE recovery_requests (
    scope           text NOT NULL CHECK (scope IN ('email', 'mobile', 'ip')),
    key             text NOT NULL,
    requested_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX recovery_requests_key ON recovery_requests (scope, key, requested_at);
