-- The latest accepted report of one adapter about one cluster or node pool. No foreign key:
-- resource_id points at clusters or node_pools depending on resource_type, and writers lock the
-- resource row first, so the reference always holds.
CREATE TABLE adapter_statuses (
  resource_type       text        COLLATE "C" NOT NULL,
  resource_id         uuid        NOT NULL,
  adapter             text        COLLATE "C" NOT NULL,
  observed_generation integer     NOT NULL,
  conditions          jsonb       NOT NULL,
  data                jsonb       NOT NULL DEFAULT '{}'::jsonb,
  metadata            jsonb       NULL,
  created_at          timestamptz NOT NULL,
  updated_at          timestamptz NOT NULL,
  deleted_at          timestamptz NULL,
  CONSTRAINT adapter_statuses_pkey                PRIMARY KEY (resource_type, resource_id, adapter),
  CONSTRAINT adapter_statuses_resource_type_check CHECK (resource_type IN ('Cluster', 'NodePool')),
  CONSTRAINT adapter_statuses_adapter_check       CHECK (char_length(adapter) BETWEEN 1 AND 255),
  CONSTRAINT adapter_statuses_og_check            CHECK (observed_generation >= 0),
  CONSTRAINT adapter_statuses_conditions_check    CHECK (jsonb_typeof(conditions) = 'array'),
  CONSTRAINT adapter_statuses_data_check          CHECK (jsonb_typeof(data) = 'object'),
  CONSTRAINT adapter_statuses_metadata_check      CHECK (metadata IS NULL OR jsonb_typeof(metadata) = 'object')
);
