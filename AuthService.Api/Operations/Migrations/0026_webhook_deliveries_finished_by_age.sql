-- The webhook dispatcher prunes, every 10 minutes on every instance, the delivered and failed deliveries past
-- Webhooks:Retention by created_at (WebhookQueue.PruneOlderThanAsync). No index led with it, so each pass read the whole
-- table, a week of deliveries. Partial: a pending row is never pruned, so it is not in the index, and a delivery is inserted
-- pending without touching it (it enters the index when it is marked delivered or failed, an update that is not HOT anyway:
-- status is in the predicates of 0005's indexes). While this builds, marking a delivery done waits; see 0023.
create index webhook_deliveries_finished on webhook_deliveries (created_at) where status <> 'pending';
