-- Reference (issue 8 item 4): count(*) plus a deep OFFSET page in the default order.
SELECT count(*) FROM clusters WHERE deleted_at IS NULL;
SELECT id, name, spec, labels FROM clusters WHERE deleted_at IS NULL ORDER BY created_at DESC, id DESC LIMIT 100 OFFSET 5000;
