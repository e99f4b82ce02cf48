-- FranceConnect (DESIGN §3.3, FAQ 2.3): OpenID Connect sign-in and the link of
-- a FranceConnect identity to a guardian's account.

-- One authorization request ("S'identifier avec FranceConnect"): the state and
-- the nonce sent to the provider, bound to the browser that asked by a cookie.
-- Only HMACs are stored (state, nonce and cookie token are secrets).
CREATE TABLE franceconnect_logins (
    id              uuid PRIMARY KEY,
    binding_hash    bytea NOT NULL UNIQUE,   -- HMAC of the browser cookie's token
    state_hash      bytea NOT NULL,
    nonce_hash      bytea NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    used_at         timestamptz
);

-- A FranceConnect identity, keyed on issuer + sub; linked to an account once
-- the first visit (mobile, SMS code, a child's birthdate) succeeded.
CREATE TABLE franceconnect_identities (
    id              uuid PRIMARY KEY,
    issuer          text NOT NULL,
    sub             text NOT NULL,
    given_name      text NOT NULL,
    family_name     text NOT NULL,
    birthdate       date,
    acr             text NOT NULL,
    account_id      uuid REFERENCES accounts (id),
    linked_at       timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_seen_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (issuer, sub)
);
CREATE INDEX franceconnect_identities_account ON franceconnect_identities (account_id);

-- A first-visit process (`franceconnect-link/<id>`), bound to the browser that
-- came back from FranceConnect: only that browser may drive it.
CREATE TABLE franceconnect_links (
    id              uuid PRIMARY KEY,        -- the <id> of the workflow id
    identity_id     uuid NOT NULL REFERENCES franceconnect_identities (id),
    binding_hash    bytea NOT NULL UNIQUE,   -- HMAC of the browser cookie's token
    created_at      timestamptz NOT NULL DEFAULT now(),
    ended_at        timestamptz
);
CREATE INDEX franceconnect_links_identity ON franceconnect_links (identity_id);
