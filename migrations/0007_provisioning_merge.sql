-- School provisioning (DESIGN §3.11) and account merge (DESIGN §3.10, FAQ 12-13).

-- ---------------------------------------------------------------------------
-- Records: stable keys for re-imports

-- A pupil's key in its school's export file (the INE, or the school's own pupil
-- number): a re-import of the school's file updates the same record. Unique per
-- school; records created otherwise (demo data, older imports) have none.
ALTER TABLE pupils ADD COLUMN external_id text;
CREATE UNIQUE INDEX pupils_uai_external_id ON pupils (uai, external_id) WHERE external_id IS NOT NULL;

-- Guardians have no key in the file: they are matched by names + mobile or
-- email (the mobile index exists since 0003), or by names among the guardians
-- already linked to the same pupil.
CREATE INDEX guardians_email_lower ON guardians (lower(email)) WHERE email IS NOT NULL;

-- Identifier allocation searches identifiers by prefix (`m.dupont%`): with a
-- non-C collation the unique index cannot serve LIKE, this one can.
CREATE INDEX accounts_identifier_prefix ON accounts (identifier text_pattern_ops);

-- ---------------------------------------------------------------------------
-- Provisioning imports: the file stays here, Temporal carries ids and row ranges

CREATE TABLE provisioning_imports (
    id              uuid PRIMARY KEY,
    uai             text NOT NULL REFERENCES schools (uai),
    staff_id        uuid REFERENCES staff_accounts (id),   -- who uploaded it (NULL: operator tooling)
    filename        text NOT NULL,
    content         bytea NOT NULL,                        -- the file as uploaded
    content_sha256  text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    validated_at    timestamptz,
    rows_total      integer,
    rows_valid      integer,
    rows_invalid    integer,
    finished_at     timestamptz,
    summary         jsonb
);
CREATE INDEX provisioning_imports_uai ON provisioning_imports (uai, created_at);

-- The valid rows, parsed and normalised, numbered 0..rows_valid-1 (`position`):
-- the workflow's batches are ranges of positions. Filled in by the records
-- batch: the pupil and guardians each row resolved to.
CREATE TABLE provisioning_import_rows (
    import_id       uuid NOT NULL REFERENCES provisioning_imports (id),
    position        integer NOT NULL,
    line_no         integer NOT NULL,
    data            jsonb NOT NULL,
    pupil_id        uuid REFERENCES pupils (id),
    guardian_ids    uuid[],
    outcome         text CHECK (outcome IN ('created', 'updated', 'unchanged')),
    PRIMARY KEY (import_id, position)
);

-- Bad rows, with the line number in the file and a French message per problem.
CREATE TABLE provisioning_import_errors (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    import_id       uuid NOT NULL REFERENCES provisioning_imports (id),
    line_no         integer NOT NULL,
    field           text,              -- the column, or NULL for the whole line
    message         text NOT NULL
);
CREATE INDEX provisioning_import_errors_import ON provisioning_import_errors (import_id, line_no);

-- One row per account that provisioning created, written in the same
-- transaction as the account. delivered_at is set in the transaction that
-- sends the notification email or stores the letter: an account is notified
-- once, whatever the number of imports or retries.
CREATE TABLE provisioning_notifications (
    account_id      uuid PRIMARY KEY REFERENCES accounts (id),
    import_id       uuid NOT NULL REFERENCES provisioning_imports (id),
    channel         text CHECK (channel IN ('email', 'letter')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    CHECK ((delivered_at IS NULL) = (channel IS NULL))
);
CREATE INDEX provisioning_notifications_import ON provisioning_notifications (import_id);

-- Printable letters (PDF) for those without an email address (every pupil,
-- guardians without email). They hold the provisional password: served to the
-- school's staff only while the account still waits for its activation.
CREATE TABLE provisioning_letters (
    account_id      uuid PRIMARY KEY REFERENCES accounts (id),
    import_id       uuid NOT NULL REFERENCES provisioning_imports (id),
    uai             text NOT NULL REFERENCES schools (uai),
    class_name      text NOT NULL,     -- letters are printed and handed out per class
    sort_key        text NOT NULL,
    pdf             bytea NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    downloaded_at   timestamptz
);
CREATE INDEX provisioning_letters_import ON provisioning_letters (import_id, class_name, sort_key);

-- ---------------------------------------------------------------------------
-- Account merge ("regroupement de comptes")

-- A merged account cannot sign in; the sign-in tells which identifier to use now.
ALTER TABLE accounts ADD COLUMN merged_into uuid REFERENCES accounts (id);
ALTER TABLE accounts ADD COLUMN merged_at timestamptz;
ALTER TABLE accounts ADD CONSTRAINT accounts_merged_into_state
    CHECK ((merged_into IS NULL) OR (state = 'merged' AND merged_into <> id));

-- One row per merge asked for: the API checked the other account's password
-- (never stored) and hands the workflow this row's id.
CREATE TABLE account_merges (
    id                  uuid PRIMARY KEY,
    kept_account_id     uuid NOT NULL REFERENCES accounts (id),
    other_account_id    uuid NOT NULL REFERENCES accounts (id),
    requested_at        timestamptz NOT NULL DEFAULT now(),
    status              text NOT NULL DEFAULT 'requested'
                        CHECK (status IN ('requested', 'merged', 'refused')),
    refusal             text,              -- stable error code when refused
    children_moved      integer,
    completed_at        timestamptz
);
CREATE INDEX account_merges_kept ON account_merges (kept_account_id, requested_at);
CREATE UNIQUE INDEX account_merges_other_once ON account_merges (other_account_id) WHERE status = 'merged';

-- "Je ne suis pas le représentant légal de cet élève": while a flag is open the
-- child is hidden from the guardian's account (guardian_pupils.disputed_at);
-- the school's staff confirm the link (flag lifted) or detach the child.
ALTER TABLE guardian_pupils ADD COLUMN disputed_at timestamptz;

CREATE TABLE attachment_disputes (
    id              uuid PRIMARY KEY,
    guardian_id     uuid NOT NULL REFERENCES guardians (id),
    pupil_id        uuid NOT NULL REFERENCES pupils (id),
    account_id      uuid NOT NULL REFERENCES accounts (id),
    uai             text NOT NULL REFERENCES schools (uai),
    academie        text NOT NULL,
    status          text NOT NULL DEFAULT 'awaiting_review'
                    CHECK (status IN ('awaiting_review', 'link_confirmed', 'detached')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    decided_by      uuid REFERENCES staff_accounts (id),
    decided_at      timestamptz
);
CREATE UNIQUE INDEX attachment_disputes_open ON attachment_disputes (guardian_id, pupil_id)
    WHERE status = 'awaiting_review';
CREATE INDEX attachment_disputes_uai ON attachment_disputes (uai, created_at);
