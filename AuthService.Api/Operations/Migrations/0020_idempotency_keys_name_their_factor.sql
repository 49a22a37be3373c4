-- An Idempotency-Key's answer names the factor it was for (a challenge's phone). Removing a factor drops the answered keys
-- of that factor only (TwoFactorStore.DeleteFactorAsync): it dropped every answered key of the user, so a portal's retry of a
-- challenge to a phone the user kept, after an unrelated factor was removed, sent a second code. Keys stored before this
-- migration name no factor and are dropped by any removal, as before.
alter table idempotency_keys add column factor_id uuid;
