-- Asterisk channel names in call records: ``channel`` is the caller's channel
-- (PJSIP/carrier-0000000a, from its StasisStart snapshot), ``dstchannel`` the target leg the
-- caller was connected to, else the last one dialled. The ``cdr`` view shows them where it
-- showed an empty channel and 'PJSIP/<number>' before, as Asterisk's CDR tools expect.
-- Records stored before this migration keep empty names.

ALTER TABLE call_records
    ADD COLUMN channel text NOT NULL DEFAULT '',
    ADD COLUMN dstchannel text NOT NULL DEFAULT '';

CREATE OR REPLACE VIEW cdr AS
SELECT r.caller_raw AS clid,
       r.caller_raw AS src,
       r.number AS dst,
       'from-carrier'::text AS dcontext,
       r.channel,
       r.dstchannel,
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
