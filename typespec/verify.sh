#!/usr/bin/env bash
# Fails when openapi/openapi.yaml differs from what the TypeSpec sources generate.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
committed="$root/openapi/openapi.yaml"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

"$here/generate.sh" "$tmp/openapi.yaml"
if ! diff -u "$committed" "$tmp/openapi.yaml"; then
  echo "openapi/openapi.yaml is out of date: run typespec/generate.sh (make generate) and commit it" >&2
  exit 1
fi
echo "openapi/openapi.yaml is up to date" >&2
