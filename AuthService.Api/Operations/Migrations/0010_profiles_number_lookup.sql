-- Verify profiles (DESIGN §9.5, issue 25): each API key sends under a named profile (Profiles:{name} in configuration).
-- Keys created before this release keep the default profile.
alter table api_keys add column profile text not null default 'default';
