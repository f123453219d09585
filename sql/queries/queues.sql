-- name: agent_upsert
-- Create an agent, or update its name, endpoint, ring time and state after log-in.
INSERT INTO agents (id, tenant_id, name, endpoint, ring_seconds, login_state, state_since)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (id) DO UPDATE
SET name = EXCLUDED.name, endpoint = EXCLUDED.endpoint, ring_seconds = EXCLUDED.ring_seconds,
    login_state = EXCLUDED.login_state
WHERE agents.tenant_id = EXCLUDED.tenant_id
RETURNING id;

-- name: member_upsert
-- Put an agent in a queue with a priority and a weight.
INSERT INTO queue_members (tenant_id, queue_id, agent_id, priority, weight, source)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (tenant_id, queue_id, agent_id) DO UPDATE
SET priority = EXCLUDED.priority, weight = EXCLUDED.weight, source = EXCLUDED.source;

-- name: members_prune_config
-- Drop members a queue's configuration no longer lists (those added by the CLI stay).
DELETE FROM queue_members
WHERE tenant_id = $1 AND queue_id = $2 AND source = 'config' AND NOT agent_id = ANY($3::text[]);

-- name: agent_lock
-- One agent, locked for a state change.
SELECT id, tenant_id, state, reason, login_state, missed_in_row, offer_call, after_wrapup
FROM agents WHERE id = $1 FOR UPDATE;

-- name: agent_transition
SELECT agent_transition($1, $2, $3, $4, $5, $6, $7, $8);

-- name: agent_set_missed
UPDATE agents SET missed_in_row = $2 WHERE id = $1;

-- name: agent_call_ended
UPDATE agents SET last_call_end = $2 WHERE id = $1;

-- name: session_open
INSERT INTO agent_sessions (agent_id, login_at) VALUES ($1, $2)
ON CONFLICT (agent_id) WHERE logout_at IS NULL DO NOTHING;

-- name: session_close
UPDATE agent_sessions SET logout_at = greatest(login_at, $2)
WHERE agent_id = $1 AND logout_at IS NULL;

-- name: sessions_of
SELECT login_at, logout_at FROM agent_sessions WHERE agent_id = $1 ORDER BY login_at;

-- name: queue_candidates
-- Ready, reachable members of a queue with what the strategies look at ($3: period start).
SELECT a.id, m.priority, m.weight, a.last_call_end,
       (SELECT count(*) FROM queue_offers o
        WHERE o.agent_id = a.id AND o.tenant_id = $1 AND o.queue_id = $2
          AND o.offered_at >= $3) AS offered,
       (SELECT count(*) FROM queue_offers o
        WHERE o.agent_id = a.id AND o.result = 'answered' AND o.offered_at >= $3) AS taken
FROM queue_members m JOIN agents a ON a.id = m.agent_id
WHERE m.tenant_id = $1 AND m.queue_id = $2 AND a.state = 'ready' AND a.reachable;

-- name: queue_agent_counts
-- Members logged in and reachable, and those ready now.
SELECT count(*) FILTER (WHERE a.state <> 'offline' AND a.reachable) AS logged_in,
       count(*) FILTER (WHERE a.state = 'ready' AND a.reachable) AS ready
FROM queue_members m JOIN agents a ON a.id = m.agent_id
WHERE m.tenant_id = $1 AND m.queue_id = $2;

-- name: queue_last_agent
SELECT last_agent FROM queue_memory WHERE tenant_id = $1 AND queue_id = $2;

-- name: queue_remember
INSERT INTO queue_memory (tenant_id, queue_id, last_agent) VALUES ($1, $2, $3)
ON CONFLICT (tenant_id, queue_id) DO UPDATE SET last_agent = EXCLUDED.last_agent;

-- name: sticky_agent
-- The agent who last served this caller (any queue of the tenant).
SELECT agent_id FROM queue_calls
WHERE tenant_id = $1 AND caller = $2 AND caller <> '' AND agent_id IS NOT NULL
ORDER BY answered_at DESC LIMIT 1;

