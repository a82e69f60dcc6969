-- Coordinator rebalancing: a pinned stop stays on its team and date when plans are made again,
-- a locked route is not changed by any plan, and a team can be taken off a day (sick, broken
-- motorbike) so that no plan gives it work that day.
ALTER TABLE routes ADD COLUMN locked BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE route_stops ADD COLUMN pinned BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE team_absences (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id BIGINT NOT NULL REFERENCES teams (id),
    date DATE NOT NULL,
    reason TEXT NOT NULL,
    created_by BIGINT REFERENCES accounts (id),
    created_at TIMESTAMP NOT NULL,
    UNIQUE (team_id, date)
);
