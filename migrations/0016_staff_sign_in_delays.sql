-- Staff sign-in (issue 19): progressive delays per login and client address,
-- as for families, instead of the 15-minute lock-out of a login after 5
-- failures (which anyone could keep on a school's administrators, and which
-- told real logins from unknown ones). One series per login as typed
-- (trimmed, lower-case, whether or not a staff account has it) and per
-- client address (IPv4, or IPv6 /64): a stranger's failures slow down the
-- stranger, never the staff member signing in from elsewhere. An attempt
-- being checked counts as a failure until its password proves right.
CREATE TABLE staff_sign_in_failures (
    login           text NOT NULL,
    ip              text NOT NULL,
    failures        integer NOT NULL DEFAULT 0,
    last_failure_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (login, ip)
);
-- The nightly purge (series quiet for a day).
CREATE INDEX staff_sign_in_failures_last_failure ON staff_sign_in_failures (last_failure_at);

-- No longer read or written (educonnect/staff.py); kept so that processes of
-- the previous version still running during a deployment keep working. A
-- later migration drops them.
COMMENT ON COLUMN staff_accounts.failed_signins IS 'Unused since 0016 (staff_sign_in_failures).';
COMMENT ON COLUMN staff_accounts.locked_until IS 'Unused since 0016 (staff_sign_in_failures).';
