#!/usr/bin/env python3
"""Edge measurements of issue 17 against a running hyperfleet on 127.0.0.1 (standard library only).

    bench/edge.py hostile      --pid PID --api 127.0.0.1:8000 [--requests 20000] [--concurrency 64]
    bench/edge.py slow-clients --pid PID --api 127.0.0.1:8000 [--stalled 1000] [--seconds 15]
                               [--read-timeout 10]

`hostile` sends a burst of hostile requests (1 MiB bodies that are not JSON, declared and
streamed bodies over the limit, deep nesting, garbage, oversized heads), each on its own
connection, and follows the server's RSS for a minute afterwards. `slow-clients` measures a
normal load (GET of one cluster over keep-alive connections) alone and then while `--stalled`
connections hold half-sent heads and half-sent bodies; it records how long each stalled
connection stays open, whether any got a byte, and the server's open file descriptors and RSS.
Both print one JSON object. Every connection goes to the loopback address given; the run is
bounded by its arguments (about a minute for `hostile`, 2 x `--seconds` + the read timeout for
`slow-clients`).
"""

import argparse
import asyncio
import json
import os
import random
import time


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return None


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def split_address(address):
    host, port = address.rsplit(":", 1)
    assert host in ("127.0.0.1", "localhost"), "only the loopback address is measured"
    return "127.0.0.1", int(port)


async def one_shot(address, payload):
    """Sends `payload` on a new connection and reads the answer until the server closes."""
    host, port = address
    reader, writer = await asyncio.open_connection(host, port)
    try:
        try:
            writer.write(payload)
            await writer.drain()
        except (ConnectionError, OSError):
            pass
        data = await asyncio.wait_for(reader.read(), timeout=30)
        return data[9:12].decode(errors="replace") if data else "closed"
    except (ConnectionError, OSError):
        return "reset"
    finally:
        writer.close()


def hostile_requests():
    big = b"x" * (1024 * 1024 - 64)
    head = "POST /api/hyperfleet/v1/clusters HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    deep = b"[" * 100_000 + b"]" * 100_000
    chunk = b"%x\r\n" % (256 * 1024) + b"y" * (256 * 1024) + b"\r\n"
    return [
        ("1 MiB body, not JSON", (head + f"Content-Length: {len(big)}\r\n\r\n").encode() + big),
        ("declared 2 MiB", (head + "Content-Length: 2097152\r\n\r\n").encode()),
        ("streamed 1.5 MiB", (head + "Transfer-Encoding: chunked\r\n\r\n").encode() + chunk * 6 + b"0\r\n\r\n"),
        ("deep nesting", (head + f"Content-Length: {len(deep)}\r\n\r\n").encode() + deep),
        ("garbage", b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" * 100),
        ("head over 64 KiB", ("GET /api/hyperfleet HTTP/1.1\r\nHost: x\r\nX-Big: " + "a" * 100_000 + "\r\n\r\n").encode()),
    ]


async def hostile(args):
    address = split_address(args.api)
    kinds = hostile_requests()
    samples = {"idle": rss_mib(args.pid)}
    outcomes = {}
    queue = asyncio.Queue()
    for i in range(args.requests):
        queue.put_nowait(kinds[i % len(kinds)])

    async def worker():
        while not queue.empty():
            name, payload = queue.get_nowait()
            status = await one_shot(address, payload)
            outcomes.setdefault(name, {}).setdefault(status, 0)
            outcomes[name][status] += 1

    peak = 0.0

    async def watch():
        nonlocal peak
        while True:
            peak = max(peak, rss_mib(args.pid) or 0)
            await asyncio.sleep(0.2)

    watcher = asyncio.create_task(watch())
    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    burst_seconds = round(time.monotonic() - started, 1)
    watcher.cancel()
    samples["peak"] = peak
    samples["end of burst"] = rss_mib(args.pid)
    waited = 0
    for after in (5, 15, 30, 60):
        await asyncio.sleep(after - waited)
        waited = after
        samples[f"+{after} s"] = rss_mib(args.pid)
    return {"requests": args.requests, "burst_seconds": burst_seconds, "rss_mib": samples, "outcomes": outcomes}


async def keepalive_load(address, path, connections, seconds):
    """GETs `path` over keep-alive connections for `seconds`; returns rate, p50, p99, errors."""
    latencies, errors = [], 0
    deadline = time.monotonic() + seconds
    request = f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()

    async def client():
        nonlocal errors
        reader, writer = await asyncio.open_connection(*address)
        while time.monotonic() < deadline:
            began = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - began)
            if not head.startswith(b"HTTP/1.1 200"):
                errors += 1
        writer.close()

    await asyncio.gather(*(client() for _ in range(connections)))
    latencies.sort()
    pick = lambda q: round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 2)
    return {"requests": len(latencies), "per_second": round(len(latencies) / seconds), "p50_ms": pick(0.5),
            "p99_ms": pick(0.99), "non_200": errors}


