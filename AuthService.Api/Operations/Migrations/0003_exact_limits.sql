-- Which secret a factor holds: a fresh id on every enrollment and every switch (the confirmed pending row's id), so
-- an acceptance checked against one secret cannot land on another (DESIGN §8.1). Existing rows get a random id.
alter table factors add column factor_id uuid not null default gen_random_uuid();

-- Backup codes remember the PBKDF2 cost they were hashed with, so the cost can be raised without invalidating codes
-- already handed out. Rows written before this migration used 2,000 iterations.
alter table backup_codes add column iterations int not null default 2000;
