-- Nightly housekeeping (workflows/housekeeping.py): each purge finds the rows
-- past their retention through an index, batch after batch, instead of
-- scanning the whole table for every batch.

-- When a session ended: at its expiry, or earlier if revoked (the expression
-- of activities/housekeeping.py).
CREATE INDEX sessions_ended_at ON sessions (least(expires_at, coalesce(revoked_at, expires_at)));
CREATE INDEX staff_sessions_ended_at ON staff_sessions (least(expires_at, coalesce(revoked_at, expires_at)));
CREATE INDEX email_links_expires_at ON email_links (expires_at);
CREATE INDEX sms_codes_expires_at ON sms_codes (expires_at);
CREATE INDEX sms_code_submissions_created_at ON sms_code_submissions (created_at);
CREATE INDEX sms_daily_counts_day ON sms_daily_counts (day);
CREATE INDEX process_bindings_created_at ON process_bindings (created_at);
CREATE INDEX request_counters_scope_requested_at ON request_counters (scope, requested_at);
CREATE INDEX sign_in_failures_unlocked_last_failure ON sign_in_failures (last_failure_at) WHERE locked_at IS NULL;
CREATE INDEX pending_passwords_created_at ON pending_passwords (created_at);
