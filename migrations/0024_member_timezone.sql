-- Issue #22 §1: times in the dashboard read in the member's own timezone. An IANA name
-- ("Europe/Paris"), validated by the server against the runtime's list; null = the browser's.
SET LOCAL ROLE ony_owner;

ALTER TABLE members
  ADD COLUMN timezone text,
  ADD CONSTRAINT members_timezone_length CHECK (timezone IS NULL OR length(timezone) BETWEEN 1 AND 64);
