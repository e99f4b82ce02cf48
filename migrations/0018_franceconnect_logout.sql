-- FranceConnect sign-out (issue 11): signing out of a session opened through
-- FranceConnect ends the FranceConnect session too, through the provider's
-- end_session_endpoint.

-- The ID token of the sign-in (the logout's id_token_hint), kept with the
-- portal session it opened; gone with the session (housekeeping) or taken at
-- sign-out. Never in Temporal.
CREATE TABLE franceconnect_sessions (
    session_id      uuid PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    identity_id     uuid NOT NULL REFERENCES franceconnect_identities (id),
    id_token        text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- The ID token of a first visit's sign-in, until the first visit links the
-- identity and opens the portal session (then moved to franceconnect_sessions).
ALTER TABLE franceconnect_links ADD COLUMN id_token text;

-- One logout at the provider: the state sent to it, bound to the browser by a
-- cookie (HMACs only), checked when the provider sends the browser back.
CREATE TABLE franceconnect_logouts (
    id              uuid PRIMARY KEY,
    binding_hash    bytea NOT NULL UNIQUE,   -- HMAC of the browser cookie's token
    state_hash      bytea NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    used_at         timestamptz
);
