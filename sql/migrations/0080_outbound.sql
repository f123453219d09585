-- Outbound calling as the company: caller IDs a tenant may show, its members, its outbound
-- rules, the minute ledger, and outbound call records.

-- Numbers a tenant may show when calling out (발신번호 사전등록): only verified ones are used.
CREATE TABLE caller_ids (
    number text PRIMARY KEY,
    tenant_id text NOT NULL CONSTRAINT caller_ids_tenant_fk REFERENCES tenants (id) ON DELETE CASCADE,
    position integer NOT NULL DEFAULT 0,
    verified boolean NOT NULL DEFAULT false,
    evidence text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT caller_ids_number_digits CHECK (number ~ '^[0-9]{8,12}$')
);
CREATE INDEX caller_ids_tenant_idx ON caller_ids (tenant_id, position);

-- People who call out as the company. A mobile belongs to one member of one tenant, so the
-- engine knows who calls from it. ``caller_ids`` null: any of the tenant's caller IDs.
CREATE TABLE members (
    mobile text PRIMARY KEY,
    tenant_id text NOT NULL CONSTRAINT members_tenant_fk REFERENCES tenants (id) ON DELETE CASCADE,
    position integer NOT NULL DEFAULT 0,
    name text NOT NULL,
    role text NOT NULL DEFAULT 'member',
    caller_ids text[],
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT members_mobile_digits CHECK (mobile ~ '^01[0-9]{8,9}$'),
    CONSTRAINT members_role_check CHECK (role IN ('member', 'manager')),
    CONSTRAINT members_name_not_empty CHECK (name <> '')
);
CREATE INDEX members_tenant_idx ON members (tenant_id, position);

-- A tenant's outbound rules (``domain.members.OutboundRules`` as data).
CREATE TABLE outbound_settings (
    tenant_id text PRIMARY KEY CONSTRAINT outbound_settings_tenant_fk
        REFERENCES tenants (id) ON DELETE CASCADE,
    settings jsonb NOT NULL DEFAULT '{}'::jsonb
);

-- Minute allowances as an append-only ledger: a balance is the SUM of its rows, never a
-- stored figure. ``member`` null: the tenant's pool; else a member's mobile. Seconds are
-- signed: charge / coupon add to the pool; allocate moves from the pool to a member (two
-- rows); reserve takes a call's talk limit at its start, release gives it back at its end
-- and use takes what the call was charged; expire clears a balance at a monthly reset.
CREATE TABLE minute_ledger (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id text NOT NULL CONSTRAINT minute_ledger_tenant_fk REFERENCES tenants (id),
    member text,
    kind text NOT NULL,
    seconds integer NOT NULL,
    call_id text,
    reason text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT ivr_now(),
    CONSTRAINT minute_ledger_kind_check CHECK (kind IN (
        'charge', 'coupon', 'allocate', 'reserve', 'release', 'use', 'expire')),
    CONSTRAINT minute_ledger_sign_check CHECK (CASE kind
        WHEN 'charge' THEN seconds > 0 AND member IS NULL
        WHEN 'coupon' THEN seconds > 0 AND member IS NULL
        WHEN 'reserve' THEN seconds < 0 AND member IS NOT NULL AND call_id IS NOT NULL
        WHEN 'release' THEN seconds > 0 AND member IS NOT NULL AND call_id IS NOT NULL
        WHEN 'use' THEN seconds <= 0 AND member IS NOT NULL AND call_id IS NOT NULL
        WHEN 'expire' THEN seconds < 0
        ELSE seconds <> 0 END)
);
CREATE INDEX minute_ledger_account_idx ON minute_ledger (tenant_id, member, id);
-- A call reserves, releases and is charged once (a settlement replayed changes nothing).
CREATE UNIQUE INDEX minute_ledger_call_uniq ON minute_ledger (call_id, kind)
    WHERE call_id IS NOT NULL;

CREATE FUNCTION minute_ledger_append_only() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    RAISE EXCEPTION 'minute_ledger is append-only: % refused', TG_OP
        USING ERRCODE = 'check_violation', CONSTRAINT = 'minute_ledger_append_only';
END
$$;
CREATE TRIGGER minute_ledger_append_only
    BEFORE UPDATE OR DELETE ON minute_ledger
    FOR EACH ROW EXECUTE FUNCTION minute_ledger_append_only();

-- Outbound call records: the member who called, the caller ID the customer saw, the
-- destination and the seconds charged to the member's allowance.
ALTER TABLE call_records
    ADD COLUMN direction text NOT NULL DEFAULT 'inbound',
    ADD COLUMN member text,
    ADD COLUMN caller_id_shown text,
    ADD COLUMN destination text,
    ADD COLUMN charged_seconds integer,
    ADD CONSTRAINT call_records_direction_check CHECK (direction IN ('inbound', 'outbound'));
CREATE INDEX call_records_member_start_idx ON call_records (member, start_time DESC)
    WHERE member IS NOT NULL;

-- The cdr view shows an outbound call as Asterisk would: src = the caller ID shown,
-- dst = the destination, originated from the engine's outbound context.
CREATE OR REPLACE VIEW cdr AS
SELECT CASE WHEN r.direction = 'outbound' THEN coalesce(r.caller_id_shown, '')
            ELSE r.caller_raw END AS clid,
       CASE WHEN r.direction = 'outbound' THEN coalesce(r.caller_id_shown, '')
            ELSE r.caller_raw END AS src,
       CASE WHEN r.direction = 'outbound' THEN coalesce(r.destination, '')
            ELSE r.number END AS dst,
       CASE WHEN r.direction = 'outbound' THEN 'ivr-outbound'
            ELSE 'from-carrier' END::text AS dcontext,
       r.channel,
       r.dstchannel,
       'Stasis'::text AS lastapp,
       ('ivr-engine,' || r.direction)::text AS lastdata,
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
