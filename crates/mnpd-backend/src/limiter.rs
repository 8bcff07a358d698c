use std::num::NonZeroU32;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter as Governor};
use mnpd_domain::store::RateLimiter;

/// A token bucket per key, in this process only.
pub struct InProcessLimiter {
    inner: DefaultKeyedRateLimiter<String>,
}

impl InProcessLimiter {
    /// `per_second` tokens a second with a burst of the same size.
    pub fn new(per_second: u32) -> Self {
        let rate = NonZeroU32::new(per_second.max(1)).unwrap_or(NonZeroU32::MIN);
        InProcessLimiter {
            inner: Governor::keyed(Quota::per_second(rate).allow_burst(rate)),
        }
    }
}

impl RateLimiter for InProcessLimiter {
    fn admit(&self, key: &str) -> bool {
        self.inner.check_key(&key.to_string()).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_per_key() {
        let l = InProcessLimiter::new(5);
        let admitted = (0..20).filter(|_| l.admit("a:X")).count();
        assert_eq!(admitted, 5);
        assert!(l.admit("b:X"), "another key has its own bucket");
    }
}