async def create_cluster(address):
    body = json.dumps({"name": f"edge-{random.randrange(1 << 30)}", "spec": {}}).encode()
    request = (f"POST /api/hyperfleet/v1/clusters HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    reader, writer = await asyncio.open_connection(*address)
    writer.write(request)
    data = await reader.read()
    writer.close()
    return json.loads(data.split(b"\r\n\r\n", 1)[1])["href"]


async def stalled_connection(address, index):
    """Opens a connection that sends half a head or half a body and then nothing; returns
    (seconds it stayed open after its first byte, bytes received)."""
    reader, writer = await asyncio.open_connection(*address)
    if index % 2:
        payload = b"GET /api/hyperfleet HTTP/1.1\r\nHost: x\r\nX-Stall: "
    else:
        payload = b"POST /api/hyperfleet/v1/clusters HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"name\":"
    sent = time.monotonic()
    writer.write(payload)
    await writer.drain()
    try:
        data = await reader.read()
    except (ConnectionError, OSError):
        data = b""
    writer.close()
    return time.monotonic() - sent, len(data)


async def slow_clients(args):
    address = split_address(args.api)
    path = await create_cluster(address)
    alone = await keepalive_load(address, path, args.connections, args.seconds)
    # Taken after the first load, whose pool connections stay open (idle) from then on.
    await asyncio.sleep(2)
    before = {"fds": open_fds(args.pid), "rss_mib": rss_mib(args.pid)}

    peak = {"fds": 0, "rss_mib": 0.0}

    async def watch():
        while True:
            peak["fds"] = max(peak["fds"], open_fds(args.pid))
            peak["rss_mib"] = max(peak["rss_mib"], rss_mib(args.pid) or 0)
            await asyncio.sleep(0.2)

    watcher = asyncio.create_task(watch())
    stalls = [asyncio.create_task(stalled_connection(address, i)) for i in range(args.stalled)]
    await asyncio.sleep(1)
    loaded = await keepalive_load(address, path, args.connections, args.seconds)
    results = await asyncio.wait_for(asyncio.gather(*stalls), timeout=args.read_timeout + 30)
    watcher.cancel()
    await asyncio.sleep(2)
    after = {"fds": open_fds(args.pid), "rss_mib": rss_mib(args.pid)}
    await asyncio.sleep(args.settle)
    settled = {"fds": open_fds(args.pid), "rss_mib": rss_mib(args.pid)}
    open_for = sorted(r[0] for r in results)
    return {
        "stalled": args.stalled,
        "read_timeout_s": args.read_timeout,
        "normal_load_alone": alone,
        "normal_load_with_stalled": loaded,
        "stalled_open_s": {"min": round(open_for[0], 2), "max": round(open_for[-1], 2)},
        "stalled_closed_within_timeout_plus_1s": sum(1 for t in open_for if t <= args.read_timeout + 1),
        "stalled_that_got_bytes": sum(1 for r in results if r[1]),
        "server_before": before,
        "server_peak": peak,
        "server_2s_after": after,
        f"server_{args.settle:g}s_later": settled,
        "loadavg": open("/proc/loadavg").read().split()[:3],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", choices=["hostile", "slow-clients"])
    parser.add_argument("--pid", type=int, required=True, help="the hyperfleet process")
    parser.add_argument("--api", default="127.0.0.1:8000")
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--stalled", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=16, help="keep-alive connections of the normal load")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--read-timeout", type=float, default=10)
    parser.add_argument("--settle", type=float, default=30, help="seconds before the last fd/RSS sample")
    args = parser.parse_args()
    run = hostile if args.scenario == "hostile" else slow_clients
    print(json.dumps(asyncio.run(run(args)), indent=2))


if __name__ == "__main__":
    main()