-- name: claim_agents
-- Lock up to $2 of the listed agents, in the listed order, that are still ready and
-- reachable. SKIP LOCKED: an agent another engine is claiming right now is passed over, and
-- one it has claimed is no longer ready, so no agent is ever offered two calls at once.
SELECT a.id, a.endpoint, a.ring_seconds
FROM agents a JOIN unnest($1::text[]) WITH ORDINALITY AS o(id, ord) ON o.id = a.id
WHERE a.state = 'ready' AND a.reachable
ORDER BY o.ord
LIMIT $2
FOR UPDATE OF a SKIP LOCKED;

-- name: offer_insert
INSERT INTO queue_offers (call_id, tenant_id, queue_id, agent_id, offered_at)
VALUES ($1, $2, $3, $4, $5) RETURNING id;

-- name: offer_result
UPDATE queue_offers SET result = $2, ring_seconds = $3 WHERE id = $1;

-- name: wrapups_due
-- Agents whose after-call work has ended.
SELECT id, after_wrapup FROM agents
WHERE state = 'wrapup' AND wrapup_until IS NOT NULL AND wrapup_until <= $1
FOR UPDATE SKIP LOCKED;

-- name: agents_set_reachable
-- The device state of an endpoint changed.
UPDATE agents SET reachable = $2, device_state = $3 WHERE endpoint = $1 RETURNING id;

-- name: agent_endpoints
SELECT DISTINCT endpoint FROM agents WHERE endpoint LIKE 'PJSIP/%';

-- name: note_insert
INSERT INTO agent_call_notes (agent_id, call_id, queue_id, call_type, notes, created_at)
VALUES ($1, $2, $3, $4, $5, $6) RETURNING id;

-- name: last_call_of_agent
SELECT call_id, queue_id FROM queue_calls
WHERE agent_id = $1 AND answered_at IS NOT NULL ORDER BY answered_at DESC LIMIT 1;

-- name: agents_list
SELECT a.id, a.tenant_id, a.name, a.endpoint, a.state, a.reason, a.state_since, a.reachable,
       a.device_state, a.missed_in_row, a.wrapup_until,
       coalesce((SELECT string_agg(m.queue_id || ':' || m.priority, ',' ORDER BY m.queue_id)
                 FROM queue_members m WHERE m.agent_id = a.id), '') AS queues
FROM agents a WHERE $1::text IS NULL OR a.tenant_id = $1 ORDER BY a.tenant_id, a.id;

-- name: agent_states_count
-- Agents per tenant and state (live gauges).
SELECT tenant_id, state, count(*) AS n FROM agents GROUP BY tenant_id, state;

-- name: queue_enter
-- A caller joins a queue; its position counts the live waiting callers ahead ($8: stale).
INSERT INTO queue_calls (call_id, tenant_id, queue_id, number, caller, node, entered_at,
                         seen_at, position)
SELECT $1, $2, $3, $4, $5, $6, $7, $7, 1 + count(*) FROM queue_calls
WHERE tenant_id = $2 AND queue_id = $3 AND outcome IS NULL AND seen_at >= $8
RETURNING id, position;

-- name: queue_heartbeat
-- A waiting caller is still there; its position now among the live waiting callers.
WITH me AS (UPDATE queue_calls SET seen_at = $2 WHERE id = $1
            RETURNING id, tenant_id, queue_id, entered_at)
SELECT count(*) AS position FROM queue_calls w, me
WHERE w.tenant_id = me.tenant_id AND w.queue_id = me.queue_id AND w.outcome IS NULL
  AND (w.seen_at >= $3 OR w.id = me.id) AND (w.entered_at, w.id) <= (me.entered_at, me.id);

-- name: queue_leave
UPDATE queue_calls SET outcome = $2, left_at = $3, agent_id = $4, answered_at = $5
WHERE id = $1;

-- name: queue_call_end
UPDATE queue_calls SET ended_at = $2 WHERE id = $1;

-- name: queue_waiting_now
-- Live waiting callers per queue: how many, and since when the oldest waits.
SELECT tenant_id, queue_id, count(*) AS waiting, min(entered_at) AS oldest
FROM queue_calls WHERE outcome IS NULL AND seen_at >= $1
GROUP BY tenant_id, queue_id;

-- name: queue_call_facts
-- Finished stays in a queue in a period: outcome, wait and talk seconds.
SELECT outcome, extract(epoch FROM left_at - entered_at)::float8 AS wait,
       coalesce(extract(epoch FROM ended_at - answered_at), 0)::float8 AS talk
