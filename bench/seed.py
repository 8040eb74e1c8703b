#!/usr/bin/env python3
"""Seeds a HyperFleet API through its HTTP interface (standard library only).

Creates CLUSTERS clusters with labels (env: 1 of 4, team: 1 of 100, so `labels.team='team-7'`
matches ~1 %), NODEPOOLS_PER_CLUSTER node pools for each of the first NODEPOOL_CLUSTERS clusters,
and ADAPTERS adapter statuses for each of the first STATUS_CLUSTERS clusters. Requests run on
THREADS keep-alive connections. Writes the cluster ids, one a line, to OUT (for the load
scripts and pgbench's `bench_ids` table).

    bench/seed.py http://127.0.0.1:8000 OUT
"""

import http.client
import json
import os
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

BASE = "/api/hyperfleet/v1"
ENVS = ("prod", "staging", "dev", "test")


def env_int(name, default):
    return int(os.environ.get(name, default))


class Client(threading.local):
    """One keep-alive connection per thread."""

    def __init__(self, host, port):
        self.host, self.port, self.conn = host, port, None

    def post(self, path, body):
        payload = json.dumps(body).encode()
        for attempt in range(3):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            try:
                self.conn.request("POST", path, payload, {"Content-Type": "application/json"})
                response = self.conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
                continue
            if response.status != 201:
                raise RuntimeError(f"POST {path}: {response.status} {data[:300]!r}")
            return json.loads(data)
        raise AssertionError("unreachable")


def main():
    url, out = sys.argv[1], sys.argv[2]
    parsed = urllib.parse.urlsplit(url)
    clusters = env_int("CLUSTERS", 10_000)
    nodepool_clusters = min(env_int("NODEPOOL_CLUSTERS", 1_000), clusters)
    nodepools_per_cluster = env_int("NODEPOOLS_PER_CLUSTER", 2)
    status_clusters = min(env_int("STATUS_CLUSTERS", 2_000), clusters)
    adapters = env_int("ADAPTERS", 4)
    threads = env_int("SEED_THREADS", 16)
    client = Client(parsed.hostname, parsed.port)
    run = int(time.time())

    def create_cluster(i):
        body = {
            "kind": "Cluster",
            "name": f"bench-{run}-{i}",
            "spec": {"region": "us-east-1", "version": "4.15", "nodes": 3},
            "labels": {"env": ENVS[i % 4], "team": f"team-{i % 100}", "index": str(i)},
        }
        return client.post(f"{BASE}/clusters", body)["id"]

    def create_node_pool(job):
        cluster_id, j = job
        body = {"name": f"pool-{j}", "spec": {"instance_type": "m5.xlarge", "replicas": 3}, "labels": {"pool": str(j)}}
        client.post(f"{BASE}/clusters/{cluster_id}/nodepools", body)

    def report_status(job):
        cluster_id, a = job
        body = {
            "adapter": f"adapter-{a}",
            "observed_generation": 1,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "Seeded", "message": "seeded by bench/seed.py"},
                {"type": "Applied", "status": "True"},
            ],
            "data": {"seed": True},
        }
        client.post(f"{BASE}/clusters/{cluster_id}/statuses", body)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        started = time.monotonic()
        ids = list(pool.map(create_cluster, range(clusters), chunksize=64))
        took = time.monotonic() - started
        print(f"seed: {clusters} clusters in {took:.1f} s ({clusters / took:.0f}/s)", file=sys.stderr)

        started = time.monotonic()
        jobs = [(ids[i], j) for i in range(nodepool_clusters) for j in range(nodepools_per_cluster)]
        list(pool.map(create_node_pool, jobs, chunksize=64))
        took = time.monotonic() - started
        print(f"seed: {len(jobs)} node pools in {took:.1f} s ({len(jobs) / max(took, 1e-9):.0f}/s)", file=sys.stderr)

        started = time.monotonic()
        jobs = [(ids[i], a) for i in range(status_clusters) for a in range(1, adapters + 1)]
        list(pool.map(report_status, jobs, chunksize=64))
        took = time.monotonic() - started
        print(f"seed: {len(jobs)} adapter statuses in {took:.1f} s ({len(jobs) / max(took, 1e-9):.0f}/s)", file=sys.stderr)

    with open(out, "w") as f:
        f.write("".join(f"{i}\n" for i in ids))


if __name__ == "__main__":
    main()
