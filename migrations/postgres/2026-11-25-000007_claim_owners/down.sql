ALTER TABLE plans DROP COLUMN attempts;
ALTER TABLE plans DROP COLUMN lease_until;
ALTER TABLE plans DROP COLUMN claimed_boot;
ALTER TABLE plans DROP COLUMN claimed_by;
DROP INDEX outbox_claimed_by;
ALTER TABLE outbox DROP COLUMN claim_token;
ALTER TABLE outbox DROP COLUMN claimed_boot;
ALTER TABLE outbox DROP COLUMN claimed_by;
