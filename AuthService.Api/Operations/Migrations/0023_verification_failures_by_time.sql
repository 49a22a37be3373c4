-- Housekeeping (Operations/Housekeeping.cs) deletes, every 10 minutes on every instance, the failed attempts older than two
-- days, by created_at. The only index leads with user_id, so each pass read the whole table to find them. One index per
-- migration (0023–0025), so that each build holds writes to its own table only, for as long as it reads it once, and a
-- migration that must wait for a lock throws away no other table's build. While this one builds, a wrong code waits, and
-- with it the logins of its batch; docs/OPERATIONS.md "Upgrades" says so.
create index verification_failures_created on verification_failures (created_at);
