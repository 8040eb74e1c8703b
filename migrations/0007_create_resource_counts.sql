-- Maintained totals of live clusters and node pools (issue 15), so an unfiltered list's `total`
-- costs a read of 64 small rows instead of a count(*) that grows with the fleet.
--
-- Each kind has 64 counter rows; a transaction adds its changes to the row picked by its
-- transaction id, so concurrent writers (consecutive ids) mostly update different rows and do not
-- wait for each other, and one transaction never locks two rows of one kind (no deadlocks between
-- counter updates). The sum of a kind's rows is its live total in any snapshot, because the
-- counters change in the same transaction as the rows they count. Triggers keep them, so every
-- writer is covered, SQL typed by hand included. "Live" is `deleted_at IS NULL`: a soft delete
-- counts as a removal, and a hard delete removes only what was still live.
CREATE TABLE resource_counts (
  kind text     NOT NULL,
  slot smallint NOT NULL,
  live bigint   NOT NULL DEFAULT 0,
  CONSTRAINT resource_counts_pkey       PRIMARY KEY (kind, slot),
  CONSTRAINT resource_counts_kind_check CHECK (kind IN ('clusters', 'node_pools')),
  CONSTRAINT resource_counts_slot_check CHECK (slot BETWEEN 0 AND 63)
);

INSERT INTO resource_counts (kind, slot)
SELECT kind, slot FROM unnest(ARRAY['clusters', 'node_pools']) AS kind, generate_series(0, 63) AS slot;

CREATE FUNCTION resource_counts_add(counted text, delta bigint) RETURNS void
LANGUAGE sql VOLATILE AS $$
  UPDATE resource_counts SET live = live + delta
  WHERE kind = counted AND slot = (pg_current_xact_id()::text::bigint % 64)::smallint AND delta <> 0
$$;

-- INSERT and DELETE are counted per statement (a bulk load is one counter update).
CREATE FUNCTION resource_counts_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM resource_counts_add(TG_TABLE_NAME, (SELECT count(*) FROM changed WHERE deleted_at IS NULL));
  RETURN NULL;
END
$$;

CREATE FUNCTION resource_counts_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM resource_counts_add(TG_TABLE_NAME, -(SELECT count(*) FROM changed WHERE deleted_at IS NULL));
  RETURN NULL;
END
$$;

-- Updates are counted per row, and only those that change liveness: a transition table cannot be
-- limited to a column, and status reports update resource rows all the time.
CREATE FUNCTION resource_counts_liveness_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM resource_counts_add(TG_TABLE_NAME, CASE WHEN NEW.deleted_at IS NULL THEN 1 ELSE -1 END);
  RETURN NULL;
END
$$;

CREATE FUNCTION resource_counts_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE resource_counts SET live = 0 WHERE kind = TG_TABLE_NAME;
  RETURN NULL;
END
$$;

CREATE TRIGGER clusters_count_inserted AFTER INSERT ON clusters
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION resource_counts_inserted();
CREATE TRIGGER clusters_count_deleted AFTER DELETE ON clusters
  REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION resource_counts_deleted();
CREATE TRIGGER clusters_count_liveness AFTER UPDATE OF deleted_at ON clusters
  FOR EACH ROW WHEN ((OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL))
  EXECUTE FUNCTION resource_counts_liveness_changed();
CREATE TRIGGER clusters_count_truncated AFTER TRUNCATE ON clusters
  FOR EACH STATEMENT EXECUTE FUNCTION resource_counts_truncated();

CREATE TRIGGER node_pools_count_inserted AFTER INSERT ON node_pools
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION resource_counts_inserted();
CREATE TRIGGER node_pools_count_deleted AFTER DELETE ON node_pools
  REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION resource_counts_deleted();
CREATE TRIGGER node_pools_count_liveness AFTER UPDATE OF deleted_at ON node_pools
  FOR EACH ROW WHEN ((OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL))
  EXECUTE FUNCTION resource_counts_liveness_changed();
CREATE TRIGGER node_pools_count_truncated AFTER TRUNCATE ON node_pools
  FOR EACH STATEMENT EXECUTE FUNCTION resource_counts_truncated();

-- The starting totals, counted after the triggers exist: creating them waited for every writer in
-- flight and holds off new ones until this migration commits, so nothing is counted twice or missed.
UPDATE resource_counts SET live = (SELECT count(*) FROM clusters WHERE deleted_at IS NULL)
WHERE kind = 'clusters' AND slot = 0;
UPDATE resource_counts SET live = (SELECT count(*) FROM node_pools WHERE deleted_at IS NULL)
WHERE kind = 'node_pools' AND slot = 0;
