-- Records search of the admin API: every list is newest first with (start_time, call_id)
-- as its keyset, so each filter's index ends in both columns and a page of 50 is read
-- straight off the index, whatever the table's size. These replace the indexes on
-- (number | tenant | caller, start_time) of 0010 and (tenant, disposition, start_time) of
-- 0070; the last one answers the platform's own newest-first list.
DROP INDEX call_records_number_start_idx;
DROP INDEX call_records_tenant_start_idx;
DROP INDEX call_records_caller_idx;
DROP INDEX call_records_tenant_disposition_idx;
CREATE INDEX call_records_number_start_idx ON call_records (number, start_time DESC, call_id DESC);
CREATE INDEX call_records_tenant_start_idx ON call_records (tenant_id, start_time DESC, call_id DESC);
CREATE INDEX call_records_caller_idx ON call_records (caller, start_time DESC, call_id DESC);
CREATE INDEX call_records_tenant_disposition_idx
    ON call_records (tenant_id, disposition, start_time DESC, call_id DESC);
CREATE INDEX call_records_start_idx ON call_records (start_time DESC, call_id DESC);

-- An agent sees the calls offered to them; a call's page shows its offers.
CREATE INDEX queue_offers_call_idx ON queue_offers (call_id);
CREATE INDEX queue_calls_call_idx ON queue_calls (call_id);
