#!/usr/bin/env python3
"""An open-loop load generator for `fulcrum serve`, on loopback only.

    python3 bench/load.py --url http://127.0.0.1:7878/api/v1/report --rate 200 --seconds 10 [--post FILE --token T]

Sends `rate` requests per second for `seconds` (bounded: rate x seconds
requests, at most 60 s), each on a schedule fixed in advance so a slow
answer does not slow the sending (no coordinated omission: latency is
measured from the scheduled time). Prints one JSON line: requests, errors,
achieved throughput, p50, p90, p99 and max latency in milliseconds.
"""

import argparse
import http.client
import json
import queue
import threading
import time
import urllib.parse


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=32)
    parser.add_argument("--post", help="POST this file's content instead of GET")
    parser.add_argument("--token", help="a bearer token")
    args = parser.parse_args()
    url = urllib.parse.urlsplit(args.url)
    if url.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("bench/load.py loads this machine only")
    seconds = min(args.seconds, 60)
    total = int(args.rate * seconds)
    body = open(args.post, "rb").read() if args.post else None
    path = url.path + (f"?{url.query}" if url.query else "")
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    if body is not None:
        headers["Content-Type"] = "application/json"

    start = time.monotonic() + 0.2
    jobs = queue.Queue()
    for i in range(total):
        jobs.put(start + i / args.rate)
    latencies, errors, lock = [], [0], threading.Lock()

    def worker():
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        while True:
            try:
                scheduled = jobs.get_nowait()
            except queue.Empty:
                return
            delay = scheduled - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            try:
                conn.request("POST" if body is not None else "GET", path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status < 400
            except Exception:
                conn.close()
                conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
                ok = False
            done = time.monotonic()
            with lock:
                latencies.append((done - scheduled) * 1000)
                errors[0] += 0 if ok else 1

    threads = [threading.Thread(target=worker) for _ in range(args.workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    latencies.sort()

    def pct(p):
        return round(latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))], 1) if latencies else None

    print(json.dumps({
        "requests": len(latencies), "errors": errors[0], "throughput": round(len(latencies) / elapsed, 1),
        "p50_ms": pct(50), "p90_ms": pct(90), "p99_ms": pct(99), "max_ms": round(latencies[-1], 1) if latencies else None,
    }))


if __name__ == "__main__":
    main()
