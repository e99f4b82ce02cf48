-- The sliding-window counters of lost identifier / lost password requests now
-- also limit the assistance form's tickets (anyone may open one, without a
-- session): the table gets a general name and the tickets' scopes.
ALTER TABLE recovery_requests RENAME TO request_counters;
ALTER INDEX recovery_requests_key RENAME TO request_counters_key;
ALTER TABLE request_counters DROP CONSTRAINT recovery_requests_scope_check;
ALTER TABLE request_counters ADD CONSTRAINT request_counters_scope_check
    CHECK (scope IN ('email', 'mobile', 'ip', 'ticket_email', 'ticket_ip'));
