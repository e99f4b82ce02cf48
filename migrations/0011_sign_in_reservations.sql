-- A sign-in attempt now takes its place in the per-IP count before its
-- password is checked (and gives it back when the password was right), so
-- that a burst of parallel attempts cannot all pass the limit before the
-- first ones fail: each counted attempt needs an id to be given back.
ALTER TABLE sign_in_ip_failures ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY;

COMMENT ON TABLE sign_in_failures IS
    'Consecutive failures per identifier as typed; an attempt being checked counts as one until its password proves right.';
