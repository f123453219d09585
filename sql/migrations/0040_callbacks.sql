-- Callback requests: a caller leaves their number (from a menu or while waiting in a queue)
-- and an agent calls them back through the engine, which shows the virtual number as the
-- caller ID. A request is open, then assigned to an agent, then completed (or cancelled).
-- A caller has at most one pending request per virtual number: asking again counts a repeat.

CREATE TABLE callback_requests (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id text NOT NULL CONSTRAINT callback_requests_tenant_fk
        REFERENCES tenants (id) ON DELETE CASCADE,
    number text NOT NULL CONSTRAINT callback_requests_number_fk
        REFERENCES virtual_numbers (number) ON DELETE CASCADE,
    caller text NOT NULL,                   -- national digits of the caller to call back
    source text NOT NULL,                   -- menu | queue | ...
    queue text,                             -- the queue the caller left, if any
    status text NOT NULL DEFAULT 'open',
    agent text,                             -- who calls back: an agent id or a phone
    repeats integer NOT NULL DEFAULT 0,     -- further requests while this one was pending
    attempts integer NOT NULL DEFAULT 0,    -- call-backs made through the engine
    last_attempt_at timestamptz,
    last_result text,                       -- answered | busy | no_answer | failed ...
    note text NOT NULL DEFAULT '',
    requested_at timestamptz NOT NULL DEFAULT ivr_now(),
    assigned_at timestamptz,
    completed_at timestamptz,
    CONSTRAINT callback_requests_caller_digits CHECK (caller ~ '^[0-9]{3,15}$'),
    CONSTRAINT callback_requests_source_not_empty CHECK (source <> ''),
    CONSTRAINT callback_requests_status_check
        CHECK (status IN ('open', 'assigned', 'completed', 'cancelled')),
    CONSTRAINT callback_requests_assigned_check
        CHECK (status <> 'assigned' OR agent IS NOT NULL),
    CONSTRAINT callback_requests_completed_check
        CHECK ((status IN ('completed', 'cancelled')) = (completed_at IS NOT NULL)),
    CONSTRAINT callback_requests_note_length CHECK (length(note) <= 1024)
);
CREATE UNIQUE INDEX callback_requests_pending_uniq
    ON callback_requests (number, caller) WHERE status IN ('open', 'assigned');
CREATE INDEX callback_requests_tenant_idx ON callback_requests (tenant_id, status, requested_at);
