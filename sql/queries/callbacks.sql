-- name: callback_register
-- A new request, or the caller's pending one for this number with one more repeat.
INSERT INTO callback_requests (tenant_id, number, caller, source, queue, requested_at)
VALUES ($1, $2, $3, $4, $5, coalesce($6::timestamptz, ivr_now()))
ON CONFLICT (number, caller) WHERE status IN ('open', 'assigned')
DO UPDATE SET repeats = callback_requests.repeats + 1
RETURNING id, (xmax = 0) AS created;

-- name: callback_get
SELECT * FROM callback_requests WHERE id = $1;

-- name: callback_list
-- Requests of one tenant (all when $1 is null) in the given statuses, oldest first.
SELECT * FROM callback_requests
WHERE ($1::text IS NULL OR tenant_id = $1) AND status = ANY($2::text[])
ORDER BY requested_at, id
LIMIT $3;

-- name: callback_assign
UPDATE callback_requests
SET status = 'assigned', agent = $2, assigned_at = coalesce($3::timestamptz, ivr_now())
WHERE id = $1 AND status IN ('open', 'assigned')
RETURNING *;

-- name: callback_complete
UPDATE callback_requests
SET status = $2, note = $3, completed_at = coalesce($4::timestamptz, ivr_now())
WHERE id = $1 AND status IN ('open', 'assigned')
RETURNING *;

-- name: callback_attempt
-- One call-back made through the engine, and how it went: counted on the request and kept
-- in callback_attempts ($4 agent, $5 cause, $6 talk seconds).
WITH attempt AS (
    INSERT INTO callback_attempts (request_id, agent, result, cause, talk_seconds,
                                   attempted_at)
    SELECT id, $4, $2, $5, $6, coalesce($3::timestamptz, ivr_now())
    FROM callback_requests WHERE id = $1
)
UPDATE callback_requests
SET attempts = attempts + 1, last_attempt_at = coalesce($3::timestamptz, ivr_now()),
    last_result = $2
WHERE id = $1
RETURNING *;

-- name: callback_attempts
-- The call-backs made for one request, oldest first.
SELECT * FROM callback_attempts WHERE request_id = $1 ORDER BY attempted_at, id;
