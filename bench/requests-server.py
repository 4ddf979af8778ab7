#!/usr/bin/env python3
"""A local GitHub-shaped server for bench/requests.sh: `bench/requests` has
PRS generated pull requests, each with 2 commits, a review with one line
comment and one conversation comment, served both by the REST API (100 per
page, `Link: rel="next"`) and by the GraphQL API (POST /graphql: the
`PullRequests` query, 50 per page, either direction). Every other listing
is empty. Writes its port to PORTFILE.

    requests-server.py PRS PORTFILE
"""
import json
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

PRS = int(sys.argv[1])
PER_PAGE = 100
GRAPHQL_PAGE = 50


def stamp(n, hour):
    """A time for pull request n (numbered from 1): one a minute from 2025-01-01."""
    minutes = n + hour * 60
    day, rest = divmod(minutes, 24 * 60)
    return f"2025-{1 + day // 28:02d}-{1 + day % 28:02d}T{rest // 60:02d}:{rest % 60:02d}:00Z"


def rest_pr(n):
    return {
        "number": n,
        "title": f"change {n}",
        "html_url": f"https://example.com/pull/{n}",
        "user": {"login": f"dev{n % 20}"},
        "created_at": stamp(n, 0),
        "updated_at": stamp(n, 3),
        "merged_at": stamp(n, 3),
        "closed_at": stamp(n, 3),
        "merge_commit_sha": f"{n:040x}",
        "draft": False,
        "additions": 40,
        "deletions": 10,
    }


def rest_commits(n):
    return [
        {"sha": f"{n:036x}{i:04x}", "author": {"login": f"dev{n % 20}"},
         "commit": {"author": {"name": f"Dev {n % 20}", "date": stamp(n, 0)}}}
        for i in range(2)
    ]


def gql_node(n):
    pr = rest_pr(n)
    reviewer = {"login": f"dev{(n + 1) % 20}"}
    done = {"hasNextPage": False, "endCursor": None}
    return {
        "id": f"PR_{n}", "number": n, "title": pr["title"], "url": pr["html_url"],
        "createdAt": pr["created_at"], "updatedAt": pr["updated_at"], "mergedAt": pr["merged_at"],
        "closedAt": pr["closed_at"], "isDraft": False, "additions": 40, "deletions": 10,
        "author": {"login": pr["user"]["login"]}, "mergeCommit": {"oid": pr["merge_commit_sha"]},
        "commits": {"pageInfo": done, "nodes": [
            {"commit": {"oid": c["sha"], "authoredDate": c["commit"]["author"]["date"],
                        "author": {"name": c["commit"]["author"]["name"], "user": c["author"]}}}
            for c in rest_commits(n)]},
        "reviews": {"pageInfo": done, "nodes": [
            {"id": f"R{n}", "state": "APPROVED", "submittedAt": stamp(n, 2), "author": reviewer,
             "comments": {"nodes": [{"id": f"RC{n}", "createdAt": stamp(n, 1), "author": reviewer}]}}]},
        "comments": {"pageInfo": done, "nodes": [{"id": f"C{n}", "createdAt": stamp(n, 1), "author": reviewer}]},
        "timelineItems": {"nodes": []},
    }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def reply(self, body, headers=None):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def paged(self, make, total):
        url = urlparse(self.path)
        page = int(parse_qs(url.query).get("page", ["1"])[0])
        start = (page - 1) * PER_PAGE
        body = [make(i) for i in range(start, min(start + PER_PAGE, total))]
        headers = {}
        if start + PER_PAGE < total:
            base = self.path.split("&page=")[0]
            headers["Link"] = f'<http://{self.headers["Host"]}{base}&page={page + 1}>; rel="next"'
        self.reply(body, headers)

    def do_GET(self):
        path = urlparse(self.path).path
        parts = path.strip("/").split("/")
        if path.endswith("/pulls"):
            self.paged(lambda i: rest_pr(i + 1), PRS)
        elif len(parts) == 5 and parts[3] == "pulls" and parts[4].isdigit():
            self.reply(rest_pr(int(parts[4])))
        elif len(parts) == 6 and parts[3] == "pulls" and parts[5] == "commits":
            self.reply(rest_commits(int(parts[4])))
        elif len(parts) == 6 and parts[3] == "pulls" and parts[5] == "reviews":
            n = int(parts[4])
            self.reply([{"id": n, "state": "APPROVED", "submitted_at": stamp(n, 2),
                         "user": {"login": f"dev{(n + 1) % 20}"}}])
        elif path.endswith("/issues/comments"):
            self.paged(lambda i: {"id": i + 1, "issue_url": f"https://x/issues/{i + 1}", "created_at": stamp(i + 1, 1),
                                  "user": {"login": f"dev{(i + 2) % 20}"}}, PRS)
        elif path.endswith("/pulls/comments"):
            self.paged(lambda i: {"id": i + 1, "pull_request_url": f"https://x/pulls/{i + 1}",
                                  "created_at": stamp(i + 1, 1), "user": {"login": f"dev{(i + 2) % 20}"}}, PRS)
        elif path.endswith("/actions/runs"):
            self.reply({"workflow_runs": []})
        else:
            self.reply([])

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        query = json.loads(self.rfile.read(length))
        variables = query.get("variables", {})
        after = int((variables.get("after") or "0").lstrip("c"))
        numbers = list(range(1, PRS + 1))
        if variables.get("direction") == "DESC":
            numbers.reverse()
        chunk = numbers[after:after + GRAPHQL_PAGE]
        more = after + GRAPHQL_PAGE < PRS
        self.reply({"data": {
            "rateLimit": {"cost": 1, "remaining": 4999, "resetAt": "2025-01-01T00:00:00Z"},
            "repository": {"pullRequests": {
                "pageInfo": {"hasNextPage": more, "endCursor": f"c{after + GRAPHQL_PAGE}" if more else None},
                "nodes": [gql_node(n) for n in chunk]}}}})

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[2], "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
