-- Clusters: top-level resources. Soft-deleted rows stay (deleted_at/deleted_by set) and every
-- index is partial on live rows, so a deleted cluster's name is reusable at once.
CREATE TABLE clusters (
  id                          uuid        NOT NULL,
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
  CONSTRAINT clusters_pkey                  PRIMARY KEY (id),
  CONSTRAINT clusters_name_check            CHECK (char_length(name) BETWEEN 3 AND 63
                                                   AND name ~ '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'),
  CONSTRAINT clusters_spec_check            CHECK (jsonb_typeof(spec) = 'object'),
  CONSTRAINT clusters_labels_check          CHECK (jsonb_typeof(labels) = 'object'),
  CONSTRAINT clusters_generation_check      CHECK (generation >= 1),
  CONSTRAINT clusters_status_phase_check    CHECK (status_phase IN ('NotReady', 'Ready', 'Failed')),
  CONSTRAINT clusters_status_og_check       CHECK (status_observed_generation >= 0),
  CONSTRAINT clusters_status_adapters_check CHECK (jsonb_typeof(status_adapters) = 'array'),
  CONSTRAINT clusters_deleted_check         CHECK ((deleted_at IS NULL) = (deleted_by IS NULL))
);

CREATE UNIQUE INDEX clusters_name_live_key    ON clusters (name)                            WHERE deleted_at IS NULL;
CREATE INDEX        clusters_live_created_idx ON clusters (created_at, id)                  WHERE deleted_at IS NULL;
CREATE INDEX        clusters_live_phase_idx   ON clusters (status_phase)                    WHERE deleted_at IS NULL;
CREATE INDEX        clusters_live_labels_idx  ON clusters USING gin (labels jsonb_path_ops) WHERE deleted_at IS NULL;
