//! `[data]` tables from CSV (plain or gzip, detected from the bytes): the tabular reader
//! (tabular.rs, tabular/csvsrc.rs) and the feature encoding, with three schemas (see
//! `mia_fuzz::table_schemas`), strict and lenient.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mia_fuzz::{load_and_encode, table_name, table_schemas, write};

fuzz_target!(|data: &[u8]| {
    if data.starts_with(b"PAR1") {
        return; // table_parquet's input
    }
    let path = write(&table_name("table", data), data);
    for (i, schema) in table_schemas(&path).iter().enumerate() {
        load_and_encode(schema, i % 2 == 1);
    }
});
