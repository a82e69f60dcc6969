ALTER TABLE plans DROP COLUMN basis_json;
