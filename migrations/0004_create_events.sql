-- The change log of clusters and node pools (transactional outbox). Writers take the
-- event-order advisory lock before inserting, so ids become visible in commit order.
CREATE TABLE events (
  id            bigint      GENERATED ALWAYS AS IDENTITY,
  source        text        NOT NULL,
  source_id     uuid        NOT NULL,
  event_type    text        NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  reconciled_at timestamptz NULL,
  CONSTRAINT events_pkey             PRIMARY KEY (id),
  CONSTRAINT events_source_check     CHECK (source IN ('Clusters', 'NodePools')),
  CONSTRAINT events_event_type_check CHECK (event_type IN ('Create', 'Update', 'Delete'))
);

CREATE INDEX events_unreconciled_idx ON events (id) WHERE reconciled_at IS NULL;
CREATE INDEX events_source_id_idx    ON events (source_id, id);
