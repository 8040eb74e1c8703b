-- Reference (issue 8 item 4): the same insert in a transaction that also calls pg_notify, on a
-- channel nobody listens to. The notify queue is taken under a global lock at commit.
BEGIN;
INSERT INTO clusters (id, name, spec, labels, generation, status_phase, status_observed_generation, status_last_transition_time, status_updated_at, status_adapters, created_at, updated_at, created_by, updated_by) VALUES (gen_random_uuid(), 'ref-' || gen_random_uuid(), '{"region": "us-east-1", "version": "4.15", "nodes": 3}', '{"env": "bench"}', 1, 'NotReady', 0, now(), now(), '[]', now(), now(), 'system', 'system');
SELECT pg_notify('bench_reference', 'x');
COMMIT;
