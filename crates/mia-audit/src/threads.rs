//! The worker-thread pool an audit runs on. Results never depend on the thread count (every
//! random draw is seeded per item, every reduction is ordered), so the count is a speed
//! setting only.

use crate::AuditError;

/// Most worker threads per core: past a few per core, threads only add contention (and a
/// huge count would spend minutes starting them).
pub const THREADS_PER_CORE: usize = 4;

/// Starts the global pool with `asked` threads (0: one per core, rayon's default), capped at
/// [`THREADS_PER_CORE`] × the cores. Returns a one-line note when the count was capped.
pub fn start_thread_pool(asked: usize) -> Result<Option<String>, AuditError> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (count, note) = capped(asked, cores);
    rayon::ThreadPoolBuilder::new()
        .num_threads(count)
        .build_global()
        .map_err(|e| AuditError::Internal(format!("cannot start {count} threads: {e}")))?;
    Ok(note)
}

fn capped(asked: usize, cores: usize) -> (usize, Option<String>) {
    let most = cores.saturating_mul(THREADS_PER_CORE);
    if asked > most {
        let note = format!("--threads {asked} capped at {most} ({THREADS_PER_CORE} × the {cores} cores available)");
        return (most, Some(note));
    }
    (asked, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_counts_past_four_per_core_are_capped_with_a_note() {
        assert_eq!(capped(0, 2), (0, None));
        assert_eq!(capped(8, 2), (8, None));
        let (count, note) = capped(9, 2);
        assert_eq!(count, 8);
        assert!(note.unwrap().contains("--threads 9 capped at 8"));
        assert_eq!(capped(usize::MAX, usize::MAX).0, usize::MAX);
    }
}
