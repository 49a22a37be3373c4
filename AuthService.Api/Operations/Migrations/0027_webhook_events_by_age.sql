-- The webhook dispatcher prunes the events past Webhooks:Retention that no delivery waits for, by created_at
-- (WebhookQueue.PruneOlderThanAsync). The only index leads with user_id, so each pass read the whole table. While this
-- builds, every change that stores a webhook event waits, a login that writes new_device_login among them; see 0023 and
-- docs/OPERATIONS.md "Upgrades".
create index webhook_events_created on webhook_events (created_at);
