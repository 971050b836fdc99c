//! `mia score --attack-config FILE.toml`: parsing the reference-attack settings
//! (`[lira]`, `[rmia]`, `[attack_r]`, `[shokri]`; mia-audit score.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mia_audit::score::parse_reference_config;
use mia_fuzz::check;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        check(&parse_reference_config(text, "attack.toml"));
    }
});
