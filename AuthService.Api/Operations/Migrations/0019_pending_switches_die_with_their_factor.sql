-- A switch (pending_factors, purpose 'switch') was proved with one factor (from_factor_id) and may be confirmed only while
-- that factor is the user's (PendingConfirmation.ReplaceAsync answers 409 factor_changed otherwise). When that factor is
-- removed, the switch goes with it — with its code and its passkey registration challenge — in the transaction of the
-- removal. Before, it stayed: the status kept reporting it as pending, and every confirmation spent its code and was
-- refused, until it expired. A confirmed switch deletes its own row before it replaces the factors, so this rule never
-- touches the switch being confirmed. The rule joins 0015's in the same trigger function (its name is 0015's; it now voids
-- what a removed factor leaves pending: every addition of the user, and a switch proved with that factor), so the voiding
-- of pending changes and what was issued for them stays in one place.
create or replace function pending_additions_void_for_factors() returns trigger language plpgsql as $$
begin
    with voided as (
        delete from pending_factors p
        where (p.purpose = 'add' and p.user_id in (select distinct o.user_id from removed_factors o))
           or (p.purpose = 'switch' and exists (select 1 from removed_factors o where o.user_id = p.user_id and o.factor_id = p.from_factor_id))
        returning p.user_id, p.id
    ), codes as (
        delete from phone_codes c using voided v where c.user_id = v.user_id and c.purpose = 'pending' and c.factor_id = v.id
    )
    delete from passkey_challenges ch using voided v
    where ch.user_id = v.user_id and ch.ceremony = 'registration' and ch.pending_id = v.id;
    return null;
end
$$;
