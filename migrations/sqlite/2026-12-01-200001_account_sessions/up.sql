-- Access tokens carry the account's session version; deactivating the account, resetting or
-- changing its password bumps it, so tokens already handed out stop working within the
-- short time the service caches it.
ALTER TABLE accounts ADD COLUMN session_version INTEGER NOT NULL DEFAULT 1;
