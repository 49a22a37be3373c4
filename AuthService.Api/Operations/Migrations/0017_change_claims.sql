-- A change proved by a code and sending one (a switch to a phone, a phone addition) spends its proof only when the code it
-- sent is stored, after the provider answered (0007, DESIGN §9.1: a change refused by a budget or the provider keeps its
-- proof). Until then the proof is checked but not spent, so several such requests at once with the same proof each sent a
-- text, to as many numbers. A user has at most one of them in flight: the first claims this row, the others are refused
-- (409 change_in_progress) before anything is reserved or sent. The claim is given back when the request ends; one left by an
-- instance that died lapses after a minute (the longest such a request may take). No user data but the id.
create table change_claims (
    user_id   text        primary key,
    claim_id  uuid        not null,
    lapses_at timestamptz not null
);
