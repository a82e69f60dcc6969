-- Planning jobs: a coordinator asks for a draft plan of a region's dates; a background runner
-- solves it and stores the draft. A job left 'running' by a crash is queued again at start-up.
CREATE TABLE plans (
    id BIGSERIAL PRIMARY KEY,
    region_id BIGINT NOT NULL REFERENCES regions (id),
    -- JSON array of YYYY-MM-DD dates, sorted.
    dates TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    time_limit_ms BIGINT NOT NULL,
    seed BIGINT NOT NULL,
    requested_by BIGINT REFERENCES accounts (id),
    -- The draft (routes, unassigned requests with reasons, hotspots, KPIs) as JSON, when done.
    draft_json TEXT,
    error TEXT,
    created_at TIMESTAMP NOT NULL,
    started_at TIMESTAMP,
    finished_at TIMESTAMP
);
CREATE INDEX plans_status ON plans (status, id);
CREATE INDEX plans_region ON plans (region_id, id);
