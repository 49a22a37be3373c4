-- The SmsThenCall fallback (DESIGN §9.5, issue 25): each code SMS sent under a profile with Fallback=SmsThenCall is
-- remembered by its Telnyx message id, with the code it carries (user, purpose, code id) and the profile, so that a signed
-- message.finalized webhook can be matched to it. `status` moves once from 'sent' to 'failed' (sending_failed,
-- delivery_failed) or 'finalized' (any other final status), by an update guarded by status = 'sent': a replayed or
-- duplicated report changes nothing. `offered_at` is set when the failure offered
-- a call (the code was still live). Rows are kept two days (Housekeeping).
create table sms_deliveries (
    message_id  text        primary key,
    user_id     text        not null,
    purpose     text        not null,
    code_id     uuid        not null,
    profile     text        not null,
    status      text        not null default 'sent' check (status in ('sent', 'finalized', 'failed')),
    reported_at timestamptz,
    offered_at  timestamptz,
    created_at  timestamptz not null
);
create index sms_deliveries_user on sms_deliveries (user_id, created_at);
create index sms_deliveries_created on sms_deliveries (created_at);
