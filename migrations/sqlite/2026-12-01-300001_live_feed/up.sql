-- What a coordinator's console watches live: route changes, field reports and team positions
-- of one region, numbered per region. A row is appended only under the region's row lock, so
-- its number is taken and committed in order: a reader that has seen number n never later
-- finds an n-1 it missed (a global sequence would not promise that under concurrent commits).
CREATE TABLE region_feed (
    region_id BIGINT NOT NULL REFERENCES regions (id),
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (region_id, seq)
);

-- Officers' positions, sent in batches from phones that are often offline. The phone's own id
-- for a position (or, without one, its time) is unique per account, so a replayed batch stores
-- nothing twice.
CREATE TABLE team_positions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    region_id BIGINT NOT NULL REFERENCES regions (id),
    client_position_id TEXT NOT NULL,
    at TIMESTAMP NOT NULL,
    lat DOUBLE NOT NULL,
    lon DOUBLE NOT NULL,
    accuracy_m DOUBLE,
    received_at TIMESTAMP NOT NULL,
    UNIQUE (account_id, client_position_id)
);
CREATE INDEX team_positions_region_at ON team_positions (region_id, at);
