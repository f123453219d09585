-- Callback SMS: the outbox of texts to callers, the tenant-wide opt-out list and the
-- business's excluded contacts (phonebook).
--
-- A text's row is written in the same transaction as its call record. States:
--   held        waits for a person to approve (or discard) it
--   queued      goes out at send_after (a retry moves send_after on)
--   sending     claimed by a worker until lease_until; a row whose lease ran out is
--               claimed again (the gateway dedupes by idempotency_key)
--   sent        accepted by the gateway (delivery_status follows from delivery reports)
--   failed      refused for good, or delivery failed (reason says why)
--   suppressed  a rule stopped it (reason: opted_out, duplicate, daily_cap, ...)
--   discarded   a person discarded it

CREATE TABLE sms_outbox (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idempotency_key text NOT NULL,
    tenant_id text NOT NULL,
    number text NOT NULL,
    recipient text NOT NULL,
    call_id text,
    trigger text NOT NULL,
    state text NOT NULL,
    reason text,
    kind text,
    subject text,
    body text,
    image text,
    advertising boolean NOT NULL DEFAULT false,
    send_after timestamptz NOT NULL,
    send_day date NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    lease_until timestamptz,
    worker text,
    provider_message_id text,
    last_error text,
    delivery_status text,
    delivered_at timestamptz,
    sent_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT sms_outbox_idempotency_key_uniq UNIQUE (idempotency_key),
    CONSTRAINT sms_outbox_state_check CHECK (state IN (
        'held', 'queued', 'sending', 'sent', 'failed', 'suppressed', 'discarded')),
    CONSTRAINT sms_outbox_kind_check CHECK (kind IS NULL OR kind IN ('sms', 'lms', 'mms')),
    CONSTRAINT sms_outbox_reason_check CHECK (
        state NOT IN ('failed', 'suppressed', 'discarded') OR reason IS NOT NULL),
    CONSTRAINT sms_outbox_body_check CHECK (
        state IN ('suppressed', 'discarded', 'failed') OR (body IS NOT NULL AND kind IS NOT NULL)),
    CONSTRAINT sms_outbox_lease_check CHECK (state <> 'sending' OR lease_until IS NOT NULL)
);
-- Due texts, in order (the claim), and expired leases (recovery).
CREATE INDEX sms_outbox_due_idx ON sms_outbox (send_after, id) WHERE state = 'queued';
CREATE INDEX sms_outbox_lease_idx ON sms_outbox (lease_until) WHERE state = 'sending';
CREATE INDEX sms_outbox_held_idx ON sms_outbox (created_at) WHERE state = 'held';
-- History of one caller from one number (duplicates, per-caller caps) and per-day counts.
CREATE INDEX sms_outbox_recipient_idx ON sms_outbox (number, recipient, send_after DESC);
CREATE INDEX sms_outbox_day_idx ON sms_outbox (number, send_day)
    WHERE state IN ('held', 'queued', 'sending', 'sent');
CREATE INDEX sms_outbox_provider_id_idx ON sms_outbox (provider_message_id)
    WHERE provider_message_id IS NOT NULL;
-- Retention: finished rows by age.
CREATE INDEX sms_outbox_finished_idx ON sms_outbox (updated_at)
    WHERE state IN ('sent', 'failed', 'suppressed', 'discarded');

-- Recipients who asked (무료거부) not to be texted by any number of the tenant.
CREATE TABLE sms_optouts (
    tenant_id text NOT NULL CONSTRAINT sms_optouts_tenant_fk
        REFERENCES tenants (id) ON DELETE CASCADE,
    recipient text NOT NULL,
    source text NOT NULL DEFAULT 'manual',
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT sms_optouts_pkey PRIMARY KEY (tenant_id, recipient)
);

-- The business's own contacts (staff, suppliers): never texted.
CREATE TABLE sms_excluded_contacts (
    tenant_id text NOT NULL CONSTRAINT sms_excluded_contacts_tenant_fk
        REFERENCES tenants (id) ON DELETE CASCADE,
    contact text NOT NULL,
    name text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT sms_excluded_contacts_pkey PRIMARY KEY (tenant_id, contact)
);

-- Workers LISTEN on ``ivr_sms`` and wake when a text becomes due now.
CREATE FUNCTION notify_sms_queued() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM pg_notify('ivr_sms', '');
    RETURN NULL;
END
$$;

CREATE FUNCTION notify_sms_inserted() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM inserted WHERE state = 'queued') THEN
        PERFORM pg_notify('ivr_sms', '');
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER sms_outbox_notify_insert
    AFTER INSERT ON sms_outbox
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION notify_sms_inserted();
CREATE TRIGGER sms_outbox_notify_update
    AFTER UPDATE OF state ON sms_outbox
    FOR EACH ROW WHEN (NEW.state = 'queued' AND OLD.state <> 'queued')
    EXECUTE FUNCTION notify_sms_queued();
