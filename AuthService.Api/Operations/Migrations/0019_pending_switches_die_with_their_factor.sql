-- A switch (pending_factors, purpose 'switch') was proved with one factor (from_factor_id) and may be confirmed only while
-- that factor is the user's (PendingConfirmation.ReplaceAsync answers 409 factor_changed otherwise). When that factor is
-- removed, the switch goes with it — with its code and its passkey registration challenge — in the transaction of the
-- removal, as 0015 does for additions. Before, it stayed: the status kept reporting it as pending, and every confirmation
-- spent its code and was refused, until it expired. A confirmed switch deletes its own row before it replaces the factors,
-- so this rule never touches the switch being confirmed.
create function pending_switches_void_for_factors() returns trigger language plpgsql as $$
begin
    with voided as (
        delete from pending_factors p using removed_factors o
        where p.purpose = 'switch' and p.user_id = o.user_id and p.from_factor_id = o.factor_id
        returning p.user_id, p.id
    ), codes as (
        delete from phone_codes c using voided v where c.user_id = v.user_id and c.purpose = 'pending' and c.factor_id = v.id
    )
    delete from passkey_challenges ch using voided v
    where ch.user_id = v.user_id and ch.ceremony = 'registration' and ch.pending_id = v.id;
    return null;
end
$$;
create trigger factors_void_pending_switches after delete on factors
    referencing old table as removed_factors
    for each statement execute function pending_switches_void_for_factors();
