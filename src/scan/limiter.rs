//! Pacing under ACM's quotas, which are per account *per region* per operation:
//! one token bucket per (account, region, operation), or per (account, operation) with
//! `--rate-scope account` for accounts whose quota other tools share.

use std::num::NonZeroU32;

use governor::clock::{Clock, MonotonicClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::plan::RateScope;

/// ACM's ListCertificates quota is 8/s per account-region.
const LIST_CERTIFICATES_PER_SECOND: u32 = 8;
/// IAM's and ACM Private CA's list calls: a few per account (or account-region) each scan,
/// paced well under their quotas (IAM's are account-wide and shared with every other tool).
const OTHER_LISTS_PER_SECOND: u32 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    ListCertificates,
    DescribeCertificate,
    ListTags,
    /// IAM ListServerCertificates, keyed by account alone (IAM is global).
    ListServerCertificates,
    /// ACM Private CA ListCertificateAuthorities.
    ListCertificateAuthorities,
}

/// (account, region), the region absent when one budget covers the account.
pub type BudgetKey = (String, Option<String>);

/// Paced on the std monotonic clock and waited on tokio's timer. governor's default clock
/// (quanta) calibrates the TSC against the OS clock at start: on a loaded machine that was
/// seen running several times too fast, letting a scan exceed --rate several-fold.
type Budget = RateLimiter<
    BudgetKey,
    DefaultKeyedStateStore<BudgetKey>,
    MonotonicClock,
    NoOpMiddleware<std::time::Instant>,
>;

fn budget(per_second: NonZeroU32) -> Budget {
    RateLimiter::dashmap_with_clock(Quota::per_second(per_second), MonotonicClock)
}

pub struct CallLimiter {
    scope: RateScope,
    list: Budget,
    describe: Budget,
    tags: Budget,
    other_lists: Budget,
}

impl CallLimiter {
    /// `rate`: DescribeCertificate and ListTagsForCertificate calls per second per budget.
    pub fn new(rate: NonZeroU32, scope: RateScope) -> Self {
        let list_rate =
            NonZeroU32::new(LIST_CERTIFICATES_PER_SECOND.min(rate.get())).unwrap_or(rate);
        CallLimiter {
            scope,
            list: budget(list_rate),
            describe: budget(rate),
            tags: budget(rate),
            other_lists: budget(NonZeroU32::new(OTHER_LISTS_PER_SECOND).expect("positive")),
        }
    }

    /// The budget an account-region's calls count against: its own, or its account's with
    /// `--rate-scope account`. Made once per account-region, not per call.
    pub fn key(&self, account: &str, region: &str) -> BudgetKey {
        let region = match self.scope {
            RateScope::AccountRegion => Some(region.to_string()),
            RateScope::Account => None,
        };
        (account.to_string(), region)
    }

    /// Wait until this budget may make one more call of `operation`.
    pub async fn until_ready(&self, key: &BudgetKey, operation: Operation) {
        let limiter = match operation {
            Operation::ListCertificates => &self.list,
            Operation::DescribeCertificate => &self.describe,
            Operation::ListTags => &self.tags,
            Operation::ListServerCertificates | Operation::ListCertificateAuthorities => {
                &self.other_lists
            }
        };
        while let Err(not_until) = limiter.check_key(key) {
            tokio::time::sleep(not_until.wait_time_from(MonotonicClock.now())).await;
        }
    }
}
