#!/usr/bin/env bash
# Compiles the TypeSpec sources into the OpenAPI document.
#
#   typespec/generate.sh [OUTPUT]    default OUTPUT: openapi/openapi.yaml at the repository root
#
# Installs the pinned compiler (npm ci) when typespec/node_modules is missing or was installed
# from another package-lock.json. openapi/openapi.yaml is only ever written by this script.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
out="${1:-$root/openapi/openapi.yaml}"

# npm ci is keyed on the lock file: a stamp records the hash of the lock it installed from.
stamp="$here/node_modules/.hyperfleet-lock.sha256"
want="$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)"
if [[ ! -x "$here/node_modules/.bin/tsp" || ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  echo "typespec: installing pinned packages (npm ci)" >&2
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2)
  echo "$want" >"$stamp"
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# Compile into a scratch directory so a failed build never leaves a half-written document.
(cd "$here" && ./node_modules/.bin/tsp compile . --output-dir "$tmp/out" >"$tmp/tsp.log" 2>&1) || {
  cat "$tmp/tsp.log" >&2
  echo "typespec: compilation failed" >&2
  exit 1
}

mkdir -p "$(dirname "$out")"
cp "$tmp/out/openapi.yaml" "$tmp/openapi.yaml"
mv -f "$tmp/openapi.yaml" "$out"
echo "typespec: wrote $out" >&2
