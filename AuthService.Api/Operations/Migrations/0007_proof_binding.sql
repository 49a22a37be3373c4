-- Every proof is bound to the factor and the purpose it was issued for (DESIGN §9.1, issue 21).

-- A phone code carries the factor it was sent for (factors.factor_id; for a 'pending' code the pending row's id) and its
-- purpose: 'login' (from /challenge, only for /verify), 'proof' (from /challenge with purpose proof, only as the proof of
-- a change) or 'pending'. The keyed hash binds the factor id too. Codes written before this migration carry no factor:
-- they die with it (they live 10 minutes; the user asks for a new one).
delete from phone_codes where purpose <> 'pending';
alter table phone_codes add column factor_id uuid;
update phone_codes set factor_id = id where purpose = 'pending';
delete from phone_codes where factor_id is null;
alter table phone_codes alter column factor_id set not null;
alter table phone_codes drop constraint phone_codes_purpose_check;
alter table phone_codes add constraint phone_codes_purpose_check check (purpose in ('pending', 'login', 'proof'));

-- A pending switch names the factor it replaces; it is confirmed only while that factor is still the user's.
alter table pending_factors add column from_factor_id uuid;
update pending_factors p set from_factor_id = f.factor_id from factors f where f.user_id = p.user_id and p.purpose = 'switch';
delete from pending_factors where purpose = 'switch' and from_factor_id is null;

-- A passkey challenge is bound to its purpose ('login', 'proof'; 'pending' for a registration, which is bound to its
-- pending row by pending_id) and, for an authentication, to the passkey factor it lists the credentials of. A user may
-- hold one live challenge per ceremony and purpose. Unbound authentication challenges (5 minutes) die here.
delete from passkey_challenges where ceremony = 'authentication';
alter table passkey_challenges add column purpose text not null default 'pending';
alter table passkey_challenges add constraint passkey_challenges_purpose_check check (purpose in ('pending', 'login', 'proof'));
alter table passkey_challenges add column factor_id uuid;
alter table passkey_challenges alter column purpose drop default;
alter table passkey_challenges drop constraint passkey_challenges_pkey;
alter table passkey_challenges add primary key (user_id, ceremony, purpose);

-- An Idempotency-Key is bound to its request: the route, the fields that matter, the API key and the factor, as one
-- SHA-256 fingerprint. Keys claimed before this migration have none; they are dropped (a retry across the upgrade
-- is a new request).
delete from idempotency_keys;
alter table idempotency_keys add column fingerprint bytea not null;

-- A support reset gives the user back their own daily budget, never the shared ledgers: the deliveries stay counted for
-- the numbers they went to and for the deployment-wide caps. user_budget = false: no longer counted for the user.
alter table deliveries add column user_budget boolean not null default true;
