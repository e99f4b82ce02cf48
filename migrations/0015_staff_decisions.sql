-- Staff decisions on birthdate corrections (DESIGN §3.7, §4), written by the
-- API once it has checked who decides, in which scope and what, before the
-- workflow hears of them. The workflow's signal carries the decision's id
-- only; its activity reads the decision back, checks it again and applies it
-- once. A signal sent by anyone else (the Temporal Web UI, a script) names no
-- decision of this request and changes nothing.
CREATE TABLE staff_decisions (
    id                  uuid PRIMARY KEY,
    request_id          uuid NOT NULL REFERENCES correction_requests (id),
    staff_id            uuid NOT NULL REFERENCES staff_accounts (id),
    kind                text NOT NULL CHECK (kind IN ('approve', 'reject', 'ask_information')),
    corrected_birthdate date,                       -- approve
    message_id          uuid REFERENCES correction_messages (id),  -- reject (reason), ask_information (question)
    created_at          timestamptz NOT NULL DEFAULT now(),
    applied_at          timestamptz,
    applied_key         text UNIQUE,                -- idempotency key of the activity that applied it
    CHECK ((kind = 'approve') = (corrected_birthdate IS NOT NULL)),
    CHECK ((kind = 'approve') = (message_id IS NULL)),
    CHECK ((applied_at IS NULL) = (applied_key IS NULL))
);
CREATE INDEX staff_decisions_request ON staff_decisions (request_id, created_at);
CREATE INDEX staff_decisions_staff ON staff_decisions (staff_id, created_at);
