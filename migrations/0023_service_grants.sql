-- What the provider hands to the services (DESIGN §10). Codes and access
-- tokens are stored as their HMAC only; nothing of it enters Temporal.

CREATE TABLE oidc_codes (
    code_hash               bytea PRIMARY KEY,
    client_id               text NOT NULL REFERENCES service_clients (client_id),
    account_id              uuid NOT NULL REFERENCES accounts (id),
    session_id              uuid NOT NULL REFERENCES sessions (id),
    redirect_uri            text NOT NULL,
    scope                   text NOT NULL,
    nonce                   text,
    code_challenge          text NOT NULL,
    code_challenge_method   text NOT NULL CHECK (code_challenge_method = 'S256'),
    auth_time               timestamptz NOT NULL,
    created_at              timestamptz NOT NULL DEFAULT now(),
    expires_at              timestamptz NOT NULL,
    used_at                 timestamptz
);
CREATE INDEX oidc_codes_expiry ON oidc_codes (expires_at);

CREATE TABLE oidc_tokens (
    token_hash      bytea PRIMARY KEY,
    code_hash       bytea NOT NULL REFERENCES oidc_codes (code_hash),
    client_id       text NOT NULL REFERENCES service_clients (client_id),
    account_id      uuid NOT NULL REFERENCES accounts (id),
    session_id      uuid NOT NULL REFERENCES sessions (id),
    scope           text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz
);
CREATE INDEX oidc_tokens_code ON oidc_tokens (code_hash);
CREATE INDEX oidc_tokens_session ON oidc_tokens (session_id);

-- One per EduConnect session and service signed into: its `sid` (in the ID
-- token and the back-channel logout token).
CREATE TABLE service_sessions (
    sid             uuid PRIMARY KEY,
    session_id      uuid NOT NULL REFERENCES sessions (id),
    client_id       text NOT NULL REFERENCES service_clients (client_id),
    account_id      uuid NOT NULL REFERENCES accounts (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    ended_at        timestamptz,
    UNIQUE (session_id, client_id)
);

-- private_key_jwt assertions already seen (a replayed assertion is refused).
CREATE TABLE client_assertion_ids (
    client_id       text NOT NULL,
    jti             text NOT NULL,
    expires_at      timestamptz NOT NULL,
    PRIMARY KEY (client_id, jti)
);
