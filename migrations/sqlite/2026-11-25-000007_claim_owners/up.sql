-- Several service instances on one database: every claim (an outbox row being sent, a planning
-- job being solved) names its owner, the instance (a stable setting) and the process (a boot
-- id made at start), so outcomes are written only by the owner, and a restarted instance takes
-- back its own claims at once instead of waiting for their leases to run out.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN claimed_boot TEXT;
-- New on every claim: an outcome is recorded only under the claim that sent the row.
ALTER TABLE outbox ADD COLUMN claim_token TEXT;
CREATE INDEX outbox_claimed_by ON outbox (claimed_by, status);

ALTER TABLE plans ADD COLUMN claimed_by TEXT;
ALTER TABLE plans ADD COLUMN claimed_boot TEXT;
-- Renewed while the job is solved; a job whose lease ran out is taken by another instance.
ALTER TABLE plans ADD COLUMN lease_until TIMESTAMP;
-- How many times the job was started (more than one only after a crash or a shutdown).
ALTER TABLE plans ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
