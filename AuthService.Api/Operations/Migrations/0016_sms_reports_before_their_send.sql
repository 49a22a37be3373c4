-- A Telnyx report that an SMS failed can arrive before the transaction that remembers the SMS (sms_deliveries, 0013) has
-- committed: Telnyx answers the send, then reports, while the service is still storing the code. Such a failure report is
-- kept here by message id, and the send's transaction applies it when it remembers the SMS; both sides take the same
-- advisory lock on the message id, so one of them always sees the other. No user data: a message id and a status. Rows
-- are kept two days (Housekeeping): a report for a message that is never remembered (not ours, or sent without the
-- fallback) is only pruned.
create table sms_early_reports (
    message_id  text        primary key,
    status      text        not null,
    received_at timestamptz not null
);
create index sms_early_reports_received on sms_early_reports (received_at);