FROM queue_calls
WHERE tenant_id = $1 AND queue_id = $2 AND entered_at >= $3 AND entered_at < $4
  AND outcome IS NOT NULL AND left_at IS NOT NULL;

-- name: queue_handle_time
-- Average talk of the queue's recent answered calls (for the expected wait).
SELECT coalesce(avg(extract(epoch FROM ended_at - answered_at)), 0)::float8 AS avg_talk
FROM (SELECT answered_at, ended_at FROM queue_calls
      WHERE tenant_id = $1 AND queue_id = $2 AND ended_at IS NOT NULL
        AND answered_at IS NOT NULL
      ORDER BY answered_at DESC LIMIT 50) recent;

-- name: agent_offer_stats
-- Per agent in a period: offered, answered, missed.
SELECT a.id AS agent_id, a.name,
       count(o.id) AS offered,
       count(o.id) FILTER (WHERE o.result = 'answered') AS answered,
       count(o.id) FILTER (WHERE o.result IN ('missed', 'busy', 'unreachable', 'rejected', 'failed'))
           AS missed
FROM agents a LEFT JOIN queue_offers o
     ON o.agent_id = a.id AND o.offered_at >= $2 AND o.offered_at < $3
WHERE a.tenant_id = $1
GROUP BY a.id, a.name ORDER BY a.id;

-- name: agent_talk_stats
SELECT agent_id, coalesce(sum(extract(epoch FROM ended_at - answered_at)), 0)::float8 AS talk
FROM queue_calls
WHERE tenant_id = $1 AND agent_id IS NOT NULL AND answered_at >= $2 AND answered_at < $3
  AND ended_at IS NOT NULL
GROUP BY agent_id;

-- name: agent_state_spans
-- State history overlapping a period, for the time in each state.
SELECT h.agent_id, h.state, h.started_at, h.ended_at
FROM agent_state_history h JOIN agents a ON a.id = h.agent_id
WHERE a.tenant_id = $1 AND h.started_at < $3 AND (h.ended_at IS NULL OR h.ended_at > $2)
ORDER BY h.agent_id, h.started_at;

-- name: call_type_stats
SELECT n.call_type, count(*) AS calls
FROM agent_call_notes n JOIN agents a ON a.id = n.agent_id
WHERE a.tenant_id = $1 AND n.created_at >= $2 AND n.created_at < $3
GROUP BY n.call_type ORDER BY calls DESC, n.call_type;

-- name: queue_log_insert
INSERT INTO queue_log (tenant_id, time, callid, queuename, agent, event, data1, data2, data3,
                       data4, data5)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11);

-- name: queue_log_lines
SELECT time, callid, queuename, agent, event, data1, data2, data3, data4, data5
FROM queue_log
WHERE ($1::text IS NULL OR tenant_id = $1) AND ($2::text IS NULL OR queuename = $2)
  AND time >= $3 AND time < $4
ORDER BY time, id;

-- name: tenant_queue_ids
-- The queues a tenant ($1) has: defined in its configuration (its own or its numbers') or
-- with members; a queue id ($2) that only calls recorded still counts. NULL tenant: absent.
SELECT (SELECT count(*) FROM tenants WHERE id = $1) > 0 AS tenant_known,
       coalesce((
         SELECT array_agg(q ORDER BY q) FROM (
           SELECT jsonb_array_elements(t.settings -> 'queues') ->> 'id' AS q
           FROM tenants t WHERE t.id = $1 AND jsonb_typeof(t.settings -> 'queues') = 'array'
           UNION
           SELECT jsonb_array_elements(n.settings -> 'queues') ->> 'id'
           FROM virtual_numbers n
           WHERE n.tenant_id = $1 AND jsonb_typeof(n.settings -> 'queues') = 'array'
           UNION
           SELECT queue_id FROM queue_members WHERE tenant_id = $1
           UNION
           SELECT queue_id FROM (
             SELECT queue_id FROM queue_calls WHERE tenant_id = $1 AND queue_id = $2 LIMIT 1
           ) c
         ) s WHERE q IS NOT NULL
       ), '{}') AS queues;
