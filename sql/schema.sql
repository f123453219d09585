-- The full schema: what applying every file of migrations/ in order produces.
-- tests/integration/test_migrations.py proves the two agree; change both together.

CREATE TABLE schema_migrations (
    name text PRIMARY KEY,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);


-- The time every rule uses: now(), or the transaction's ``ivr.now`` setting when set (so
-- tests and imports can state the time they act at).
CREATE FUNCTION ivr_now() RETURNS timestamptz
    LANGUAGE sql STABLE
    AS $$ SELECT coalesce(nullif(current_setting('ivr.now', true), '')::timestamptz, now()) $$;

-- One sequence for every configuration change: versions only ever grow.
CREATE SEQUENCE config_version_seq;

CREATE TABLE tenants (
    id text PRIMARY KEY,
    name text NOT NULL,
    timezone text NOT NULL DEFAULT 'Asia/Seoul',
    settings jsonb NOT NULL DEFAULT '{}'::jsonb,
    version bigint NOT NULL DEFAULT nextval('config_version_seq'),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tenants_id_not_empty CHECK (id <> '')
);

CREATE TABLE virtual_numbers (
    number text PRIMARY KEY,
    tenant_id text NOT NULL CONSTRAINT virtual_numbers_tenant_fk REFERENCES tenants (id),
    label text NOT NULL DEFAULT '',
    status text NOT NULL DEFAULT 'active',
    status_changed_at timestamptz NOT NULL DEFAULT ivr_now(),
    terminated_at timestamptz,
    settings jsonb NOT NULL DEFAULT '{}'::jsonb,
    version bigint NOT NULL DEFAULT nextval('config_version_seq'),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT virtual_numbers_number_digits CHECK (number ~ '^[0-9]{8,12}$'),
    CONSTRAINT virtual_numbers_status_check CHECK (status IN ('active', 'paused', 'terminated')),
    CONSTRAINT virtual_numbers_terminated_at CHECK ((status = 'terminated') = (terminated_at IS NOT NULL))
);
CREATE INDEX virtual_numbers_tenant_idx ON virtual_numbers (tenant_id);

CREATE TABLE forward_targets (
    number text NOT NULL CONSTRAINT forward_targets_number_fk
        REFERENCES virtual_numbers (number) ON DELETE CASCADE,
    position smallint NOT NULL,
    target text NOT NULL,
    ring_seconds integer NOT NULL,
    CONSTRAINT forward_targets_pkey PRIMARY KEY (number, position),
    CONSTRAINT forward_targets_position_check CHECK (position >= 0),
    CONSTRAINT forward_targets_ring_seconds_check CHECK (ring_seconds BETWEEN 1 AND 600)
);

CREATE TABLE target_changes (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number text NOT NULL CONSTRAINT target_changes_number_fk
        REFERENCES virtual_numbers (number) ON DELETE CASCADE,
    old_targets jsonb NOT NULL,
    new_targets jsonb NOT NULL,
    kind text NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT ivr_now(),
    forced boolean NOT NULL DEFAULT false,
    source text NOT NULL,
    CONSTRAINT target_changes_kind_check CHECK (kind IN ('assign', 'change', 'ring_time'))
);
CREATE INDEX target_changes_number_idx ON target_changes (number, kind, changed_at DESC);

-- Block list and free pass entries, tenant-wide (tenant_id set) or for one number.
CREATE TABLE caller_list_entries (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id text CONSTRAINT caller_list_entries_tenant_fk
        REFERENCES tenants (id) ON DELETE CASCADE,
    number text CONSTRAINT caller_list_entries_number_fk
        REFERENCES virtual_numbers (number) ON DELETE CASCADE,
    list text NOT NULL,
    caller text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT caller_list_entries_scope CHECK ((tenant_id IS NULL) <> (number IS NULL)),
    CONSTRAINT caller_list_entries_list_check CHECK (list IN ('block', 'free_pass'))
);
CREATE UNIQUE INDEX caller_list_entries_tenant_uniq
    ON caller_list_entries (tenant_id, list, caller) WHERE tenant_id IS NOT NULL;
CREATE UNIQUE INDEX caller_list_entries_number_uniq
    ON caller_list_entries (number, list, caller) WHERE number IS NOT NULL;

-- One row per number with everything its resolved configuration is built from.
CREATE VIEW number_config_sources AS
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
             WHERE e.tenant_id = n.tenant_id AND e.list = 'free_pass' ORDER BY e.caller) AS tenant_free_pass
FROM virtual_numbers n
JOIN tenants t ON t.id = n.tenant_id;

-- Status bookkeeping and the 90-day quarantine of terminated numbers.
CREATE FUNCTION virtual_numbers_lifecycle() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.status = 'terminated'
       AND OLD.terminated_at > ivr_now() - interval '90 days'
       AND (NEW.status <> 'terminated' OR NEW.tenant_id <> OLD.tenant_id) THEN
        RAISE EXCEPTION 'virtual number % was terminated at % and cannot be issued again before %',
            OLD.number, OLD.terminated_at, OLD.terminated_at + interval '90 days'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'virtual_numbers_quarantine';
    END IF;
    IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status THEN
        NEW.status_changed_at := ivr_now();
        NEW.terminated_at := CASE WHEN NEW.status = 'terminated' THEN ivr_now() END;
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

CREATE TRIGGER virtual_numbers_lifecycle
    BEFORE INSERT OR UPDATE ON virtual_numbers
    FOR EACH ROW EXECUTE FUNCTION virtual_numbers_lifecycle();

-- Every change a number's configuration depends on is announced on the channel
-- ``ivr_config`` as ``n:<number>`` or ``t:<tenant id>`` so engine caches drop it.
CREATE FUNCTION notify_config_change() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    row_data jsonb;
    keys text[] := '{}';
BEGIN
    IF TG_OP <> 'INSERT' THEN
        row_data := to_jsonb(OLD);
        keys := keys || CASE
            WHEN TG_TABLE_NAME = 'tenants' THEN 't:' || (row_data ->> 'id')
            WHEN row_data ->> 'number' IS NOT NULL THEN 'n:' || (row_data ->> 'number')
            ELSE 't:' || (row_data ->> 'tenant_id') END;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        row_data := to_jsonb(NEW);
        keys := keys || CASE
            WHEN TG_TABLE_NAME = 'tenants' THEN 't:' || (row_data ->> 'id')
            WHEN row_data ->> 'number' IS NOT NULL THEN 'n:' || (row_data ->> 'number')
            ELSE 't:' || (row_data ->> 'tenant_id') END;
    END IF;
    PERFORM pg_notify('ivr_config', k) FROM (SELECT DISTINCT unnest(keys) AS k) AS d;
    RETURN NULL;
END
$$;

CREATE TRIGGER tenants_notify
    AFTER INSERT OR UPDATE OR DELETE ON tenants
    FOR EACH ROW EXECUTE FUNCTION notify_config_change();
CREATE TRIGGER virtual_numbers_notify
    AFTER INSERT OR UPDATE OR DELETE ON virtual_numbers
    FOR EACH ROW EXECUTE FUNCTION notify_config_change();
CREATE TRIGGER forward_targets_notify
    AFTER INSERT OR UPDATE OR DELETE ON forward_targets
    FOR EACH ROW EXECUTE FUNCTION notify_config_change();
CREATE TRIGGER caller_list_entries_notify
    AFTER INSERT OR UPDATE OR DELETE ON caller_list_entries
    FOR EACH ROW EXECUTE FUNCTION notify_config_change();
