DROP INDEX otp_codes_phone_hash;
ALTER TABLE otp_codes RENAME COLUMN phone_hash TO phone;
CREATE INDEX otp_codes_phone ON otp_codes (phone, created_at);
DROP INDEX accounts_phone_hash;
ALTER TABLE accounts DROP COLUMN phone_hash;
