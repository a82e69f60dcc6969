-- Published routes: one per team and date, versioned (phones hold copies and ask with the
-- version), with their stops in order. A plan becomes live by publishing it.
CREATE TABLE routes (
    id BIGSERIAL PRIMARY KEY,
    region_id BIGINT NOT NULL REFERENCES regions (id),
    team_id BIGINT NOT NULL REFERENCES teams (id),
    date DATE NOT NULL,
    version INTEGER NOT NULL,
    plan_id BIGINT REFERENCES plans (id),
    distance_m DOUBLE PRECISION NOT NULL,
    leave_at TIMESTAMP NOT NULL,
    back_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (team_id, date)
);
CREATE INDEX routes_region_date ON routes (region_id, date);

CREATE TABLE route_stops (
    id BIGSERIAL PRIMARY KEY,
    route_id BIGINT NOT NULL REFERENCES routes (id),
    position INTEGER NOT NULL,
    request_id BIGINT NOT NULL REFERENCES visit_requests (id),
    planned_start TIMESTAMP NOT NULL,
    planned_end TIMESTAMP NOT NULL,
    window_start TIMESTAMP NOT NULL,
    window_end TIMESTAMP NOT NULL,
    UNIQUE (route_id, position)
);
CREATE INDEX route_stops_request ON route_stops (request_id);

ALTER TABLE plans ADD COLUMN published_at TIMESTAMP;
