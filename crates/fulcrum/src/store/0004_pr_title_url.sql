-- Schema 4: a pull request's title and web address, so reports can name the
-- ones that breach an agreement or go stale.
ALTER TABLE pull_requests ADD COLUMN title TEXT;
ALTER TABLE pull_requests ADD COLUMN url TEXT;
