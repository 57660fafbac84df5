//! Splitting pure math over threads. Work is cut into fixed blocks of rows, each block writes only
//! its own output, and callers reduce block outputs in block order: results are bit-identical
//! whatever the thread count. Threads never call PostgreSQL (they only see slices).

/// Rows per block: small enough to balance two cores, large enough that per-block state
/// (k × d partial sums) stays negligible.
pub const BLOCK_ROWS: usize = 8192;

/// Runs `f` on every item, using up to `threads` scoped threads on contiguous runs of items.
pub fn for_each<W: Send>(items: &mut [W], threads: usize, f: impl Fn(&mut W) + Sync) {
    let threads = threads.max(1).min(items.len().max(1));
    if threads == 1 {
        items.iter_mut().for_each(&f);
        return;
    }
    let per_thread = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let mut groups = items.chunks_mut(per_thread);
        let first = groups.next();
        for group in groups {
            let f = &f;
            scope.spawn(move || group.iter_mut().for_each(f));
        }
        // The calling thread takes a share too instead of idling.
        if let Some(group) = first {
            group.iter_mut().for_each(&f);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_is_visited_once_for_any_thread_count() {
        for threads in [1, 2, 3, 8, 100] {
            let mut items: Vec<u32> = vec![0; 37];
            for_each(&mut items, threads, |x| *x += 1);
            assert!(items.iter().all(|&x| x == 1), "threads={threads}");
        }
        let mut empty: Vec<u32> = vec![];
        for_each(&mut empty, 4, |x| *x += 1);
    }
}
