#!/usr/bin/env python3
"""A local GitHub-shaped server for bench/listing.sh: the issues labelled
`incident` of `bench/listing` are ITEMS generated issues, 100 per page, with
`Link: rel="next"`; every other listing is empty. Writes its port to PORTFILE.

    listing-server.py ITEMS PORTFILE
"""
import json
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

ITEMS = int(sys.argv[1])
PER_PAGE = 100


def issue(n):
    day = 1 + n % 28
    return {
        "number": n + 1,
        "title": f"incident {n + 1}: checkout errors after deploy",
        "labels": [{"name": "incident"}],
        "created_at": f"2025-01-{day:02d}T10:00:00Z",
        "closed_at": f"2025-01-{day:02d}T12:30:00Z",
        "updated_at": f"2025-01-{day:02d}T12:30:00Z",
        "user": {"login": f"user{n % 50}"},
        "body": "x" * 200,
    }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # Headers and body go out in two writes: without this, Nagle's
        # algorithm and delayed ACKs add 40 ms to every page.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self):
        url = urlparse(self.path)
        query = parse_qs(url.query)
        headers = {}
        if url.path.endswith("/issues") and query.get("labels") == ["incident"]:
            page = int(query.get("page", ["1"])[0])
            start = (page - 1) * PER_PAGE
            body = [issue(n) for n in range(start, min(start + PER_PAGE, ITEMS))]
            if start + PER_PAGE < ITEMS:
                host = self.headers["Host"]
                base = self.path.split("&page=")[0]
                headers["Link"] = f'<http://{host}{base}&page={page + 1}>; rel="next"'
        else:
            body = {"workflow_runs": []} if url.path.endswith("/actions/runs") else []
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[2], "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
