-- Number check before sending (DESIGN §9.5, issue 25): the cached answer of Telnyx Number Lookup for each number, under the
-- number's keyed hash (HMAC of the E.164 number under the active key, as deliveries.phone_hash), never the number. One row per
-- number: a fresh lookup replaces it (upsert), so a number costs at most one lookup a day on any number of instances (two that
-- race on a stale row may both look it up; the later write wins). A key rotation changes the hash, so a number is looked up
-- again once after it; rows older than 30 days (numbers no longer sent to, hashes under a retired key) are deleted whenever
-- an answer is written.
create table number_lookups (
    phone_hash   bytea       primary key,
    line_type    text        not null,
    ported_at    date,
    looked_up_at timestamptz not null
);
create index number_lookups_looked_up_at on number_lookups (looked_up_at);
