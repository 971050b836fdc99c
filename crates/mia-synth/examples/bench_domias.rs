//! Times DOMIAS on three Adult-shaped CSV files (with an `id` column and the `income` label),
//! as `bench/compare_domias.py` writes them. Not a test.
//!
//! ```text
//! cargo run --release -p mia-synth --no-default-features --example bench_domias -- \
//!     synthetic.csv reference.csv query.csv scores.csv [repeats]
//! ```
//!
//! Prints one JSON line: load and mix time, the best DOMIAS time over `repeats` runs (default
//! 3), the thread count, and the number of rows; writes `id,score,log_p_synthetic,log_p_reference`.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use mia_data::tabular::{ColumnSet, TableOptions, TableSchema, load_table};
use mia_synth::domias::{DomiasConfig, domias};
use mia_synth::mixed::mix;

const NUMERIC: [&str; 6] = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 4 {
        return Err("usage: bench_domias synthetic.csv reference.csv query.csv scores.csv [repeats]".into());
    }
    let repeats: usize = args.get(4).map(|r| r.parse()).transpose()?.unwrap_or(3).max(1);
    let t0 = Instant::now();
    let mut tables = Vec::new();
    for path in &args[..3] {
        let mut schema = TableSchema::new(path, "income");
        schema.id = Some("id".into());
        schema.numeric = ColumnSet::List(NUMERIC.iter().map(|c| c.to_string()).collect());
        schema.categorical = ColumnSet::Rest;
        tables.push(load_table(&schema, Path::new("."), &TableOptions::default())?);
    }
    let (schema, mixed) = mix(&[&tables[0], &tables[1], &tables[2]], "income")?;
    let load_s = t0.elapsed().as_secs_f64();
    let cfg = DomiasConfig::default();
    let mut best = f64::INFINITY;
    let mut out = None;
    for _ in 0..repeats {
        let t = Instant::now();
        let o = domias(&schema, &mixed[0], &mixed[1], &mixed[2], &cfg)?;
        best = best.min(t.elapsed().as_secs_f64());
        out = Some(o);
    }
    let out = out.ok_or("no run")?;
    let mut w = std::io::BufWriter::new(std::fs::File::create(&args[3])?);
    writeln!(w, "id,score,log_p_synthetic,log_p_reference")?;
    for (i, id) in mixed[2].ids.iter().enumerate() {
        writeln!(w, "{id},{:?},{:?},{:?}", out.scores[i], out.log_p_synthetic[i], out.log_p_reference[i])?;
    }
    println!(
        "{{\"load_s\": {load_s:.4}, \"domias_s\": {best:.4}, \"threads\": {}, \"synthetic\": {}, \"reference\": {}, \"query\": {}}}",
        rayon::current_num_threads(),
        mixed[0].len(),
        mixed[1].len(),
        mixed[2].len()
    );
    Ok(())
}
