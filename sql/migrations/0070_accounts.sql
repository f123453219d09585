-- Accounts of the operator console and the admin API: branches of a tenant, users with a
-- role, login sessions, API tokens for machines, an optional address allowlist per tenant,
-- and the append-only audit log of every write.

-- Regions / branches of a tenant (지역/지점); a number may belong to one.
CREATE TABLE branches (
    tenant_id text NOT NULL CONSTRAINT branches_tenant_fk REFERENCES tenants (id) ON DELETE CASCADE,
    id text NOT NULL,
    name text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT branches_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT branches_id_not_empty CHECK (id <> '')
);

ALTER TABLE virtual_numbers ADD COLUMN branch_id text;
ALTER TABLE virtual_numbers ADD CONSTRAINT virtual_numbers_branch_fk
    FOREIGN KEY (tenant_id, branch_id) REFERENCES branches (tenant_id, id);
CREATE INDEX virtual_numbers_branch_idx ON virtual_numbers (tenant_id, branch_id);

-- Console and API access is refused from addresses outside the list (NULL: any address).
ALTER TABLE tenants ADD COLUMN ip_allowlist cidr[];

CREATE TABLE users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email text NOT NULL,
    display_name text NOT NULL DEFAULT '',
    role text NOT NULL,
    tenant_id text CONSTRAINT users_tenant_fk REFERENCES tenants (id) ON DELETE CASCADE,
    branch_id text,
    number text CONSTRAINT users_number_fk REFERENCES virtual_numbers (number) ON DELETE SET NULL,
    agent_id text CONSTRAINT users_agent_fk REFERENCES agents (id) ON DELETE SET NULL,
    password_hash text NOT NULL,
    failed_logins integer NOT NULL DEFAULT 0,
    locked_until timestamptz,
    disabled boolean NOT NULL DEFAULT false,
    language text NOT NULL DEFAULT 'ko',
    version bigint NOT NULL DEFAULT nextval('config_version_seq'),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz,
    CONSTRAINT users_email_check CHECK (email ~ '^[^@\s]+@[^@\s]+$'),
    CONSTRAINT users_role_check CHECK (role IN
        ('platform-admin', 'tenant-owner', 'branch-manager', 'staff', 'agent')),
    CONSTRAINT users_tenant_check CHECK ((role = 'platform-admin') = (tenant_id IS NULL)),
    CONSTRAINT users_branch_check CHECK (role <> 'branch-manager' OR branch_id IS NOT NULL),
    CONSTRAINT users_agent_check CHECK (role <> 'agent' OR agent_id IS NOT NULL),
    CONSTRAINT users_branch_fk FOREIGN KEY (tenant_id, branch_id) REFERENCES branches (tenant_id, id),
    CONSTRAINT users_language_check CHECK (language IN ('ko', 'en'))
);
CREATE UNIQUE INDEX users_email_idx ON users (lower(email));
CREATE INDEX users_tenant_idx ON users (tenant_id);

-- A signed-in browser: the cookie carries the secret, the table only its SHA-256.
CREATE TABLE login_sessions (
    id_hash bytea PRIMARY KEY,
    user_id bigint NOT NULL CONSTRAINT login_sessions_user_fk REFERENCES users (id) ON DELETE CASCADE,
    csrf_token text NOT NULL,
    address text NOT NULL DEFAULT '',
    user_agent text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX login_sessions_user_idx ON login_sessions (user_id);
CREATE INDEX login_sessions_expiry_idx ON login_sessions (expires_at);

-- A machine's credential: shown once, kept as its SHA-256; scoped and revocable.
CREATE TABLE api_tokens (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint NOT NULL CONSTRAINT api_tokens_user_fk REFERENCES users (id) ON DELETE CASCADE,
    name text NOT NULL,
    token_hash bytea NOT NULL UNIQUE,
    prefix text NOT NULL,
    scopes text[] NOT NULL DEFAULT '{read,write}',
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    expires_at timestamptz,
    revoked_at timestamptz,
    CONSTRAINT api_tokens_name_not_empty CHECK (name <> ''),
    CONSTRAINT api_tokens_scopes_check CHECK (scopes <@ '{read,write,reveal}'::text[])
);
CREATE UNIQUE INDEX api_tokens_user_name_idx ON api_tokens (user_id, name) WHERE revoked_at IS NULL;

-- Who changed what, when, from where, with the old and the new value. Rows are only ever
-- added: the trigger refuses UPDATE and DELETE for every role, TRUNCATE is not granted.
CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    user_id bigint,
    actor text NOT NULL,
    via text NOT NULL,
    tenant_id text,
    address text NOT NULL DEFAULT '',
    action text NOT NULL,
    resource text NOT NULL,
    resource_id text NOT NULL DEFAULT '',
    old_value jsonb,
    new_value jsonb,
    detail jsonb NOT NULL DEFAULT '{}'::jsonb,
    CONSTRAINT audit_log_via_check CHECK (via IN ('console', 'api', 'cli', 'engine'))
);
CREATE INDEX audit_log_tenant_idx ON audit_log (tenant_id, at DESC);
CREATE INDEX audit_log_resource_idx ON audit_log (resource, resource_id, at DESC);

CREATE FUNCTION audit_log_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC;

-- Records search by disposition and time within a tenant (the console's filters).
CREATE INDEX call_records_tenant_disposition_idx ON call_records (tenant_id, disposition, start_time DESC);
