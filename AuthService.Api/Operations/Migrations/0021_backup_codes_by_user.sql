-- Every backup code of a user, used or not, by the user: a confirmation that enables 2FA, a regeneration and a support reset
-- delete them all (`delete from backup_codes where user_id = …`), and the only index was partial (`where used_at is null`),
-- which that statement cannot use, so each read the whole table under the user's lock. This index serves the deletes and the
-- unused-code reads alike (a user holds a few dozen rows at most), so the partial one goes. Building it holds writes to
-- backup_codes (a backup-code login's update) for as long as the build takes; docs/OPERATIONS.md "Upgrades" says so.
create index backup_codes_by_user on backup_codes (user_id);
drop index backup_codes_unused;
