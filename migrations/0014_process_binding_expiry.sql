-- A browser binding keeps its own end (its cookie's lifetime, set at bind
-- time): the API refuses it past that end even if a browser still sends the
-- cookie, and the nightly housekeeping purges by it without knowing each
-- process's lifetime. Rows bound before: the longest lifetime (38 days).
ALTER TABLE process_bindings ADD COLUMN expires_at timestamptz;
UPDATE process_bindings SET expires_at = created_at + interval '38 days';
ALTER TABLE process_bindings ALTER COLUMN expires_at SET NOT NULL;
DROP INDEX process_bindings_created_at;
CREATE INDEX process_bindings_expires_at ON process_bindings (expires_at);
