-- A factor being added (pending_factors, purpose 'add') was started with a proof from a factor the user held then. When any
-- factor of the user goes — removed (DELETE …/factors/{id}), replaced by a confirmed switch (every old factor row is deleted),
-- or with a support reset (the cascade from two_factor_users) — every addition the user has pending goes too, with the code
-- sent for it and its passkey registration challenge, in the transaction of that change. Otherwise a person who removes a
-- stolen factor, or switches away from it, could still find a factor added by the thief: the thief starts an addition with a
-- proof from the stolen factor and confirms it after the cleanup. Like the revocation of remembered devices (0009), the rule
-- lives here, once, whichever path removes a factor.
create function pending_additions_void_for_factors() returns trigger language plpgsql as $$
begin
    with voided as (
        delete from pending_factors p
        where p.purpose = 'add' and p.user_id in (select distinct o.user_id from removed_factors o)
        returning p.user_id, p.id
    ), codes as (
        delete from phone_codes c using voided v where c.user_id = v.user_id and c.purpose = 'pending' and c.factor_id = v.id
    )
    delete from passkey_challenges ch using voided v
    where ch.user_id = v.user_id and ch.ceremony = 'registration' and ch.pending_id = v.id;
    return null;
end
$$;
create trigger factors_void_pending_additions after delete on factors
    referencing old table as removed_factors
    for each statement execute function pending_additions_void_for_factors();
