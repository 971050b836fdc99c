//! `mia llm FILE.jsonl`: the JSON Lines reader of texts and per-token log-probabilities
//! (texts.rs), strict and skipping invalid texts, plain and gzip-compressed.
#![no_main]

use std::io::Write;

use libfuzzer_sys::fuzz_target;
use mia_data::LoadOptions;
use mia_data::texts::load_texts;
use mia_fuzz::{check, write};

fuzz_target!(|data: &[u8]| {
    let strict = LoadOptions::default();
    let lenient = LoadOptions { skip_invalid_rows: true, ..LoadOptions::default() };
    let plain = write("input.jsonl", data);
    check(&load_texts(&plain, &strict));
    check(&load_texts(&plain, &lenient));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).unwrap();
    let compressed = write("input.jsonl.gz", &gz.finish().unwrap());
    check(&load_texts(&compressed, &lenient));
});
