//! Bytes → an HTTP request (method, query, headers, body; the format is
//! `mnpd_fuzz::WireInput`) → `mnpd_wire::decode` → `proof.verify(..)`, then the
//! parameters through `mnpd_api::params` as the gateway does: never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mnpd_fuzz::check_wire(data);
});
