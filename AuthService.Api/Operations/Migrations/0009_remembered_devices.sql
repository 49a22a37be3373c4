-- Remembered devices, "remember this browser for 30 days" (DESIGN §9.3, issue 23). Only the SHA-256 of the token is kept
-- (256 random bits, shown once). A device belongs to a user with 2FA: a support reset (which deletes two_factor_users)
-- takes every device with it.
create table remembered_devices (
    id           uuid        primary key,
    user_id      text        not null references two_factor_users (user_id) on delete cascade,
    token_hash   bytea       not null unique,
    label        text        not null,
    created_at   timestamptz not null,
    last_used_at timestamptz,
    expires_at   timestamptz not null
);
create index remembered_devices_user on remembered_devices (user_id, created_at);

-- Every device of a user is revoked (deleted: a revoked token is then exactly an unknown one) by a change of the user's
-- factors and by a lockout, in the transaction of that change. The rule lives here, once, whichever path changes them:
-- a factor removed (DELETE …/factors/{id}), replaced by a confirmed switch (every old factor row is deleted), or gone with
-- a support reset (the cascade from two_factor_users).
create function remembered_devices_revoke_for_factors() returns trigger language plpgsql as $$
begin
    delete from remembered_devices d where d.user_id in (select distinct o.user_id from removed_factors o);
    return null;
end
$$;
create trigger factors_revoke_remembered_devices after delete on factors
    referencing old table as removed_factors
    for each statement execute function remembered_devices_revoke_for_factors();

-- A lockout: the moment locked_at becomes non-null.
create function remembered_devices_revoke_on_lock() returns trigger language plpgsql as $$
begin
    delete from remembered_devices where user_id = new.user_id;
    return null;
end
$$;
create trigger two_factor_users_lock_revokes_remembered_devices after update of locked_at on two_factor_users
    for each row when (old.locked_at is null and new.locked_at is not null)
    execute function remembered_devices_revoke_on_lock();
