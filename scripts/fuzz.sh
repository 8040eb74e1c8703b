#!/usr/bin/env bash
# Runs every cargo-fuzz target under fuzz/ for SECONDS each (default 300).
# The machine has a stable toolchain only: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its -Z flags,
# and `-s none` skips AddressSanitizer (the targets are safe Rust; the fuzzer looks for panics,
# wrong statuses and unbound SQL values). cargo-fuzz is installed from crates.io when missing.
# Corpora grow under fuzz/corpus/ (not committed) from the seeds in fuzz/seeds/; a failing input
# is saved under fuzz/artifacts/<target>/ and the script exits non-zero.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds="${1:-300}"
targets=(search query decode_resource decode_report)
export RUSTC_BOOTSTRAP=1 SQLX_OFFLINE=true

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz from crates.io"
    cargo install cargo-fuzz --version 0.13.2 --locked
fi

cd fuzz
cargo fuzz build -s none
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    cp -n "seeds/$target"/* "corpus/$target/" 2>/dev/null || true
    echo "==> fuzzing $target for ${seconds}s"
    set +e
    cargo fuzz run -s none "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -max_len=8192 -timeout=10 >"target/fuzz-$target.log" 2>&1
    status=$?
    set -e
    grep -E '^(Done|#[0-9]+ +DONE)|panicked|ERROR|SUMMARY|Test unit written|^thread' "target/fuzz-$target.log" || true
    if [ "$status" -ne 0 ]; then
        tail -n 40 "target/fuzz-$target.log" >&2
        echo "fuzz target $target failed (exit $status); the input is under fuzz/artifacts/$target/" >&2
        exit "$status"
    fi
done
