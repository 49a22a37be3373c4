-- Several named factors per user (DESIGN §9.2, issue 22). Until now `factors` held one row per user: the factor and the
-- user's lockout state together. After this migration:
--   two_factor_users  one row per user with 2FA enabled: when it was enabled, the consecutive-failure count and the lock
--                     (limits and lockout stay per user, across all of the user's factors);
--   factors           one row per factor (key factor_id), with a label, created_at, last_used_at and the default flag;
--   passkey_credentials each credential is a factor of its own (factor_id).
-- Every row written by the previous release keeps working: each user's factor keeps its factor_id (so bound codes,
-- challenges and pending switches stay valid), becomes the user's default, and is labelled after its method.

create table two_factor_users (
    user_id            text        primary key,
    enabled_at         timestamptz not null,
    updated_at         timestamptz not null,
    failed_consecutive int         not null default 0,
    locked_at          timestamptz
);
insert into two_factor_users (user_id, enabled_at, updated_at, failed_consecutive, locked_at)
select user_id, enabled_at, updated_at, failed_consecutive, locked_at from factors;

alter table passkey_credentials drop constraint passkey_credentials_user_id_fkey;
alter table factors drop constraint factors_pkey;
alter table factors add primary key (factor_id);
alter table factors add column label text;
alter table factors add column created_at timestamptz;
alter table factors add column last_used_at timestamptz;
alter table factors add column is_default boolean not null default false;
update factors set created_at = enabled_at, is_default = true,
    label = case method when 'totp' then 'Authenticator app'
                        when 'phone' then 'Phone ' || coalesce(phone_masked, '')
                        else 'Passkey' end;
-- A phone factor shows the channel it was enrolled with: for a factor of the previous release, the channel of its number's
-- latest delivery (SMS when none is on record).
alter table factors add column channel text check (channel in ('sms', 'call'));
update factors f set channel = coalesce((select d.channel from deliveries d where d.user_id = f.user_id and d.phone_hash = f.phone_hash
                                         order by d.created_at desc limit 1), 'sms')
where method = 'phone';
alter table factors alter column label set not null;
alter table factors alter column created_at set not null;
alter table factors drop column failed_consecutive;
alter table factors drop column locked_at;
alter table factors drop column enabled_at;
alter table factors add constraint factors_user_id_fkey foreign key (user_id) references two_factor_users (user_id) on delete cascade;
create index factors_user on factors (user_id, created_at);
-- Every login rewrites its factor's row (last_totp_step, last_used_at): room on each page keeps that a HOT update, which
-- touches none of the three indexes (the previous single-factor table had one).
alter table factors set (fillfactor = 80);
create unique index factors_one_default on factors (user_id) where is_default;

-- Each passkey credential becomes a factor: the user's oldest credential keeps the passkey factor it belonged to (and its
-- id, which live challenges are bound to); any further one gets a factor row of its own.
alter table passkey_credentials add column factor_id uuid;
update passkey_credentials c set factor_id = f.factor_id
from factors f
where f.user_id = c.user_id and f.method = 'passkey'
  and c.credential_id = (select c2.credential_id from passkey_credentials c2 where c2.user_id = c.user_id
                         order by c2.created_at, c2.credential_id limit 1);
create temporary table passkey_split on commit drop as
    select credential_id, user_id, created_at, gen_random_uuid() as factor_id from passkey_credentials where factor_id is null;
insert into two_factor_users (user_id, enabled_at, updated_at)
select user_id, min(created_at), min(created_at) from passkey_split group by user_id
on conflict (user_id) do nothing;
insert into factors (factor_id, user_id, method, label, created_at, updated_at, last_totp_step, is_default)
select s.factor_id, s.user_id, 'passkey', 'Passkey', s.created_at, s.created_at, -1,
       not exists (select 1 from factors f where f.user_id = s.user_id)
           and s.credential_id = (select s2.credential_id from passkey_split s2 where s2.user_id = s.user_id
                                  order by s2.created_at, s2.credential_id limit 1)
from passkey_split s;
update passkey_credentials c set factor_id = s.factor_id from passkey_split s where s.credential_id = c.credential_id;
alter table passkey_credentials alter column factor_id set not null;
alter table passkey_credentials add constraint passkey_credentials_factor_id_fkey
    foreign key (factor_id) references factors (factor_id) on delete cascade;
alter table passkey_credentials add constraint passkey_credentials_user_id_fkey
    foreign key (user_id) references two_factor_users (user_id) on delete cascade;
create index passkey_credentials_factor on passkey_credentials (factor_id);

-- A pending row is also a factor being added ('add', keyed by its id: several may be pending at once, each confirmed at
-- /factors/{id}/confirm); an enrollment or a switch stays one per user.
alter table pending_factors drop constraint pending_factors_pkey;
alter table pending_factors add primary key (id);
create unique index pending_factors_one_change on pending_factors (user_id) where purpose in ('enroll', 'switch');
create index pending_factors_user on pending_factors (user_id);
alter table pending_factors drop constraint pending_factors_purpose_check;
alter table pending_factors add constraint pending_factors_purpose_check check (purpose in ('enroll', 'switch', 'add'));
alter table pending_factors add column label text;

-- An authentication challenge of a passkey user may name one passkey factor, or none (every passkey of the user).
-- (passkey_challenges.factor_id keeps its meaning for a challenge that names one.)
