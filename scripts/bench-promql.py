#!/usr/bin/env python3
"""The measuring half of scripts/bench-promql-run.sh: the same PromQL queries through
HTTP against Vigil, Prometheus and VictoriaMetrics (round-robin, so the machine's
drift touches all three alike), p50/p95 per system, ratios to Prometheus, and a check
that the answers agree. Then Vigil's native /api/v1/query read figures. Standard
library only."""

import argparse
import http.client
import json
import math
import subprocess
import sys
import time
import urllib.parse


def percentile(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * p
    lo, hi = math.floor(k), math.ceil(k)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


class Conn:
    """One keep-alive connection to a server."""

    def __init__(self, base, headers=None):
        u = urllib.parse.urlparse(base)
        self.host, self.port = u.hostname, u.port
        self.prefix = u.path.rstrip("/")
        self.headers = headers or {}
        self.c = http.client.HTTPConnection(self.host, self.port, timeout=120)

    def request(self, method, path, body=None, content_type=None):
        headers = dict(self.headers)
        if content_type:
            headers["Content-Type"] = content_type
        for attempt in (1, 2):
            t0 = time.perf_counter()
            try:
                self.c.request(method, self.prefix + path, body=body, headers=headers)
                r = self.c.getresponse()
                data = r.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The server closed the idle keep-alive connection while the other
                # systems answered: connect again and time the retry alone.
                self.c.close()
                self.c = http.client.HTTPConnection(self.host, self.port, timeout=120)
                if attempt == 2:
                    raise
        ms = (time.perf_counter() - t0) * 1000
        if r.status != 200:
            raise RuntimeError(f"{method} {path}: {r.status} {data[:300]!r}")
        return ms, data


def prom_get(conn, endpoint, params):
    return conn.request("GET", endpoint + "?" + urllib.parse.urlencode(params))


def series_map(body):
    """Prometheus matrix -> {sorted label items: {t: value}}."""
    doc = json.loads(body)
    assert doc["status"] == "success", doc
    out = {}
    for s in doc["data"]["result"]:
        key = tuple(sorted((k, v) for k, v in s["metric"].items() if k != "__name__"))
        out[key] = {float(t): float(v) for t, v in s["values"]}
    return out


def compare(ref, other):
    """How `other` differs from `ref`: series, points, max relative difference."""
    missing = set(ref) ^ set(other)
    worst, points, ts_diff = 0.0, 0, 0
    for key in set(ref) & set(other):
        a, b = ref[key], other[key]
        ts_diff += len(set(a) ^ set(b))
        for t in set(a) & set(b):
            points += 1
            x, y = a[t], b[t]
            if x != y:
                worst = max(worst, abs(x - y) / max(abs(x), abs(y), 1e-300))
    return {
        "series": len(other),
        "series_differing": len(missing),
        "points": points,
        "timestamps_differing": ts_diff,
        "max_rel_diff": worst,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmups", type=int, default=2)
    ap.add_argument("--start", type=int, required=True)
    ap.add_argument("--end", type=int, required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--vigil", required=True)
    ap.add_argument("--prometheus", required=True)
    ap.add_argument("--victoria", required=True)
    ap.add_argument("--redis-prefix", required=True)
    a = ap.parse_args()
    start, end = a.start, a.end
    auth = {"Authorization": f"Bearer {a.token}"}
    systems = {
        "prometheus": Conn(a.prometheus),
        "victoriametrics": Conn(a.victoria),
        "vigil": Conn(a.vigil.rstrip("/") + "/prometheus", auth),
    }
    queries = [
        ("a", "avg(avg_over_time(cpu_usage[1m])) 1000 series x 24h step 60s", "/api/v1/query_range",
         {"query": "avg(avg_over_time(cpu_usage[1m]))", "start": start, "end": end, "step": 60}),
        ("b", "sum by (service) (rate(http_requests_total[5m])) 1000 series x 6h step 15s", "/api/v1/query_range",
         {"query": "sum by (service) (rate(http_requests_total[5m]))", "start": end - 6 * 3600, "end": end,
          "step": 15}),
        ("c", 'cpu_usage{instance="host-0007"}[24h] instant (8640 raw samples)', "/api/v1/query",
         {"query": 'cpu_usage{instance="host-0007"}[24h]', "time": end}),
    ]
    report = {"runs": a.runs, "start": start, "end": end, "queries": []}
    for qid, label, endpoint, params in queries:
        times = {name: [] for name in systems}
        bodies = {}
        for i in range(a.warmups + a.runs):
            for name, conn in systems.items():
                ms, body = prom_get(conn, endpoint, params)
                if i >= a.warmups:
                    times[name].append(ms)
                bodies[name] = body
        answers = {name: series_map(b) for name, b in bodies.items()}
        q = {"id": qid, "query": label, "systems": {}}
        for name in systems:
            q["systems"][name] = {
                "p50_ms": round(percentile(times[name], 0.5), 2),
                "p95_ms": round(percentile(times[name], 0.95), 2),
                "response_bytes": len(bodies[name]),
            }
        prom95 = q["systems"]["prometheus"]["p95_ms"]
        vm95 = q["systems"]["victoriametrics"]["p95_ms"]
        q["vigil_p95_over_prometheus"] = round(q["systems"]["vigil"]["p95_ms"] / prom95, 3)
        q["vigil_p95_over_victoriametrics"] = round(q["systems"]["vigil"]["p95_ms"] / vm95, 3)
        q["agreement"] = {
            "vigil_vs_prometheus": compare(answers["prometheus"], answers["vigil"]),
            "victoriametrics_vs_prometheus": compare(answers["prometheus"], answers["victoriametrics"]),
        }
        report["queries"].append(q)
        print(json.dumps(q), flush=True)

    # Vigil's native API on the same compacted data (issue 13's read figures), with
    # VictoriaMetrics' equivalent PromQL query beside it.
    native = Conn(a.vigil, auth)
    vm = systems["victoriametrics"]
    natives = [
        ("d", "native: one series x 24h raw (step 10s)",
         {"query": "cpu_usage", "tags": {"instance": "host-0007"}, "start": start * 1000, "end": end * 1000,
          "step": "10s", "aggregation": "avg"},
         ("/api/v1/query_range", {"query": 'cpu_usage{instance="host-0007"}', "start": start, "end": end,
                                  "step": 10})),
        ("e", "native: avg of 1000 series x 24h at 1m",
         {"query": "cpu_usage", "start": start * 1000, "end": end * 1000, "step": "1m", "aggregation": "avg"},
         ("/api/v1/query_range", {"query": "avg(avg_over_time(cpu_usage[1m]))", "start": start, "end": end,
                                  "step": 60})),
        # A step finer than the 1-minute tier makes the router read raw points: the
        # same work from blocks as a 1 m step would be.
        ("f", "native: avg of 1000 series x 24h at 30s (raw tier)",
         {"query": "cpu_usage", "start": start * 1000, "end": end * 1000, "step": "30s", "aggregation": "avg"},
         ("/api/v1/query_range", {"query": "avg(avg_over_time(cpu_usage[30s]))", "start": start, "end": end,
                                  "step": 30})),
    ]
    for qid, label, body, (vm_endpoint, vm_params) in natives:
        times, vm_times, meta, points = [], [], None, 0
        payload = json.dumps(body)
        cached = 0
        for i in range(a.warmups + a.runs):
            # The result cache is emptied before each run: every run computes its answer.
            subprocess.run(["redis-cli", "EVAL",
                            "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end",
                            "0", a.redis_prefix + "*"], check=True, capture_output=True)
            ms, data = native.request("POST", "/api/v1/query", payload, "application/json")
            vms, _ = prom_get(vm, vm_endpoint, vm_params)
            if i >= a.warmups:
                times.append(ms)
                vm_times.append(vms)
            doc = json.loads(data)
            meta, points = doc.get("meta"), len(doc.get("data") or [])
            cached += bool((meta or {}).get("cached"))
        q = {"id": qid, "query": label, "points": points, "meta": meta, "runs_cached": cached,
             "vigil": {"p50_ms": round(percentile(times, 0.5), 2), "p95_ms": round(percentile(times, 0.95), 2)},
             "victoriametrics": {"p50_ms": round(percentile(vm_times, 0.5), 2),
                                 "p95_ms": round(percentile(vm_times, 0.95), 2)}}
        report["queries"].append(q)
        print(json.dumps(q), flush=True)

    print("", file=sys.stderr)
    print(f"{'query':<72} {'prometheus p50/p95':>20} {'victoriametrics p50/p95':>24} {'vigil p50/p95':>16}",
          file=sys.stderr)
    for q in report["queries"]:
        s = q.get("systems") or {"victoriametrics": q["victoriametrics"], "vigil": q["vigil"]}
        cell = lambda n: f"{s[n]['p50_ms']:.1f} / {s[n]['p95_ms']:.1f}" if n in s else "-"
        print(f"{q['id'] + ') ' + q['query']:<72} {cell('prometheus'):>20} {cell('victoriametrics'):>24} "
              f"{cell('vigil'):>16}", file=sys.stderr)


if __name__ == "__main__":
    main()
