-- Pushes to phones, written in the same transaction as the change they announce and sent by the
-- outbox worker. One row per message per phone (registration token).
CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    fcm_token TEXT NOT NULL,
    message_json TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    locked_until TIMESTAMP,
    last_error TEXT,
    fcm_message_name TEXT,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at, id);
