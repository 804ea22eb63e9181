//! How many endpoints may be probed at once: as many as asked, within the open-files limit
//! (`ulimit -n`). Each probe holds a socket, and a DNS lookup another; past the limit every
//! further connection fails with EMFILE, which says nothing about the endpoint.

/// Descriptors kept for everything else: the runtime, stdio, report files, the AWS clients'
/// connections when `scan --probe` probes after scanning.
const HEADROOM: u64 = 64;
/// Descriptors one probe may hold at once: its socket and its DNS lookup's.
const PER_PROBE: u64 = 2;

/// The concurrency allowed, and what was asked when that was lowered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Concurrency {
    pub allowed: usize,
    asked: usize,
    limit: u64,
}

impl Concurrency {
    /// What to tell people when the limit lowered the concurrency asked for.
    pub fn note(&self) -> Option<String> {
        (self.allowed < self.asked).then(|| {
            format!(
                "--probe-concurrency {} lowered to {}: the open-files limit (ulimit -n) is {}; \
                 raise it to probe more at once",
                self.asked, self.allowed, self.limit
            )
        })
    }
}

/// `asked`, bounded by this process's open-files limit (unbounded when it cannot be read).
pub fn bounded(asked: usize) -> Concurrency {
    match soft_limit() {
        Some(limit) => within(asked, limit, open_now()),
        None => Concurrency {
            allowed: asked,
            asked,
            limit: u64::MAX,
        },
    }
}

/// `asked` within `limit` descriptors of which `open` are in use already; at least one.
fn within(asked: usize, limit: u64, open: u64) -> Concurrency {
    let room = limit.saturating_sub(open.saturating_add(HEADROOM)) / PER_PROBE;
    let allowed = usize::try_from(room)
        .unwrap_or(usize::MAX)
        .clamp(1, asked.max(1));
    Concurrency {
        allowed,
        asked,
        limit,
    }
}

fn soft_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct it is given.
    let read = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    // rlim_t is u64 on Linux, not everywhere.
    #[allow(clippy::unnecessary_cast)]
    let current = limit.rlim_cur as u64;
    (read == 0 && limit.rlim_cur != libc::RLIM_INFINITY).then_some(current)
}

/// Descriptors open now (Linux's /proc; elsewhere a guess that HEADROOM covers).
fn open_now() -> u64 {
    std::fs::read_dir("/proc/self/fd").map_or(16, |dir| dir.count() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrency_stays_within_the_open_files_limit_with_headroom() {
        let low = within(1000, 256, 10);
        assert_eq!(low.allowed, (256 - 10 - HEADROOM as usize) / 2);
        let note = low.note().unwrap();
        assert!(
            note.contains("--probe-concurrency 1000 lowered to 91"),
            "{note}"
        );
        assert!(note.contains("ulimit -n"), "{note}");
        assert_eq!(within(32, 1024, 10).allowed, 32, "room enough: as asked");
        assert_eq!(within(32, 1024, 10).note(), None);
        assert_eq!(within(1000, 20, 10).allowed, 1, "always one at a time");
        assert_eq!(within(1000, u64::MAX, 10).allowed, 1000);
    }
}
