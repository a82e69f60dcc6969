ALTER TABLE accounts DROP COLUMN session_version;
