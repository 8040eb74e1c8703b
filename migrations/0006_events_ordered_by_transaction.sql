-- Event ids without the event-order lock (issue 15). An id is the writing transaction's id (xid8)
-- shifted left by 16 bits, plus the event's 1-based position within that transaction. Writers no
-- longer wait for each other; readers see only ids below events_horizon(): the oldest transaction
-- of this database still running in the reader's snapshot, shifted the same way. Every transaction below that
-- horizon has ended, and every later one has a larger xid, so no event can ever appear below an id
-- a reader has already seen: the log is gap-free and ordered for every reader, as before.

-- The id of the next event of the current transaction. The position counter lives in a
-- transaction-local setting, so it restarts with every transaction (and rewinds with a rolled-back
-- savepoint, together with the rows it numbered).
CREATE FUNCTION events_next_id() RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  n bigint := coalesce(nullif(current_setting('hyperfleet.events_in_transaction', true), ''), '0')::bigint + 1;
BEGIN
  IF n > 65535 THEN
    RAISE EXCEPTION 'a transaction writes at most 65535 events' USING ERRCODE = 'program_limit_exceeded';
  END IF;
  PERFORM set_config('hyperfleet.events_in_transaction', n::text, true);
  RETURN (pg_current_xact_id()::text::bigint << 16) | n;
END
$$;

-- The reader cut: every event id below it belongs to a transaction that has ended, as seen by the
-- calling statement's snapshot. It is the oldest transaction still running in that snapshot,
-- leaving out those running in another database (they cannot write this table), or the snapshot's
-- xmax when none is left. A transaction that the snapshot saw running but that has ended by the
-- time pg_stat_activity is read is not found there, so it still counts: the cut errs low, never
-- high. (pg_stat_activity shows transaction ids as 32-bit xids; running ones never collide.)
-- Readers call it as `(SELECT events_horizon())`, so a statement evaluates it once.
CREATE FUNCTION events_horizon() RETURNS bigint
LANGUAGE sql STABLE AS $$
  SELECT least(
           pg_snapshot_xmax(s)::text::bigint,
           (SELECT min(x::text::bigint)
            FROM pg_snapshot_xip(s) AS x
            WHERE x::text::bigint % 4294967296 NOT IN (
              SELECT a.backend_xid::text::bigint
              FROM pg_stat_activity AS a
              WHERE a.backend_xid IS NOT NULL
                AND a.datid IS DISTINCT FROM (SELECT oid FROM pg_database WHERE datname = current_database())))
         ) << 16
  FROM pg_current_snapshot() AS s
$$;

-- Ids drawn from the old identity sequence must stay below every new id.
DO $$
BEGIN
  IF (SELECT coalesce(max(id), 0) FROM events) >= (pg_current_xact_id()::text::bigint << 16) THEN
    RAISE EXCEPTION 'events ids run ahead of the transaction counter; cannot switch to transaction-ordered ids';
  END IF;
END
$$;

ALTER TABLE events
  ALTER COLUMN id DROP IDENTITY,
  ALTER COLUMN id SET DEFAULT events_next_id();
