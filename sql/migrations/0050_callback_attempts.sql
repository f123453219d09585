-- Call-backs made through the engine for a callback request: the agent's endpoint, how the
-- attempt ended (completed, agent_no_answer, customer_busy, ...), the hangup cause of the leg
-- that ended it, and how long agent and customer talked. callback_requests keeps the count
-- and the last result; this table keeps every attempt.

CREATE TABLE callback_attempts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id bigint NOT NULL CONSTRAINT callback_attempts_request_fk
        REFERENCES callback_requests (id) ON DELETE CASCADE,
    agent text,                             -- the endpoint that called back
    result text NOT NULL,
    cause integer,                          -- Q.850 cause of the leg that ended the attempt
    talk_seconds double precision,          -- set when agent and customer were bridged
    attempted_at timestamptz NOT NULL DEFAULT ivr_now(),
    CONSTRAINT callback_attempts_result_not_empty CHECK (result <> ''),
    CONSTRAINT callback_attempts_talk_check CHECK (talk_seconds IS NULL OR talk_seconds >= 0)
);
CREATE INDEX callback_attempts_request_idx ON callback_attempts (request_id, attempted_at);
