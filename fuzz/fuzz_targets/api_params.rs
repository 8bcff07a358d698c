//! First byte → an action of `Action::ALL`; the rest → a JSON object (when it is
//! one) through `params::validate` and `params::decode` into the action's
//! request struct, and → `name=value&...` form pairs through `params::from_flat`
//! (then `validate`/`decode`): never panics, and the functions agree.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let action = mnpd_fuzz::action_of(selector);
    if let Ok(map) = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(rest) {
        mnpd_fuzz::check_json(action, map);
    }
    mnpd_fuzz::check_flat(action, &mnpd_fuzz::form_pairs(rest));
});
