//! Bytes → `mnpd_package::validate` with the default limits and with one of a
//! few small ones: never panics, returns in bounded time and memory (libFuzzer's
//! -timeout and -rss_limit_mb), what it accepts respects the limits, and what
//! stricter limits accept laxer ones accept the same way.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mnpd_fuzz::check_package_limits(data, &mnpd_fuzz::small_limits(data.len()));
});
