-- Event ids without the event-order lock (issue 15). An id is the writing transaction's id (xid8)
-- shifted left by 16 bits, plus the event's 1-based position within that transaction. Writers no
-- longer wait for each other; readers see only ids below events_horizon(): the oldest transaction
-- still running in the reader's snapshot, shifted the same way. Every transaction below that
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
-- calling statement's snapshot: the oldest transaction still running (pg_snapshot_xmin, which
-- spans every database of the server), shifted like the ids. Readers call it as
-- `(SELECT events_horizon())`, so a statement evaluates it once and can bound an index scan by it.
CREATE FUNCTION events_horizon() RETURNS bigint
LANGUAGE sql STABLE AS $$
  SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint << 16
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
