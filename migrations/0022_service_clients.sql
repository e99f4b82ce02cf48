-- Signing into the school services (DESIGN §10): EduConnect is an OpenID
-- Connect provider. The services registered by operators
-- (`python -m educonnect.services_cli`, or SERVICE_CLIENTS for the dev stack),
-- and the provider's signing keys (rotated; a retired key is still published
-- until the tokens it signed have expired).

CREATE TABLE service_clients (
    client_id               text PRIMARY KEY CHECK (client_id ~ '^[a-z0-9][a-z0-9._-]{1,63}$'),
    name                    text NOT NULL,                  -- what families read (« ENT de démonstration »)
    auth_method             text NOT NULL CHECK (auth_method IN ('client_secret_basic', 'private_key_jwt')),
    secret_hash             bytea,                          -- HMAC of the client secret (client_secret_basic)
    jwks                    jsonb,                          -- the service's public keys (private_key_jwt)
    redirect_uris           text[] NOT NULL CHECK (cardinality(redirect_uris) > 0),
    post_logout_redirect_uris text[] NOT NULL DEFAULT '{}',
    scopes                  text[] NOT NULL,                -- scopes the service may ask for
    claims                  text[] NOT NULL,                -- claims it may receive, at most
    backchannel_logout_uri  text,
    sector                  text NOT NULL,                  -- pairwise subjects are computed per sector
    -- The portal's tile that opens this service (a code of educonnect.services), and
    -- the service's own address that starts its sign-in (OpenID Connect's initiate_login_uri).
    portal_service          text,
    initiate_login_uri      text,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    disabled_at             timestamptz,
    CHECK ((auth_method = 'client_secret_basic') = (secret_hash IS NOT NULL)),
    CHECK ((auth_method = 'private_key_jwt') = (jwks IS NOT NULL))
);

CREATE TABLE oidc_signing_keys (
    kid             text PRIMARY KEY,
    private_jwk     jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    retired_at      timestamptz                             -- no longer signs; published a while longer
);
