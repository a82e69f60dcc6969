-- What a plan was worked out from: the versions of the requests, routes and team days the
-- planner read (JSON). Publishing compares them with what is stored then, so a request filed
-- while the plan ran does not make the plan stale, and one changed meanwhile does.
ALTER TABLE plans ADD COLUMN basis_json TEXT;
