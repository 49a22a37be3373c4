-- Several additions may be pending at once (0008), each confirmed at /factors/{id}/confirm by what was issued for it. But a
-- sent code was kept one per user and purpose (phone_codes, 0002) and a passkey registration challenge one per user
-- (passkey_challenges, 0007): a second pending phone's code replaced the first one's, and a second passkey registration
-- replaced the first one's challenge, so the earlier addition could never be confirmed (and a failed confirmation of one
-- spent the other's challenge). Now a code or challenge issued for a pending factor is one per pending row; a login or
-- proof code and an authentication challenge stay one per user and purpose, the newest replacing the last.
alter table phone_codes drop constraint phone_codes_pkey;
alter table phone_codes add primary key (user_id, purpose, factor_id);
create unique index phone_codes_one_per_purpose on phone_codes (user_id, purpose) where purpose <> 'pending';

delete from passkey_challenges where ceremony = 'registration' and pending_id is null;
alter table passkey_challenges drop constraint passkey_challenges_pkey;
alter table passkey_challenges add constraint passkey_challenges_registration_pending
    check (ceremony <> 'registration' or pending_id is not null);
create unique index passkey_challenges_one_per_purpose on passkey_challenges (user_id, ceremony, purpose) where ceremony = 'authentication';
create unique index passkey_challenges_one_per_pending on passkey_challenges (user_id, pending_id) where ceremony = 'registration';
