-- Housekeeping deletes the remembered devices past expires_at; the indexes lead with user_id and the token hash, so each pass
-- read the whole table (see 0023). While this builds, remembering a device waits.
create index remembered_devices_expires on remembered_devices (expires_at);
