//! `mia llm FILE`: the reader of texts and per-token log-probabilities (texts.rs), strict and
//! skipping invalid texts. Input starting with the Parquet magic `PAR1` is read as `.parquet`
//! (texts/parquet.rs); anything else as JSON Lines, plain and gzip-compressed as `.jsonl.gz`.
#![no_main]

use std::io::Write;

use libfuzzer_sys::fuzz_target;
use mia_data::LoadOptions;
use mia_data::texts::load_texts;
use mia_fuzz::{check, write};

fuzz_target!(|data: &[u8]| {
    let strict = LoadOptions::default();
    let lenient = LoadOptions { skip_invalid_rows: true, ..LoadOptions::default() };
    if data.starts_with(b"PAR1") {
        let parquet = write("input.parquet", data);
        check(&load_texts(&parquet, &strict));
        check(&load_texts(&parquet, &lenient));
        return;
    }
    let plain = write("input.jsonl", data);
    check(&load_texts(&plain, &strict));
    check(&load_texts(&plain, &lenient));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).unwrap();
    let compressed = write("input.jsonl.gz", &gz.finish().unwrap());
    check(&load_texts(&compressed, &lenient));
});
