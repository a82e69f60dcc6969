-- Personal data at rest (UU 27/2022): phone numbers, addresses, notes and accessibility needs
-- are stored encrypted by the service (`pdp1:<key id>:…` text in the same columns; rows from
-- before are sealed at start-up). A phone number is found by its keyed hash, never by its text.
ALTER TABLE accounts ADD COLUMN phone_hash TEXT;
CREATE UNIQUE INDEX accounts_phone_hash ON accounts (phone_hash);

-- Sign-in codes keep only the phone's keyed hash. Codes live minutes: the outstanding ones are
-- dropped (a citizen mid-sign-in asks for a new code) rather than kept with a clear number.
DELETE FROM otp_codes;
DROP INDEX otp_codes_phone;
ALTER TABLE otp_codes RENAME COLUMN phone TO phone_hash;
CREATE INDEX otp_codes_phone_hash ON otp_codes (phone_hash, created_at);
