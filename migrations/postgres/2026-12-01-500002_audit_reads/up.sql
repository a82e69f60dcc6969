-- Which staff member saw a citizen's phone or notes, when, in which request, through which
-- read (UU 27/2022: access to personal data is accountable). Written by the read itself.
CREATE TABLE audit_reads (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    request_id BIGINT NOT NULL REFERENCES visit_requests (id),
    -- Comma-separated: phone, notes.
    fields TEXT NOT NULL,
    -- request, request_list or team_route.
    via TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX audit_reads_at ON audit_reads (at);
CREATE INDEX audit_reads_request ON audit_reads (request_id, at);
