-- What field teams report from their phones, often recorded offline and sent later in a
-- batch. Each event carries the phone's own id, so a replayed batch changes nothing twice;
-- an event about a stop that was moved away meanwhile is kept with its conflict, not dropped.
CREATE TABLE field_events (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    client_event_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    request_id BIGINT REFERENCES visit_requests (id),
    reason TEXT,
    lat DOUBLE PRECISION,
    lon DOUBLE PRECISION,
    client_at TIMESTAMP NOT NULL,
    received_at TIMESTAMP NOT NULL,
    conflict TEXT,
    UNIQUE (account_id, client_event_id)
);
CREATE INDEX field_events_request ON field_events (request_id);
