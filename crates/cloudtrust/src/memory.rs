//! Resident memory that follows what is in use. mimalloc keeps the memory a thread frees for
//! that thread's next allocations, and purges it only when the thread allocates again: after a
//! password hash (Argon2id, 19 MiB for a moment, on a thread that then sits idle) the server
//! would hold that memory for as long as it is idle. A thread of its own asks mimalloc every
//! few seconds to give back what is free — off the request path, where it costs nothing.

use std::time::Duration;

/// How often freed memory is given back.
const EVERY: Duration = Duration::from_secs(5);

/// Starts the thread that gives freed memory back to the operating system.
pub fn give_back_freed_memory_at_idle() {
    // A thread, not a task: it must run while the runtime's threads sleep. Without it (the
    // system refused a thread) memory is only held longer.
    let _ = std::thread::Builder::new()
        .name("memory".to_owned())
        .spawn(|| {
            loop {
                std::thread::sleep(EVERY);
                // SAFETY: `mi_collect` has no preconditions; with `force` it also collects the
                // memory of threads that have exited and returns what is free to the system.
                unsafe { libmimalloc_sys::mi_collect(true) };
            }
        });
}
