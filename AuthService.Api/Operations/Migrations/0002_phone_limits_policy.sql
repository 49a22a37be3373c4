-- Masked numbers for display, so status never needs to decrypt.
alter table factors add column phone_masked text;
alter table pending_factors add column phone_masked text;
alter table pending_factors add column channel text;

-- One live phone code per user and purpose ('pending' confirms an enrollment or switch, 'login' a login).
-- A new code replaces the previous one, which is how a new challenge kills the old code.
create table phone_codes (
    user_id     text        not null,
    purpose     text        not null check (purpose in ('pending', 'login')),
    id          uuid        not null,
    channel     text        not null check (channel in ('sms', 'call')),
    key_id      text        not null,
    code_hash   bytea       not null,
    attempts    int         not null default 0,
    created_at  timestamptz not null,
    expires_at  timestamptz not null,
    primary key (user_id, purpose)
);

-- Code deliveries, the ledger of the daily budget per user and per phone number (rolling 24 h).
create table deliveries (
    id          bigserial   primary key,
    user_id     text        not null,
    phone_hash  bytea       not null,
    channel     text        not null,
    created_at  timestamptz not null
);
create index deliveries_user on deliveries (user_id, created_at);
create index deliveries_phone on deliveries (phone_hash, created_at);

-- Failed verifications, the ledger of the per-minute attempt limit (rolling 60 s).
create table verification_failures (
    id          bigserial   primary key,
    user_id     text        not null,
    created_at  timestamptz not null
);
create index verification_failures_user on verification_failures (user_id, created_at);

-- Idempotency-Key of challenge requests: the first answer is replayed, nothing is sent twice.
create table idempotency_keys (
    user_id     text        not null,
    key         text        not null,
    status      int,
    response    jsonb,
    created_at  timestamptz not null,
    primary key (user_id, key)
);

-- Enrollment prompts the user skipped at login.
create table prompt_skips (
    user_id     text        primary key,
    skips       int         not null,
    last_at     timestamptz not null
);
