-- "Modifier le numéro" (issue 11): the mobile numbers a FranceConnect identity
-- tried on its first visits, per day (Europe/Paris), for the daily limit
-- (policies.FRANCECONNECT_MOBILES_PER_IDENTITY_PER_DAY). The number is kept as
-- its HMAC only; one row per number and day, whatever the answer (matched or
-- not), so that the limit says nothing about the numbers on file.
CREATE TABLE franceconnect_mobile_tries (
    identity_id     uuid NOT NULL REFERENCES franceconnect_identities (id),
    day             date NOT NULL,
    mobile_hash     bytea NOT NULL,
    link_id         uuid NOT NULL,           -- the first visit that tried it first
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (identity_id, day, mobile_hash)
);
