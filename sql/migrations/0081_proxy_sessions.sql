-- Reverse masking and the access number.

-- A customer-member pair (Twilio Proxy style): the member called the customer showing
-- ``shown_number``; until ``expires_at`` the customer calling that number back reaches the
-- member. One row per pair; the latest call renews it.
CREATE TABLE proxy_sessions (
    tenant_id text NOT NULL CONSTRAINT proxy_sessions_tenant_fk
        REFERENCES tenants (id) ON DELETE CASCADE,
    customer text NOT NULL,
    member text NOT NULL,
    shown_number text NOT NULL,
    call_id text,
    started_at timestamptz NOT NULL DEFAULT ivr_now(),
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, customer, member),
    CONSTRAINT proxy_sessions_expiry_check CHECK (expires_at > started_at)
);
CREATE INDEX proxy_sessions_lookup_idx
    ON proxy_sessions (shown_number, customer, started_at DESC);

-- A number's configuration now also depends on the tenant's outbound rules (its access
-- number, the reverse-masking window) and on whether it is a verified caller ID.
CREATE OR REPLACE VIEW number_config_sources AS
SELECT n.number, n.tenant_id, n.label, n.status, n.settings AS number_settings,
       greatest(n.version, t.version) AS version,
       t.name AS tenant_name, t.timezone, t.settings AS tenant_settings,
       coalesce((SELECT jsonb_agg(jsonb_build_array(f.target, f.ring_seconds) ORDER BY f.position)
                 FROM forward_targets f WHERE f.number = n.number), '[]'::jsonb) AS targets,
       ARRAY(SELECT e.caller FROM caller_list_entries e
             WHERE e.number = n.number AND e.list = 'block' ORDER BY e.caller) AS number_block,
       ARRAY(SELECT e.caller FROM caller_list_entries e
             WHERE e.number = n.number AND e.list = 'free_pass' ORDER BY e.caller) AS number_free_pass,
       ARRAY(SELECT e.caller FROM caller_list_entries e
             WHERE e.tenant_id = n.tenant_id AND e.list = 'block' ORDER BY e.caller) AS tenant_block,
       ARRAY(SELECT e.caller FROM caller_list_entries e
             WHERE e.tenant_id = n.tenant_id AND e.list = 'free_pass' ORDER BY e.caller) AS tenant_free_pass,
       (SELECT o.settings FROM outbound_settings o WHERE o.tenant_id = n.tenant_id) AS tenant_outbound,
       EXISTS (SELECT 1 FROM caller_ids c
               WHERE c.number = n.number AND c.tenant_id = n.tenant_id AND c.verified) AS shown_verified
FROM virtual_numbers n
JOIN tenants t ON t.id = n.tenant_id;

CREATE TRIGGER caller_ids_notify
    AFTER INSERT OR UPDATE OR DELETE ON caller_ids
    FOR EACH ROW EXECUTE FUNCTION notify_config_change();
CREATE TRIGGER outbound_settings_notify
    AFTER INSERT OR UPDATE OR DELETE ON outbound_settings
    FOR EACH ROW EXECUTE FUNCTION notify_config_change();

-- Reservations still open (a ``dial`` process killed mid-call never settles its call):
-- the sweep finds them by age.
CREATE INDEX minute_ledger_reserve_idx ON minute_ledger (created_at) WHERE kind = 'reserve';
