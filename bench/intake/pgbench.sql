-- What intake must store for one visit request, in one transaction: the request row and its
-- `created` event, with the service's column values and sizes. `cargo bench --bench intake`
-- runs it with pgbench (-D citizen_first=… -D citizens=… -D region=… -D kind=…) against the
-- database the service just used, with the same client count and duration.
\set citizen :citizen_first + random(0, :citizens - 1)
BEGIN;
INSERT INTO visit_requests (citizen_id, region_id, service_kind_id, lat, lon, address, notes,
    accessibility_needs, priority, earliest_date, deadline, preferred_windows, status, version,
    idempotency_key, idempotency_fingerprint, created_at, updated_at)
VALUES (:citizen, :region, :kind, -7.8606, 110.1583, 'Dusun Bendungan RT 02/RW 01, Wates',
    'Ibu sudah tidak bisa berjalan', '["bedridden"]', 'high', CURRENT_DATE + 2, CURRENT_DATE + 12,
    '[{"date":"2026-12-04","start":"08:00","end":"11:00"}]', 'submitted', 1,
    gen_random_uuid()::text, md5(random()::text) || md5(random()::text), now(), now());
INSERT INTO events (entity, entity_id, region_id, actor_id, action, before_json, after_json,
    request_id, created_at)
VALUES ('visit_request', lastval(), :region, :citizen, 'created', NULL,
    '{"deadline":"2026-12-11","earliest_date":"2026-12-03","preferred_windows":[{"date":"2026-12-04","end":"11:00","start":"08:00"}],"priority":"high","service_kind_id":1,"status":"submitted","version":1}',
    gen_random_uuid()::text, now());
END;
