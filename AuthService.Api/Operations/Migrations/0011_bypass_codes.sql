-- Support bypass codes (DESIGN §9.4, issue 24): issued by support (admin scope) for a user who lost their factor, accepted
-- at /verify and as the proof of a change, `uses_left` times until `expires_at`. Only a keyed hash of the code is stored
-- (HMAC under `key_id`, bound to the user and the row's id). A reset deletes the user's two_factor_users row, and the
-- cascade takes the codes with it; DELETE …/bypass-codes revokes them explicitly.
create table bypass_codes (
    id         uuid        primary key,
    user_id    text        not null references two_factor_users (user_id) on delete cascade,
    key_id     text        not null,
    code_hash  bytea       not null,
    uses_left  int         not null check (uses_left >= 0),
    expires_at timestamptz not null,
    reason     text        not null,
    ticket     text        not null,
    created_at timestamptz not null,
    api_key_id uuid
);
create index bypass_codes_user_id on bypass_codes (user_id, expires_at);
