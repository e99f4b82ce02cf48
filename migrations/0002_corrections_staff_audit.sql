-- Birthdate corrections awaiting staff approval, assistance tickets, staff
-- accounts and the append-only audit log (DESIGN §2, §3.7, §4; FAQ 6).

-- Staff: school administrators (one UAI) and académie support (one académie).
-- They sign in separately from families (own table of sessions) with strong passwords.
CREATE TABLE staff_accounts (
    id              uuid PRIMARY KEY,
    login           text NOT NULL UNIQUE,          -- lower-case, usually the work email
    email           text NOT NULL,                 -- where reminders and escalations go
    display_name    text NOT NULL,
    role            text NOT NULL CHECK (role IN ('school_admin', 'academie_support')),
    uai             text REFERENCES schools (uai),
    academie        text NOT NULL,                 -- the school's académie for a school administrator
    password_hash   text NOT NULL,
    failed_signins  integer NOT NULL DEFAULT 0,
    locked_until    timestamptz,
    active          boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((role = 'school_admin') = (uai IS NOT NULL))
);
CREATE INDEX staff_accounts_uai ON staff_accounts (uai) WHERE active;
CREATE INDEX staff_accounts_academie ON staff_accounts (academie, role) WHERE active;

CREATE TABLE staff_sessions (
    id              uuid PRIMARY KEY,
    token_hash      bytea NOT NULL UNIQUE,
    staff_id        uuid NOT NULL REFERENCES staff_accounts (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz
);
CREATE INDEX staff_sessions_staff ON staff_sessions (staff_id);

-- A birthdate correction request; its process is the workflow
-- `birthdate-correction/<id>`, this row mirrors its step for the staff queue.
CREATE TABLE correction_requests (
    id                  uuid PRIMARY KEY,
    pupil_id            uuid NOT NULL REFERENCES pupils (id),
    uai                 text NOT NULL REFERENCES schools (uai),   -- the pupil's school when filed
    academie            text NOT NULL,
    proposed_birthdate  date NOT NULL,
    status              text NOT NULL DEFAULT 'awaiting_review'
                        CHECK (status IN ('awaiting_review', 'awaiting_information', 'escalated',
                                          'approved', 'rejected', 'expired')),
    escalated           boolean NOT NULL DEFAULT false,
    corrected_birthdate date,
    previous_birthdate  date,                     -- the record's value before an approved correction
    decided_by          uuid REFERENCES staff_accounts (id),
    decided_at          timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    closed_at           timestamptz,
    CHECK ((closed_at IS NULL) = (status IN ('awaiting_review', 'awaiting_information', 'escalated')))
);
-- At most one open request per child: a duplicate joins the open one.
CREATE UNIQUE INDEX correction_requests_open_pupil ON correction_requests (pupil_id) WHERE closed_at IS NULL;
CREATE INDEX correction_requests_uai ON correction_requests (uai, created_at);
CREATE INDEX correction_requests_academie ON correction_requests (academie, created_at);

-- Who asked (the first requester and everyone who joined), the process each
-- one has blocked, and how to reach them.
CREATE TABLE correction_participants (
    id                  uuid PRIMARY KEY,
    request_id          uuid NOT NULL REFERENCES correction_requests (id),
    account_id          uuid REFERENCES accounts (id),
    blocked_process_id  text NOT NULL,               -- e.g. activation/<account-id>, sms-registration/<uuid>
    requester_name      text NOT NULL,
    contact_channel     text NOT NULL CHECK (contact_channel IN ('email', 'sms')),
    contact_email       text,
    contact_mobile      text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (request_id, blocked_process_id),
    CHECK (contact_channel <> 'email' OR contact_email IS NOT NULL),
    CHECK (contact_channel <> 'sms' OR contact_mobile IS NOT NULL)
);
CREATE INDEX correction_participants_account ON correction_participants (account_id);

-- What was written on the request: the requester's messages, staff questions,
-- answers, rejection reasons.
CREATE TABLE correction_messages (
    id              uuid PRIMARY KEY,
    request_id      uuid NOT NULL REFERENCES correction_requests (id),
    kind            text NOT NULL CHECK (kind IN ('request', 'question', 'answer', 'reason')),
    participant_id  uuid REFERENCES correction_participants (id),
    staff_id        uuid REFERENCES staff_accounts (id),
    body            text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((participant_id IS NULL) <> (staff_id IS NULL))
);
CREATE INDEX correction_messages_request ON correction_messages (request_id, created_at);

-- Other assistance requests ("le formulaire d'assistance académique").
CREATE TABLE assistance_tickets (
    id              uuid PRIMARY KEY,
    last_name       text NOT NULL,
    first_name      text NOT NULL,
    email           text NOT NULL,
    category        text NOT NULL,
    message         text NOT NULL,
    uai             text REFERENCES schools (uai),
    academie        text NOT NULL,
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'answered')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    answered_at     timestamptz
);
CREATE INDEX assistance_tickets_academie ON assistance_tickets (academie, created_at);
CREATE INDEX assistance_tickets_uai ON assistance_tickets (uai, created_at);

CREATE TABLE assistance_ticket_replies (
    id              uuid PRIMARY KEY,
    ticket_id       uuid NOT NULL REFERENCES assistance_tickets (id),
    staff_id        uuid NOT NULL REFERENCES staff_accounts (id),
    body            text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    emailed_at      timestamptz
);
CREATE INDEX assistance_ticket_replies_ticket ON assistance_ticket_replies (ticket_id, created_at);

-- Append-only audit log: every staff action (accepted or refused) and every
-- correction of a school record. No foreign keys: entries outlive what they name.
CREATE TABLE audit_log (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    actor_kind      text NOT NULL CHECK (actor_kind IN ('staff', 'family', 'system')),
    actor_id        uuid,
    actor_label     text NOT NULL,
    action          text NOT NULL,
    target_kind     text NOT NULL,
    target_id       text NOT NULL,
    outcome         text NOT NULL CHECK (outcome IN ('accepted', 'refused')),
    details         jsonb NOT NULL DEFAULT '{}'::jsonb,
    idempotency_key text UNIQUE      -- set by activities, so that a retry writes once
);
CREATE INDEX audit_log_target ON audit_log (target_kind, target_id, at);
CREATE INDEX audit_log_actor ON audit_log (actor_id, at);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();
