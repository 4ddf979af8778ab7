#!/usr/bin/env python3
"""Generates a JSON Lines events file for `fulcrum import` benchmarks.

    python3 bench/gen-events.py --prs 100000 --deployments 20000 --out events.jsonl
    python3 bench/gen-events.py --prs 2000000 --deployments 400000 --repos 200 --incidents 20000 --out org.jsonl

Deterministic (fixed seed). Five repositories `acme/svc0..4` (`--repos`), 60 authors,
two years of history ending 2025-03-01: about 85% of pull requests merged,
5% closed, 10% open, 10% opened as drafts; 1-6 commits, 0-3 reviews and
0-5 comments each (some by bots, some by the author). Each successful
deployment lists the merge commits of its repository's pull requests merged
since the previous one; 3% of deployments fail and ship nothing. About 400
incidents, half naming a deployment. Lines are sorted by their main time.
"""

import argparse
import json
import random
import sys
from datetime import datetime, timezone

END = int(datetime(2025, 3, 1, tzinfo=timezone.utc).timestamp())
START = END - 2 * 365 * 86400
REPOS = []
AUTHORS = [f"dev{i}" for i in range(60)]
BOTS = ["dependabot[bot]", "renovate[bot]", "github-actions[bot]"]


def iso(t):
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prs", type=int, default=100_000)
    parser.add_argument("--deployments", type=int, default=20_000)
    parser.add_argument("--repos", type=int, default=5)
    parser.add_argument("--incidents", type=int, default=400)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    REPOS.extend(f"acme/svc{i}" for i in range(args.repos))
    rng = random.Random(20261123)
    sha = lambda: "%040x" % rng.getrandbits(160)
    lines = []  # (time, text)
    merged_by_repo = {repo: [] for repo in REPOS}  # (merged_at, merge commit)
    for number in range(1, args.prs + 1):
        repo = REPOS[number % len(REPOS)]
        author = rng.choice(AUTHORS)
        created = rng.randint(START, END - 86400)
        commits = []
        t = created - rng.randint(600, 3 * 86400)
        for _ in range(rng.randint(1, 6)):
            commits.append({"sha": sha(), "author": author, "authored_at": iso(t)})
            t += rng.randint(60, 6 * 3600)
        draft = rng.random() < 0.10
        ready = created + rng.randint(600, 2 * 86400) if draft else created
        fate = rng.random()
        merged = closed = merge_commit = None
        reviews, comments = [], []
        review_time = ready
        for _ in range(rng.randint(0, 3)):
            review_time += rng.randint(300, 36 * 3600)
            reviewer = rng.choice(AUTHORS + [author])  # sometimes a self-review
            reviews.append({"author": reviewer, "submitted_at": iso(review_time), "state": rng.choice(["approved", "commented", "changes_requested"])})
        for _ in range(rng.randint(0, 5)):
            who = rng.choice(AUTHORS + BOTS + [author])
            comments.append({"author": who, "created_at": iso(ready + rng.randint(60, 48 * 3600)), "kind": rng.choice(["review", "issue"])})
        last = max([review_time] + [ready])
        if fate < 0.85:
            merged = min(last + rng.randint(600, 24 * 3600), END - 60)
            closed = merged
            merge_commit = sha()
            merged_by_repo[repo].append((merged, merge_commit))
        elif fate < 0.90:
            closed = min(last + rng.randint(600, 10 * 86400), END - 60)
        pr = {
            "type": "pull_request", "repo": repo, "number": number, "author": author,
            "created_at": iso(created), "ready_at": iso(ready) if draft else None,
            "merged_at": iso(merged) if merged else None, "closed_at": iso(closed) if closed else None,
            "merge_commit": merge_commit, "draft": draft and fate >= 0.90 and rng.random() < 0.5,
            "additions": int(rng.paretovariate(1.2) * 20) % 2000 + 1, "deletions": rng.randint(0, 200),
            "commits": commits, "reviews": reviews, "comments": comments,
        }
        lines.append((merged or created, json.dumps(pr, separators=(",", ":"))))

    # Deployments: per repository at even intervals, each shipping what merged since the last.
    per_repo = args.deployments // len(REPOS)
    deployments = []
    incidents_wanted = args.incidents
    deploy_id = 0
    for repo in REPOS:
        merged = sorted(merged_by_repo[repo])
        service = repo.split("/")[1]
        step = (END - START) // max(per_repo, 1)
        i = 0
        for k in range(per_repo):
            finished = START + (k + 1) * step
            deploy_id += 1
            failed = rng.random() < 0.03
            shipped = []
            if not failed:
                while i < len(merged) and merged[i][0] <= finished - 60:
                    shipped.append(merged[i][1])
                    i += 1
            record = {
                "type": "deployment", "id": f"deploy-{deploy_id}", "repo": repo, "service": service,
                "environment": "production", "commit": shipped[-1] if shipped else sha(),
                "finished_at": iso(finished), "status": "failure" if failed else "success", "commits": shipped,
            }
            deployments.append(record)
            lines.append((finished, json.dumps(record, separators=(",", ":"))))
    successful = [d for d in deployments if d["status"] == "success"]
    for n in range(1, incidents_wanted + 1):
        d = rng.choice(successful)
        started = int(datetime.strptime(d["finished_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()) + rng.randint(60, 6 * 3600)
        incident = {"type": "incident", "id": f"INC-{n}", "service": d["service"], "started_at": iso(started),
                    "resolved_at": iso(started + rng.randint(600, 2 * 86400))}
        if n % 2 == 0:
            incident["deployment"] = d["id"]
        lines.append((started, json.dumps(incident, separators=(",", ":"))))

    lines.sort(key=lambda line: line[0])
    with open(args.out, "w") as out:
        for _, text in lines:
            out.write(text)
            out.write("\n")
    size = sum(len(text) + 1 for _, text in lines)
    print(f"{args.out}: {args.prs} pull requests, {len(deployments)} deployments, {incidents_wanted} incidents, "
          f"{size / 1e6:.1f} MB", file=sys.stderr)


if __name__ == "__main__":
    main()
