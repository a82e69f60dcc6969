ALTER TABLE plans DROP COLUMN published_at;
DROP TABLE route_stops;
DROP TABLE routes;
