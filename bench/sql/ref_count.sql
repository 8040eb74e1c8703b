-- Reference (issue 8 item 4): the total of an unfiltered cluster list on its own.
SELECT count(*) FROM clusters WHERE deleted_at IS NULL;
