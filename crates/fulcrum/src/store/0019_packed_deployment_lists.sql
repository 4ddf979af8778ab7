-- Schema 19: the commits a deployment lists, packed into its own row as
-- well (`commit_list`), as schema 18 packed a pull request's children. A
-- scope's deployments are then read with one statement over their rows,
-- not joined with a row per listed commit (at 400,000 deployments, 1.7
-- million rows, which a team's report on PostgreSQL read in 230 ms).
-- `deployment_commits` stays: the public views and their indexes read it,
-- and every write keeps both.
--
-- The text (`store/packed.rs` reads and writes it): `LEN:SHA` for each
-- listed commit in the order of `seq` (`LEN`: the id's length in bytes);
-- '' for a deployment that listed none; NULL for one without a list
-- (`has_commit_list` = 0: the history says what it shipped).
ALTER TABLE deployments ADD COLUMN commit_list TEXT;
UPDATE deployments SET commit_list = COALESCE(
    (SELECT string_agg(octet_length(c.sha) || ':' || c.sha, '' ORDER BY c.seq)
     FROM deployment_commits c WHERE c.deployment_id = deployments.id), '')
WHERE has_commit_list <> 0;
