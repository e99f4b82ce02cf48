-- Refused calls of someone not signed in are audited too (the codec endpoint,
-- api/routers/temporal_codec.py): actor kind 'anonymous', its address in the label.
ALTER TABLE audit_log DROP CONSTRAINT audit_log_actor_kind_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_actor_kind_check
    CHECK (actor_kind IN ('staff', 'family', 'system', 'anonymous'));
