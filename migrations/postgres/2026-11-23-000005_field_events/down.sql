DROP TABLE field_events;
