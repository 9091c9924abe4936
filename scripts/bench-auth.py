#!/usr/bin/env python3
"""What authentication costs per request, against a running Vigil.

Sequential keep-alive requests from one client (so the figures are latencies, not
throughput), medians and p95 over --reps requests each:
  static      GET /api/docs/init.js: no authentication, the baseline
  token       GET /api/v1/auth/me with a personal API token
  session     GET /api/v1/auth/me with a session cookie
  login       POST /api/v1/auth/login (argon2id verification), fewer reps

  scripts/bench-auth.py --url http://127.0.0.1:18080 --email admin@x --password ...
Run it once against a server with Redis up and once with VIGIL__REDIS__URL pointing
at a dead port to see the cost of the PostgreSQL fallback.
"""
import argparse
import http.client
import json
import statistics
import time
import urllib.parse


def timed(conn, method, path, body=None, headers=None, reps=1000):
    samples = []
    for _ in range(reps):
        started = time.perf_counter()
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        payload = response.read()
        samples.append((time.perf_counter() - started) * 1000)
        if response.status >= 300:
            raise SystemExit(f"{method} {path}: {response.status} {payload[:200]!r}")
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--reps", type=int, default=2000)
    args = parser.parse_args()
    url = urllib.parse.urlparse(args.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    origin = f"{url.scheme}://{url.netloc}"
    login_body = json.dumps({"email": args.email, "password": args.password})
    json_headers = {"Content-Type": "application/json"}

    conn.request("POST", "/api/v1/auth/login", body=login_body, headers=json_headers)
    response = conn.getresponse()
    response.read()
    cookie = response.getheader("Set-Cookie").split(";")[0]
    conn.request("POST", "/api/v1/auth/tokens", body=json.dumps({"name": "bench-auth", "kind": "personal"}),
                 headers={**json_headers, "Cookie": cookie, "Origin": origin})
    created = json.loads(conn.getresponse().read())["data"]
    token = created["token"]

    rows = [
        ("static (no auth)", timed(conn, "GET", "/api/docs/init.js", reps=args.reps)),
        ("token", timed(conn, "GET", "/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}, reps=args.reps)),
        ("session", timed(conn, "GET", "/api/v1/auth/me", headers={"Cookie": cookie}, reps=args.reps)),
        ("login (argon2id)", timed(conn, "POST", "/api/v1/auth/login", body=login_body, headers=json_headers, reps=50)),
    ]
    conn.request("DELETE", f"/api/v1/auth/tokens/{created['id']}", headers={"Authorization": f"Bearer {token}"})
    conn.getresponse().read()
    print(f"{'request':<20} {'median ms':>10} {'p95 ms':>10}")
    for name, (median, p95) in rows:
        print(f"{name:<20} {median:>10.3f} {p95:>10.3f}", flush=True)


if __name__ == "__main__":
    main()
