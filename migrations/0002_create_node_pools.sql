-- Node pools: children of exactly one cluster. Names are unique per live cluster only.
CREATE TABLE node_pools (
  id                          uuid        NOT NULL,
  cluster_id                  uuid        NOT NULL,
  name                        text        COLLATE "C" NOT NULL,
  spec                        jsonb       NOT NULL,
  labels                      jsonb       NOT NULL DEFAULT '{}'::jsonb,
  generation                  integer     NOT NULL DEFAULT 1,
  status_phase                text        COLLATE "C" NOT NULL DEFAULT 'NotReady',
  status_observed_generation  integer     NOT NULL DEFAULT 0,
  status_last_transition_time timestamptz NOT NULL,
  status_updated_at           timestamptz NOT NULL,
  status_adapters             jsonb       NOT NULL DEFAULT '[]'::jsonb,
  created_at                  timestamptz NOT NULL,
  updated_at                  timestamptz NOT NULL,
  created_by                  text        COLLATE "C" NOT NULL,
  updated_by                  text        COLLATE "C" NOT NULL,
  deleted_at                  timestamptz NULL,
  deleted_by                  text        NULL,
  CONSTRAINT node_pools_pkey                  PRIMARY KEY (id),
  CONSTRAINT node_pools_cluster_id_fkey       FOREIGN KEY (cluster_id) REFERENCES clusters (id) ON DELETE RESTRICT,
  CONSTRAINT node_pools_name_check            CHECK (char_length(name) BETWEEN 1 AND 63
                                                     AND name ~ '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'),
  CONSTRAINT node_pools_spec_check            CHECK (jsonb_typeof(spec) = 'object'),
  CONSTRAINT node_pools_labels_check          CHECK (jsonb_typeof(labels) = 'object'),
  CONSTRAINT node_pools_generation_check      CHECK (generation >= 1),
  CONSTRAINT node_pools_status_phase_check    CHECK (status_phase IN ('NotReady', 'Ready', 'Failed')),
  CONSTRAINT node_pools_status_og_check       CHECK (status_observed_generation >= 0),
  CONSTRAINT node_pools_status_adapters_check CHECK (jsonb_typeof(status_adapters) = 'array'),
  CONSTRAINT node_pools_deleted_check         CHECK ((deleted_at IS NULL) = (deleted_by IS NULL))
);

CREATE UNIQUE INDEX node_pools_cluster_name_live_key    ON node_pools (cluster_id, name)              WHERE deleted_at IS NULL;
CREATE INDEX        node_pools_live_cluster_created_idx ON node_pools (cluster_id, created_at, id)    WHERE deleted_at IS NULL;
CREATE INDEX        node_pools_live_created_idx         ON node_pools (created_at, id)                WHERE deleted_at IS NULL;
CREATE INDEX        node_pools_live_phase_idx           ON node_pools (status_phase)                  WHERE deleted_at IS NULL;
CREATE INDEX        node_pools_live_labels_idx          ON node_pools USING gin (labels jsonb_path_ops) WHERE deleted_at IS NULL;
