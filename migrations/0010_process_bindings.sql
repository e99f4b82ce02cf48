-- A process whose steps are addressed by a bare id in the URL (SMS
-- registration `/registration/<id>`, lost password by SMS
-- `/recovery/password/<id>`), bound to the browser that started it, as the
-- FranceConnect first visit is: its cookie holds a random token, this table
-- only the token's HMAC. Another browser holding the id (history, a shared
-- screen, a log) is answered as for an unknown id. Nothing of this enters
-- Temporal: the workflows carry the ids only.
CREATE TABLE process_bindings (
    process_id      text PRIMARY KEY,        -- the workflow id, e.g. sms-registration/<uuid>
    binding_hash    bytea NOT NULL UNIQUE,   -- HMAC of the browser cookie's token
    created_at      timestamptz NOT NULL DEFAULT now()
);
