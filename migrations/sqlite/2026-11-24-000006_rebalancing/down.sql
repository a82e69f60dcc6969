DROP TABLE team_absences;
ALTER TABLE route_stops DROP COLUMN pinned;
ALTER TABLE routes DROP COLUMN locked;
