//! The documented limits of a run, checked before anything is generated so
//! that a scenario beyond them is an error naming the figure, never an
//! out-of-memory kill or an overflowing timestamp. docs/scenario.md lists
//! them under "Limits".

/// Rows a table held in memory may have at most, counted from the
/// scenario's upper bounds (volumes at their largest noise, every order
/// with its longest route): retail and clickstream tables, and a
/// disordered stream (its deliveries are sorted by arrival over the whole
/// run).
pub const MAX_EVENTS: u64 = 100_000_000;

/// Events a ghost-kitchen run with clean streams may produce at most: it
/// is generated and written a few days at a time, in flat memory, so the
/// bound is the disk's and the clock's, not the memory's.
pub const MAX_STREAMED_EVENTS: u64 = 10_000_000_000;

/// The longest an order may take from creation to delivery.
pub const MAX_ORDER_SPAN_MS: i64 = 7 * 86_400_000;

/// Pings one order may have (`sequence` is a 16-bit number).
pub const MAX_PINGS_PER_ORDER: u64 = 30_000;

/// Worker threads at most (`--threads` above this is capped, with a warning).
pub const MAX_THREADS: usize = 256;

/// The resolved worker thread count for `--threads` (`None`: all cores),
/// and a warning when the request was capped.
pub fn threads(requested: Option<usize>) -> (usize, Option<String>) {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    match requested {
        Some(n) if n > MAX_THREADS => (
            MAX_THREADS,
            Some(format!("--threads {n}: capped at {MAX_THREADS} (the output is the same for any value)")),
        ),
        Some(n) => (n, None),
        None => (cores.min(MAX_THREADS), None),
    }
}
