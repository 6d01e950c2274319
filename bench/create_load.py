#!/usr/bin/env python3
"""Sustained sandbox creates through a set of gateways.

  create_load.py KEY TOTAL CONCURRENCY PORT [PORT...]

CONCURRENCY workers, each on keep-alive connections to the gateways (worker
i starts at gateway i), create a sandbox, then kill it, until TOTAL creates
are done; so at most CONCURRENCY sandboxes live at once and the figure is a
steady state, not a burst into a full node. Prints one JSON line: creates/s
over the wall time, create latency median and p99 (ms), failures.
"""
import http.client
import json
import sys
import threading
import time

key, total, conc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ports = [int(p) for p in sys.argv[4:]]
body = json.dumps({"templateID": "base", "timeout": 120})
headers = {"X-API-KEY": key, "Content-Type": "application/json"}
lock = threading.Lock()
left = [total]
latencies = []
failures = [0]
first_failure = [None]


def take():
    with lock:
        if left[0] == 0:
            return False
        left[0] -= 1
        return True


def worker(i):
    conns = [http.client.HTTPConnection("127.0.0.1", p, timeout=30) for p in ports]
    n = i
    while take():
        c = conns[n % len(conns)]
        n += 1
        start = time.perf_counter()
        c.request("POST", "/v2/sandboxes", body, headers)
        r = c.getresponse()
        data = r.read()
        ms = (time.perf_counter() - start) * 1000
        if r.status != 201:
            with lock:
                failures[0] += 1
                if first_failure[0] is None:
                    first_failure[0] = "%d %s" % (r.status, data.decode(errors="replace")[:200])
            continue
        with lock:
            latencies.append(ms)
        sid = json.loads(data)["sandboxID"]
        c.request("DELETE", "/sandboxes/" + sid, headers=headers)
        c.getresponse().read()


start = time.perf_counter()
threads = [threading.Thread(target=worker, args=(i,)) for i in range(conc)]
for t in threads:
    t.start()
for t in threads:
    t.join()
wall = time.perf_counter() - start
latencies.sort()
pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else 0
print(json.dumps({"creates_per_s": round(len(latencies) / wall, 1),
                  "p50_ms": round(pick(0.5), 2), "p99_ms": round(pick(0.99), 2),
                  "failures": failures[0], "first_failure": first_failure[0]}))
