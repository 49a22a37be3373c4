-- Every login rewrites its factor's row (last_totp_step, last_used_at). With fillfactor 80 (migration 0008), 37 % of those
-- updates in the same-run A/B bench were not HOT: each then wrote a new tuple on another page and an entry in each of the
-- table's three indexes, and the accept statement wrote 0.12 full-page images per login (1,666–1,751 WAL bytes) against
-- the pre-issue-22 build's 0.04 (877–883). With fillfactor 50 every update was HOT: 0.05 full-page images and 1,146 WAL bytes per
-- login (docs/SCALING.md, issue 22). The table is half again as big for it (13,468 pages against 8,723 in the bench).
-- Only pages written from now on get the room; an existing table gets it on its next rewrite (`vacuum full factors`, or
-- pg_repack online), which this migration does not do: it would lock the table for the whole rewrite.
alter table factors set (fillfactor = 50);
