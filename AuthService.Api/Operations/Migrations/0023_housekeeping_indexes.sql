-- Housekeeping (Operations/Housekeeping.cs) deletes, every 10 minutes on every instance, the rows of these tables past their
-- time, by the column below. No index led with it (verification_failures and remembered_devices are indexed by user first,
-- idempotency_keys by its primary key), so each pass read the whole table to find them: two days of failed attempts and
-- keyed requests, thirty of remembered devices. One index each; a failed attempt, a keyed request and a remembered device
-- write one entry more. Building them holds writes to these tables for as long as the builds take; docs/OPERATIONS.md
-- "Upgrades" says so.
create index verification_failures_created on verification_failures (created_at);
create index idempotency_keys_created on idempotency_keys (created_at);
create index remembered_devices_expires on remembered_devices (expires_at);
