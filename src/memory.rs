//! Giving memory back after a burst (issue 17). glibc's malloc raises its mmap threshold each
//! time a large block is freed, so after the first few 1 MiB request bodies every later one comes
//! from the per-thread heap arenas, and freed arena pages stay with the process: a burst of
//! hostile 1 MiB bodies left the RSS at ~75 MiB for good, and a thousand stalled connections
//! another ~15 MiB (docs/reliability.md). Two remedies, both glibc's own:
//!
//! * both thresholds fixed at 128 KiB: large buffers get mappings of their own, unmapped when
//!   freed, and a heap's free top is trimmed at that size. Normal requests allocate far less than
//!   128 KiB at a time, so they take the same paths as before;
//! * `malloc_trim(0)` every 10 s on a thread of its own: it hands the free pages inside the arenas
//!   (what many small per-connection buffers leave behind) back to the kernel; on a heap of a few
//!   dozen MiB that is a short walk under each arena's lock, off the request threads.

use std::time::Duration;

const TRIM_PERIOD: Duration = Duration::from_secs(10);

/// Applies the allocator settings and starts the trimming thread; call once, before the runtime
/// starts its threads.
pub fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const THRESHOLD: libc::c_int = 128 * 1024;
        // SAFETY: mallopt only changes malloc parameters; it runs before any other thread exists,
        // and a refused value (return 0) leaves glibc's default in place.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, THRESHOLD);
            libc::mallopt(libc::M_TRIM_THRESHOLD, THRESHOLD);
        }
        let started = std::thread::Builder::new().name("malloc-trim".into()).spawn(|| loop {
            std::thread::sleep(TRIM_PERIOD);
            // SAFETY: malloc_trim is thread-safe (it takes each arena's lock in turn).
            unsafe { libc::malloc_trim(0) };
        });
        if let Err(e) = started {
            tracing::warn!(error = %e, "cannot start the memory trimming thread; freed memory is returned less often");
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = TRIM_PERIOD;
}
