-- A webhook endpoint is deleted in two steps. DELETE /v1/webhooks/{id} marks it (deleted_at), an update that takes no lock a
-- dispatch pass holds (the pass holds the endpoint's row for key share while it sends), so it answers at once even while a
-- receiver hangs; before, it waited for every pass sending to the endpoint, up to Webhooks:Timeout each, and answered 503 when
-- that outlasted the command timeout. Every read, claim and outbox insert passes over a marked endpoint. The row itself, with
-- its deliveries, goes right after the mark when no pass holds it, else at the dispatcher's next prune.
alter table webhook_endpoints add column deleted_at timestamptz;
