-- Telephony abuse and cost controls (DESIGN §8.2, issue 14).
-- confirmed: the requesting user had confirmed the number (their own factor). Sends to a number the requester has not
-- confirmed count against the small per-number "unconfirmed" budget and never against the owner's per-number budget.
-- country: ISO 3166 alpha-2 of the destination, for the deployment-wide per-country hourly cap.
alter table deliveries add column confirmed boolean not null default true;
alter table deliveries add column country text not null default 'ZZ';

create index deliveries_created on deliveries (created_at);
create index deliveries_country on deliveries (country, created_at);
