-- New provisional credentials issued by staff (DESIGN §2: staff never choose
-- a user's password, they can issue new provisional credentials): for a lost
-- notification, expired credentials, a locked account, or a pupil without a
-- confirmed email who forgot the password; or first credentials for a guardian
-- of the school records who has no account yet (guardian_id, account created
-- by the workflow). One row per request; the workflow `credentials-reissue/<id>`
-- carries this row's id, never the password.
CREATE TABLE credential_reissues (
    id              uuid PRIMARY KEY,
    account_id      uuid REFERENCES accounts (id),      -- NULL until a new guardian's account exists
    guardian_id     uuid REFERENCES guardians (id),     -- set when the request creates the account
    uai             text NOT NULL REFERENCES schools (uai),   -- the school handing them out
    staff_id        uuid NOT NULL REFERENCES staff_accounts (id),
    staff_label     text NOT NULL,
    wanted_channel  text NOT NULL CHECK (wanted_channel IN ('auto', 'letter')),
    channel         text CHECK (channel IN ('email', 'letter')),  -- set once delivered
    pdf             bytea,                                   -- the letter, when channel = 'letter'
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    downloaded_at   timestamptz,
    -- the old credentials had started an activation: the workflow ends it
    activation_started boolean NOT NULL DEFAULT false,
    CHECK (account_id IS NOT NULL OR guardian_id IS NOT NULL)
);
CREATE INDEX credential_reissues_account ON credential_reissues (account_id, created_at DESC);

-- Staff find families by name without accents or case ("lefevre" finds
-- "Lefèvre"): the same folding as educonnect.identifiers.fold_text for the
-- letters of French names (PostgreSQL's unaccent extension is not assumed).
CREATE FUNCTION edu_fold(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT replace(replace(translate(lower($1),
        'àáâãäåçèéêëìíîïñòóôõöùúûüýÿ',
        'aaaaaaceeeeiiiinooooouuuuyy'), 'œ', 'oe'), 'æ', 'ae')
$$;
