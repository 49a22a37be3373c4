-- Housekeeping deletes the idempotency keys older than two days by created_at; the primary key (user_id, key) cannot find
-- them, so each pass read the whole table (see 0023). While this builds, a request with an Idempotency-Key waits.
create index idempotency_keys_created on idempotency_keys (created_at);
