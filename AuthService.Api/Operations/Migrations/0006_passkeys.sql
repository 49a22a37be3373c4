-- Passkeys (WebAuthn, DESIGN §8.4): a third method beside TOTP and phone.
alter table factors drop constraint factors_method_check;
alter table factors add constraint factors_method_check check (method in ('totp', 'phone', 'passkey'));
alter table pending_factors drop constraint pending_factors_method_check;
alter table pending_factors add constraint pending_factors_method_check check (method in ('totp', 'phone', 'passkey'));

-- The registered credentials of a passkey factor. The public key is public by nature; the credential id is a random
-- handle chosen by the authenticator that every authentication challenge lists (allowCredentials), so neither is
-- sealed. A support reset removes the factor and, through the foreign key, its credentials.
create table passkey_credentials (
    credential_id    bytea       primary key,
    user_id          text        not null references factors (user_id) on delete cascade,
    public_key       bytea       not null,
    -- WebAuthn §6.1.1 signature counter: an assertion must carry a larger value, else the key may have been cloned.
    sign_count       bigint      not null,
    transports       text[]      not null default '{}',
    aaguid           uuid        not null,
    user_handle      bytea       not null,
    attestation_fmt  text        not null,
    backup_eligible  boolean     not null,
    backed_up        boolean     not null,
    created_at       timestamptz not null,
    last_used_at     timestamptz
);
create index passkey_credentials_user on passkey_credentials (user_id);

-- The one live challenge of a user per ceremony, with the options it was sent in. Taking it deletes it, so it is
-- single use; a new challenge replaces the previous one. A registration challenge is bound to the pending enrollment
-- or switch it was issued for (pending_id).
create table passkey_challenges (
    user_id     text        not null,
    ceremony    text        not null check (ceremony in ('registration', 'authentication')),
    pending_id  uuid,
    challenge   bytea       not null,
    options     text        not null,
    created_at  timestamptz not null,
    expires_at  timestamptz not null,
    primary key (user_id, ceremony)
);
