-- Call queues and agents: who can take calls, their state and its history, log-in/log-out
-- sessions, after-call notes, one row per caller's stay in a queue and per offer to an
-- agent (the statistics' source) and the queue event log in Asterisk's queue_log layout.
-- Times come from the engine's clock (passed as parameters), so tests can run fast.

CREATE TABLE agents (
    id text PRIMARY KEY,
    tenant_id text NOT NULL CONSTRAINT agents_tenant_fk REFERENCES tenants (id) ON DELETE CASCADE,
    name text NOT NULL DEFAULT '',
    endpoint text NOT NULL,                 -- PJSIP/<name>, or national digits via the trunk
    ring_seconds integer,                   -- NULL: the queue's ring time
    login_state text NOT NULL DEFAULT 'ready',
    state text NOT NULL DEFAULT 'offline',
    reason text NOT NULL DEFAULT '',
    state_since timestamptz NOT NULL DEFAULT now(),
    wrapup_until timestamptz,               -- set while in after-call work
    after_wrapup text,                      -- the state the wrap-up ends in
    reachable boolean NOT NULL DEFAULT true,  -- from the endpoint's device state
    device_state text NOT NULL DEFAULT 'UNKNOWN',
    missed_in_row integer NOT NULL DEFAULT 0,
    offer_call text,                        -- the call offered to the agent (while ringing / on a call)
    offer_node text,                        -- the engine instance that made the offer
    last_call_end timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT agents_id_not_empty CHECK (id <> ''),
    CONSTRAINT agents_ring_seconds_check CHECK (ring_seconds IS NULL OR ring_seconds BETWEEN 1 AND 600),
    CONSTRAINT agents_login_state_check CHECK (login_state IN ('ready', 'rest')),
    CONSTRAINT agents_state_check
        CHECK (state IN ('offline', 'ready', 'rest', 'ringing', 'on_call', 'wrapup')),
    CONSTRAINT agents_after_wrapup_check CHECK (after_wrapup IS NULL OR after_wrapup IN ('ready', 'rest')),
    CONSTRAINT agents_offer_check CHECK ((offer_call IS NOT NULL) = (state IN ('ringing', 'on_call')))
);
CREATE INDEX agents_tenant_idx ON agents (tenant_id, state);
CREATE INDEX agents_endpoint_idx ON agents (endpoint);

CREATE TABLE queue_members (
    tenant_id text NOT NULL CONSTRAINT queue_members_tenant_fk REFERENCES tenants (id) ON DELETE CASCADE,
    queue_id text NOT NULL,
    agent_id text NOT NULL CONSTRAINT queue_members_agent_fk REFERENCES agents (id) ON DELETE CASCADE,
    priority integer NOT NULL DEFAULT 0,    -- lower is offered first
    weight integer NOT NULL DEFAULT 1,      -- share under the weighted strategy
    source text NOT NULL DEFAULT 'cli',     -- config (from the YAML) or cli
    CONSTRAINT queue_members_pkey PRIMARY KEY (tenant_id, queue_id, agent_id),
    CONSTRAINT queue_members_priority_check CHECK (priority BETWEEN 0 AND 100),
    CONSTRAINT queue_members_weight_check CHECK (weight BETWEEN 1 AND 1000),
    CONSTRAINT queue_members_source_check CHECK (source IN ('config', 'cli'))
);
CREATE INDEX queue_members_agent_idx ON queue_members (agent_id);

-- Round robin memory: the agent a queue offered a call to last.
CREATE TABLE queue_memory (
    tenant_id text NOT NULL CONSTRAINT queue_memory_tenant_fk REFERENCES tenants (id) ON DELETE CASCADE,
    queue_id text NOT NULL,
    last_agent text NOT NULL,
    CONSTRAINT queue_memory_pkey PRIMARY KEY (tenant_id, queue_id)
);

CREATE TABLE agent_state_history (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agent_id text NOT NULL CONSTRAINT agent_state_history_agent_fk REFERENCES agents (id) ON DELETE CASCADE,
    state text NOT NULL,
    reason text NOT NULL DEFAULT '',
    started_at timestamptz NOT NULL,
    ended_at timestamptz
);
CREATE INDEX agent_state_history_agent_idx ON agent_state_history (agent_id, started_at);
CREATE UNIQUE INDEX agent_state_history_open_uniq ON agent_state_history (agent_id) WHERE ended_at IS NULL;

CREATE TABLE agent_sessions (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agent_id text NOT NULL CONSTRAINT agent_sessions_agent_fk REFERENCES agents (id) ON DELETE CASCADE,
    login_at timestamptz NOT NULL,
    logout_at timestamptz
);
CREATE INDEX agent_sessions_agent_idx ON agent_sessions (agent_id, login_at);
CREATE UNIQUE INDEX agent_sessions_open_uniq ON agent_sessions (agent_id) WHERE logout_at IS NULL;

CREATE TABLE agent_call_notes (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agent_id text NOT NULL CONSTRAINT agent_call_notes_agent_fk REFERENCES agents (id) ON DELETE CASCADE,
    call_id text,
    queue_id text,
    call_type text NOT NULL,
    notes text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    CONSTRAINT agent_call_notes_call_type_check CHECK (call_type <> '' AND length(call_type) <= 64),
    CONSTRAINT agent_call_notes_notes_check CHECK (length(notes) <= 1024)
);
CREATE INDEX agent_call_notes_agent_idx ON agent_call_notes (agent_id, created_at);

-- One caller's stay in one queue: waiting while outcome IS NULL.
CREATE TABLE queue_calls (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    call_id text NOT NULL,
    tenant_id text NOT NULL,
    queue_id text NOT NULL,
    number text NOT NULL,
    caller text NOT NULL DEFAULT '',
    node text NOT NULL DEFAULT '',
    entered_at timestamptz NOT NULL,
    seen_at timestamptz NOT NULL,            -- refreshed while waiting; stale rows do not count
    position integer NOT NULL,               -- position on entry
    outcome text,
    left_at timestamptz,
    agent_id text,
    answered_at timestamptz,
    ended_at timestamptz,
    CONSTRAINT queue_calls_outcome_check
        CHECK (outcome IS NULL OR outcome IN ('answered', 'abandoned', 'overflow', 'callback'))
);
CREATE INDEX queue_calls_waiting_idx ON queue_calls (tenant_id, queue_id, entered_at)
    WHERE outcome IS NULL;
CREATE INDEX queue_calls_period_idx ON queue_calls (tenant_id, queue_id, entered_at);
CREATE INDEX queue_calls_caller_idx ON queue_calls (tenant_id, caller, answered_at DESC)
    WHERE agent_id IS NOT NULL;

-- One offer of a call to an agent (rung, answered or not).
CREATE TABLE queue_offers (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    call_id text NOT NULL,
    tenant_id text NOT NULL,
    queue_id text NOT NULL,
    agent_id text NOT NULL,
    offered_at timestamptz NOT NULL,
    result text,
    ring_seconds numeric(10, 3),
    CONSTRAINT queue_offers_result_check CHECK (result IS NULL OR result IN
        ('answered', 'missed', 'busy', 'unreachable', 'rejected', 'cancelled', 'failed'))
);
CREATE INDEX queue_offers_agent_idx ON queue_offers (agent_id, offered_at);
CREATE INDEX queue_offers_queue_idx ON queue_offers (tenant_id, queue_id, offered_at);

-- Asterisk's queue_log, as its realtime table holds it (time, callid, queuename, agent,
-- event, data1..data5), plus the tenant.
CREATE TABLE queue_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id text NOT NULL DEFAULT '',
    time timestamptz NOT NULL,
    callid text NOT NULL DEFAULT 'NONE',
    queuename text NOT NULL DEFAULT 'NONE',
    agent text NOT NULL DEFAULT 'NONE',
    event text NOT NULL,
    data1 text NOT NULL DEFAULT '',
    data2 text NOT NULL DEFAULT '',
    data3 text NOT NULL DEFAULT '',
    data4 text NOT NULL DEFAULT '',
    data5 text NOT NULL DEFAULT ''
);
CREATE INDEX queue_log_time_idx ON queue_log (tenant_id, queuename, time);

