-- Call records: one row per finished call, written by the engine's CDR writer.
-- call_id (the caller channel's uniqueid) is the idempotent key: a record submitted again
-- (a retry, a journal replay after an outage, a restart) is ignored, never doubled.

CREATE TABLE call_records (
    call_id text PRIMARY KEY,
    seq bigint GENERATED ALWAYS AS IDENTITY,
    uniqueid text NOT NULL,
    linkedid text NOT NULL,
    tenant_id text,
    number text NOT NULL,
    caller text NOT NULL DEFAULT '',
    caller_raw text NOT NULL DEFAULT '',
    start_time timestamptz NOT NULL,
    ring_time timestamptz,
    answer_time timestamptz,
    connect_time timestamptz,
    end_time timestamptz NOT NULL,
    ring_seconds double precision NOT NULL DEFAULT 0,
    billsec integer NOT NULL DEFAULT 0,
    duration integer NOT NULL DEFAULT 0,
    disposition text NOT NULL,
    closed_state text,
    asterisk_disposition text NOT NULL,
    attempts jsonb NOT NULL DEFAULT '[]'::jsonb,
    answered_target text,
    prompts jsonb NOT NULL DEFAULT '[]'::jsonb,
    hangup_by text,
    hangup_cause integer,
    plan_state text,
    reasons jsonb NOT NULL DEFAULT '[]'::jsonb,
    config_version bigint,
    node text NOT NULL DEFAULT '',
    recorded_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT call_records_disposition_check CHECK (disposition IN (
        'ANSWERED', 'NO_ANSWER', 'BUSY', 'FAILED', 'ABANDONED', 'BLOCKED', 'CLOSED', 'PAUSED',
        'UNALLOCATED')),
    CONSTRAINT call_records_closed_state_check CHECK ((disposition = 'CLOSED') = (closed_state IS NOT NULL)
        AND (closed_state IS NULL OR closed_state IN ('after_hours', 'lunch', 'holiday', 'block_period'))),
    CONSTRAINT call_records_asterisk_disposition_check CHECK (asterisk_disposition IN (
        'ANSWERED', 'NO ANSWER', 'BUSY', 'FAILED', 'CONGESTION')),
    CONSTRAINT call_records_times_check CHECK (end_time >= start_time),
    CONSTRAINT call_records_seconds_check CHECK (billsec >= 0 AND duration >= 0 AND ring_seconds >= 0)
);
CREATE INDEX call_records_number_start_idx ON call_records (number, start_time DESC);
CREATE INDEX call_records_tenant_start_idx ON call_records (tenant_id, start_time DESC);
CREATE INDEX call_records_caller_idx ON call_records (caller, start_time DESC);
CREATE INDEX call_records_start_brin ON call_records USING brin (start_time);

-- Asterisk's standard CDR columns (cdr_pgsql / cdr_adaptive_odbc) over our records, with
-- Asterisk's disposition values, so existing CDR tools can read them. ``answer`` and
-- ``billsec`` are the caller channel's (billsec = floor(end - answer), 0 if never
-- answered); ``userfield`` carries the engine's own disposition (e.g. CLOSED:lunch).
CREATE VIEW cdr AS
SELECT r.caller_raw AS clid,
       r.caller_raw AS src,
       r.number AS dst,
       'from-carrier'::text AS dcontext,
       ''::text AS channel,
       coalesce('PJSIP/' || r.answered_target, '') AS dstchannel,
       'Stasis'::text AS lastapp,
       'ivr-engine,inbound'::text AS lastdata,
       r.start_time AS start,
       r.answer_time AS answer,
       r.end_time AS "end",
       r.duration,
       CASE WHEN r.answer_time IS NULL THEN 0
            ELSE greatest(0, floor(extract(epoch FROM r.end_time - r.answer_time)))::integer
       END AS billsec,
       r.asterisk_disposition AS disposition,
       3 AS amaflags,
       coalesce(r.tenant_id, '') AS accountcode,
       ''::text AS peeraccount,
       r.uniqueid,
       r.linkedid,
       r.disposition || coalesce(':' || r.closed_state, '') AS userfield,
       r.seq AS sequence,
       r.start_time AS calldate
FROM call_records r;
