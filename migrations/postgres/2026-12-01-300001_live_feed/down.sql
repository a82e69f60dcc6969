DROP TABLE team_positions;
DROP TABLE region_feed;