-- Move an agent to a state: the agent row and its state history in one step. A call
-- (and the engine instance offering it) goes with ringing / on_call; the wrap-up's end and
-- the state that follows it with wrapup.
CREATE FUNCTION agent_transition(p_agent text, p_state text, p_reason text, p_at timestamptz,
                                 p_call text DEFAULT NULL, p_node text DEFAULT NULL,
                                 p_until timestamptz DEFAULT NULL, p_then text DEFAULT NULL)
    RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    UPDATE agent_state_history SET ended_at = greatest(started_at, p_at)
    WHERE agent_id = p_agent AND ended_at IS NULL;
    INSERT INTO agent_state_history (agent_id, state, reason, started_at)
    VALUES (p_agent, p_state, coalesce(p_reason, ''), p_at);
    UPDATE agents SET state = p_state, reason = coalesce(p_reason, ''), state_since = p_at,
        wrapup_until = CASE WHEN p_state = 'wrapup' THEN p_until END,
        after_wrapup = CASE WHEN p_state = 'wrapup' THEN coalesce(p_then, 'ready') END,
        offer_call = CASE WHEN p_state IN ('ringing', 'on_call') THEN coalesce(p_call, offer_call) END,
        offer_node = CASE WHEN p_state IN ('ringing', 'on_call') THEN coalesce(p_node, offer_node) END
    WHERE id = p_agent;
END
$$;
