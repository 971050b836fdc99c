//! `[data]` tables from Parquet: the tabular reader (tabular.rs, tabular/pqsrc.rs) and the
//! feature encoding, with the schemas of `mia_fuzz::table_schemas`, strict and lenient.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mia_fuzz::{load_and_encode, table_schemas, write};

fuzz_target!(|data: &[u8]| {
    let path = write("table.parquet", data);
    for (i, schema) in table_schemas(&path).iter().enumerate() {
        load_and_encode(schema, i % 2 == 1);
    }
});
