-- The service backbone: regions, people, teams, visit requests and the event trail.
-- Timestamps are UTC (set from Rust); dates are calendar dates in the region's zone.

CREATE TABLE regions (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    time_zone TEXT NOT NULL,
    boundary_geojson TEXT,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE accounts (
    id BIGSERIAL PRIMARY KEY,
    role TEXT NOT NULL,
    region_id BIGINT REFERENCES regions (id),
    phone TEXT UNIQUE,
    username TEXT UNIQUE,
    password_hash TEXT,
    display_name TEXT NOT NULL,
    language TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE service_kinds (
    id BIGSERIAL PRIMARY KEY,
    region_id BIGINT NOT NULL REFERENCES regions (id),
    code TEXT NOT NULL,
    name_id TEXT NOT NULL,
    name_en TEXT NOT NULL,
    default_duration_minutes INTEGER NOT NULL,
    required_skill TEXT,
    active BOOLEAN NOT NULL,
    version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (region_id, code)
);

CREATE TABLE teams (
    id BIGSERIAL PRIMARY KEY,
    region_id BIGINT NOT NULL REFERENCES regions (id),
    name TEXT NOT NULL,
    depot_lat DOUBLE PRECISION NOT NULL,
    depot_lon DOUBLE PRECISION NOT NULL,
    vehicle_profile TEXT NOT NULL,
    skills TEXT NOT NULL,
    shift_pattern TEXT NOT NULL,
    max_visits_per_day INTEGER NOT NULL,
    active BOOLEAN NOT NULL,
    version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (region_id, name)
);

CREATE TABLE team_members (
    team_id BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (team_id, account_id)
);

CREATE TABLE devices (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    fcm_token TEXT NOT NULL UNIQUE,
    platform TEXT NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX devices_account ON devices (account_id);

CREATE TABLE visit_requests (
    id BIGSERIAL PRIMARY KEY,
    citizen_id BIGINT NOT NULL REFERENCES accounts (id),
    region_id BIGINT NOT NULL REFERENCES regions (id),
    service_kind_id BIGINT NOT NULL REFERENCES service_kinds (id),
    lat DOUBLE PRECISION NOT NULL,
    lon DOUBLE PRECISION NOT NULL,
    address TEXT NOT NULL,
    notes TEXT,
    accessibility_needs TEXT NOT NULL,
    priority TEXT NOT NULL,
    earliest_date DATE NOT NULL,
    deadline DATE NOT NULL,
    preferred_windows TEXT NOT NULL,
    status TEXT NOT NULL,
    version INTEGER NOT NULL,
    idempotency_key TEXT,
    idempotency_fingerprint TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (citizen_id, idempotency_key)
);
CREATE INDEX visit_requests_region_status ON visit_requests (region_id, status, id);
CREATE INDEX visit_requests_citizen ON visit_requests (citizen_id, id);

CREATE TABLE events (
    id BIGSERIAL PRIMARY KEY,
    entity TEXT NOT NULL,
    entity_id BIGINT NOT NULL,
    region_id BIGINT,
    actor_id BIGINT,
    action TEXT NOT NULL,
    before_json TEXT,
    after_json TEXT,
    request_id TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX events_entity ON events (entity, entity_id, id);

-- The trail is append-only: history that can be edited is not history.
CREATE FUNCTION events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();

CREATE TABLE otp_codes (
    id BIGSERIAL PRIMARY KEY,
    phone TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    consumed_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX otp_codes_phone ON otp_codes (phone, created_at);

CREATE TABLE refresh_tokens (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    token_hash TEXT NOT NULL UNIQUE,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX refresh_tokens_account ON refresh_tokens (account_id);
