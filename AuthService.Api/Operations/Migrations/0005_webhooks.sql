-- Webhook endpoints of the portal (DESIGN §8.3). The signing secret is sealed (AES-256-GCM, key id inside) because
-- signing needs it back; it is bound to the endpoint id as associated data.
create table webhook_endpoints (
    id          uuid        primary key,
    url         text        not null,
    events      text[]      not null,
    description text,
    secret      bytea       not null,
    created_at  timestamptz not null,
    created_by  uuid
);

-- The transactional outbox: one row per event, written in the transaction of the change it reports, and only when
-- some endpoint subscribes. The body is stored exactly as signed, so every retry sends the same bytes and webhook-id.
create table webhook_events (
    id          uuid        primary key,
    type        text        not null,
    user_id     text,
    body        text        not null,
    created_at  timestamptz not null
);
create index webhook_events_user_type on webhook_events (user_id, type, created_at);

-- One delivery per event and subscribed endpoint. Per endpoint and order key (the user id, '' for key events) only
-- the oldest pending row is ever sent, so a user's events arrive in the order their changes committed.
create table webhook_deliveries (
    id              bigserial   primary key,
    event_id        uuid        not null references webhook_events (id) on delete cascade,
    endpoint_id     uuid        not null references webhook_endpoints (id) on delete cascade,
    order_key       text        not null,
    status          text        not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
    attempts        int         not null default 0,
    next_attempt_at timestamptz not null,
    last_attempt_at timestamptz,
    last_status     int,
    last_error      text,
    delivered_at    timestamptz,
    created_at      timestamptz not null
);
create index webhook_deliveries_due on webhook_deliveries (next_attempt_at) where status = 'pending';
create index webhook_deliveries_queue on webhook_deliveries (endpoint_id, order_key, id) where status = 'pending';
create index webhook_deliveries_endpoint on webhook_deliveries (endpoint_id, id desc);
create index webhook_deliveries_event on webhook_deliveries (event_id);
