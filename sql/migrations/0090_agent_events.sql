-- Agent state changes are announced on NOTIFY ivr_agents (payload: the agent id), so the
-- console's agents board follows them live, whichever engine or command made the change.

CREATE FUNCTION notify_agent_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('ivr_agents', NEW.id);
    RETURN NULL;
END
$$;

CREATE TRIGGER agents_notify_insert
    AFTER INSERT ON agents
    FOR EACH ROW EXECUTE FUNCTION notify_agent_change();
CREATE TRIGGER agents_notify_update
    AFTER UPDATE ON agents
    FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state
        OR OLD.reason IS DISTINCT FROM NEW.reason
        OR OLD.reachable IS DISTINCT FROM NEW.reachable
        OR OLD.login_state IS DISTINCT FROM NEW.login_state)
    EXECUTE FUNCTION notify_agent_change();
