#!/usr/bin/env bash
# `make test-ui`: loads the Swagger UI page of a real server in headless Chromium, with the
# network limited to that server, and checks that every operation of the document is rendered.
# Needs Debian's chromium (`apt-get install -y chromium`); without it the check is SKIPPED, said
# loudly, and exits 0 (set REQUIRE_CHROMIUM=1 to make that a failure). Needs no database: the
# page and the document are served without one.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
say() { echo "test-ui: $*" >&2; }

browser="$(command -v chromium || command -v chromium-browser || true)"
if [[ -z "$browser" ]]; then
    say "SKIPPED: chromium is not installed (apt-get install -y chromium); Swagger UI was not checked in a browser"
    [[ "${REQUIRE_CHROMIUM:-0}" == 1 ]] && exit 1
    exit 0
fi

SQLX_OFFLINE=true cargo build --locked --quiet --bin hyperfleet
work="$(mktemp -d)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
target/debug/hyperfleet serve --enable-jwt=false --database-url=postgres://unused@127.0.0.1:1/unused \
    --api-server-bindaddress="127.0.0.1:$port" \
    --metrics-server-bindaddress=127.0.0.1:0 \
    --health-check-server-bindaddress=127.0.0.1:0 >"$work/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "$base/openapi-ui" 2>/dev/null && break
    kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; say "the server did not start"; exit 1; }
    sleep 0.1
done

# Every operationId of the served document; the page must render each one.
curl -fsS "$base/api/hyperfleet/v1/openapi" >"$work/openapi.json"
mapfile -t operations < <(python3 -c '
import json, sys
doc = json.load(open(sys.argv[1]))
for item in doc["paths"].values():
    for op in item.values():
        if isinstance(op, dict) and "operationId" in op:
            print(op["operationId"])
' "$work/openapi.json")
[[ ${#operations[@]} -gt 0 ]] || { say "the document lists no operations"; exit 1; }

failures=0
for page in /api/hyperfleet/v1/openapi.html /openapi-ui; do
    # The only host the browser may reach is the server under test.
    timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$work/profile-${page//\//_}" \
        --host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE 127.0.0.1" \
        --virtual-time-budget=15000 --dump-dom "$base$page" >"$work/dom.html" 2>"$work/chromium.log" || {
        cat "$work/chromium.log" >&2
        say "FAIL $page: chromium failed"
        failures=$((failures + 1))
        continue
    }
    # Swagger UI renders one `opblock` per operation, with the operationId shown (displayOperationId
    # is off, so look for the summary path plus the operation's element id, `operations-<tag>-<id>`).
    rendered="$(grep -o 'id="operations-[A-Za-z]*-[a-z_]*"' "$work/dom.html" | sed 's/.*-\([a-z_]*\)"$/\1/' | sort -u)"
    missing=()
    for op in "${operations[@]}"; do
        grep -qx "$op" <<<"$rendered" || missing+=("$op")
    done
    if grep -q 'Failed to load API definition' "$work/dom.html"; then
        say "FAIL $page: Swagger UI could not load the document"
        failures=$((failures + 1))
    elif [[ ${#missing[@]} -gt 0 ]]; then
        say "FAIL $page: operations not rendered: ${missing[*]}"
        failures=$((failures + 1))
    else
        say "ok   $page renders all ${#operations[@]} operations"
    fi
done
echo "test-ui: $((2 - failures)) passed, $failures failed"
[[ $failures -eq 0 ]]
