//! `mia synth CONFIG.toml`: parsing and validating the synthetic-data audit config
//! (mia-audit synth.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mia_audit::SynthConfig;
use mia_fuzz::check;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        check(&SynthConfig::parse(text, "synth.toml"));
    }
});
