-- Sign-in limits (DESIGN §4, FAQ 3): progressive delays, at most 100
-- consecutive failures per account, per-IP limits.

-- Consecutive failures per identifier *as typed* (normalised: trimmed,
-- lower-case), whether or not an account has that identifier: delays and locks
-- of an unknown identifier look exactly like those of a real account.
-- A successful sign-in deletes the row; the 100th failure sets locked_at (and
-- the account, if any, goes to state 'locked').
CREATE TABLE sign_in_failures (
    identifier      text PRIMARY KEY,
    failures        integer NOT NULL DEFAULT 0,
    -- Last failure, or the start of the attempt admitted after a delay (an
    -- admitted attempt reserves its slot so that parallel attempts wait too).
    last_failure_at timestamptz NOT NULL DEFAULT now(),
    locked_at       timestamptz
);

-- One row per failed sign-in from a client address (IPv4 address or IPv6 /64),
-- kept for the sliding window of the per-IP limit; older rows are purged.
CREATE TABLE sign_in_ip_failures (
    ip          text NOT NULL,
    failed_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sign_in_ip_failures_ip ON sign_in_ip_failures (ip, failed_at);
CREATE INDEX sign_in_ip_failures_failed_at ON sign_in_ip_failures (failed_at);
