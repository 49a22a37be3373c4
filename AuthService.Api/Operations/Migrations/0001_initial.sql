-- Caller API keys: only the SHA-256 of the key is kept.
create table api_keys (
    id          uuid primary key,
    name        text        not null,
    prefix      text        not null,
    key_hash    bytea       not null unique,
    scopes      text[]      not null,
    created_at  timestamptz not null,
    revoked_at  timestamptz
);

-- One enabled second factor per user. Secrets are AES-256-GCM sealed (key id inside the value).
create table factors (
    user_id            text        primary key,
    method             text        not null check (method in ('totp', 'phone')),
    totp_secret        bytea,
    totp_algorithm     text,
    totp_digits        int,
    totp_period        int,
    phone_number       bytea,
    phone_hash         bytea,
    -- RFC 6238 §5.2: the last accepted time step; only later steps are accepted.
    last_totp_step     bigint      not null default -1,
    enabled_at         timestamptz not null,
    updated_at         timestamptz not null,
    failed_consecutive int         not null default 0,
    locked_at          timestamptz
);

-- An enrollment (purpose 'enroll') or a method switch (purpose 'switch') waiting for its first code.
create table pending_factors (
    user_id        text        primary key,
    id             uuid        not null,
    purpose        text        not null check (purpose in ('enroll', 'switch')),
    method         text        not null check (method in ('totp', 'phone')),
    totp_secret    bytea,
    totp_algorithm text,
    totp_digits    int,
    totp_period    int,
    phone_number   bytea,
    phone_hash     bytea,
    created_at     timestamptz not null,
    expires_at     timestamptz not null
);

-- Single-use recovery codes: salt + HMAC-SHA256 only.
create table backup_codes (
    id         bigserial   primary key,
    user_id    text        not null,
    salt       bytea       not null,
    code_hash  bytea       not null,
    created_at timestamptz not null,
    used_at    timestamptz
);
create index backup_codes_unused on backup_codes (user_id) where used_at is null;

-- Append-only audit trail. Never holds a code, secret, key or full phone number.
create table audit_events (
    id          bigserial   primary key,
    user_id     text,
    event_type  text        not null,
    occurred_at timestamptz not null,
    api_key_id  uuid,
    details     jsonb       not null default '{}'
);
create index audit_events_user on audit_events (user_id, id desc);

create rule audit_events_no_update as on update to audit_events do instead nothing;
create rule audit_events_no_delete as on delete to audit_events do instead nothing;
