//! Pacing under ACM's quotas, which are per account *per region* per operation (SPEC §1.7):
//! one token bucket per (account, region, operation), or per (account, operation) with
//! `--rate-scope account` for accounts whose quota other tools share.

use std::num::NonZeroU32;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::cli::RateScope;

/// ACM's ListCertificates quota is 8/s per account-region.
const LIST_CERTIFICATES_PER_SECOND: u32 = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    ListCertificates,
    DescribeCertificate,
    ListTags,
}

type Key = (String, Option<String>);

pub struct CallLimiter {
    scope: RateScope,
    list: DefaultKeyedRateLimiter<Key>,
    describe: DefaultKeyedRateLimiter<Key>,
    tags: DefaultKeyedRateLimiter<Key>,
}

impl CallLimiter {
    /// `rate`: DescribeCertificate and ListTagsForCertificate calls per second per budget.
    pub fn new(rate: NonZeroU32, scope: RateScope) -> Self {
        let list_rate =
            NonZeroU32::new(LIST_CERTIFICATES_PER_SECOND.min(rate.get())).unwrap_or(rate);
        CallLimiter {
            scope,
            list: RateLimiter::keyed(Quota::per_second(list_rate)),
            describe: RateLimiter::keyed(Quota::per_second(rate)),
            tags: RateLimiter::keyed(Quota::per_second(rate)),
        }
    }

    /// Wait until this account-region may make one more call of `operation`.
    pub async fn until_ready(&self, account: &str, region: &str, operation: Operation) {
        let region = match self.scope {
            RateScope::AccountRegion => Some(region.to_string()),
            RateScope::Account => None,
        };
        let key = (account.to_string(), region);
        let limiter = match operation {
            Operation::ListCertificates => &self.list,
            Operation::DescribeCertificate => &self.describe,
            Operation::ListTags => &self.tags,
        };
        limiter.until_key_ready(&key).await;
    }
}
