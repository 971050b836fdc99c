//! `mia audit CONFIG.toml`: parsing and validating the audit config (mia-audit config.rs),
//! including the `[data]` schema, learner, trainer and evaluation sections.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mia_audit::AuditConfig;
use mia_fuzz::check;

fuzz_target!(|data: &[u8]| {
    // A config that is not UTF-8 fails when it is read, before the parser.
    if let Ok(text) = std::str::from_utf8(data) {
        check(&AuditConfig::parse(text, "audit.toml"));
    }
});
