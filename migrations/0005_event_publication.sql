-- Hand-off of the event log to the message broker (issue 12). `published_at` is set once the
-- broker has confirmed the event's message; `generation` is the resource's generation as the
-- writing transaction left it, so a message published later still describes that change.
-- Events written before this migration have no generation; the publisher falls back to the
-- resource's current one for them.
ALTER TABLE events ADD COLUMN published_at timestamptz NULL;
ALTER TABLE events ADD COLUMN generation   integer     NULL;

CREATE INDEX events_unpublished_idx ON events (id) WHERE published_at IS NULL;
