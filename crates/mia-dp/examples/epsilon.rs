//! ε of the Poisson-subsampled Gaussian mechanism, timed (used by bench/compare_accountant.py).
//!
//! ```text
//! cargo run --release -p mia-dp --example epsilon -- Q SIGMA STEPS DELTA [ACCOUNTANT] [REPEAT]
//! ```
//! ACCOUNTANT: `rdp` (default, dp_accounting's orders), `dp-accounting` (dp_accounting 0.6.0
//! compatible, its orders) or `opacus` (Opacus 1.6.0 compatible, its orders). Prints one line of
//! JSON: ε, the order, and the fastest of REPEAT (default 5) full computations in microseconds
//! (RDP at every order, T-fold composition, conversion; no caching between runs).

use std::process::ExitCode;
use std::time::Instant;

use mia_dp::{Accountant, DP_ACCOUNTING_ORDERS, OPACUS_ORDERS, SampledGaussian, epsilon_with};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            eprintln!("usage: epsilon Q SIGMA STEPS DELTA [rdp|dp-accounting|opacus] [REPEAT]");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[String]) -> Result<String, String> {
    if args.len() < 4 || args.len() > 6 {
        return Err(format!("expected 4 to 6 arguments, got {}", args.len()));
    }
    let number = |i: usize, name: &str| args[i].parse::<f64>().map_err(|e| format!("{name}: {e}"));
    let sample_rate = number(0, "Q")?;
    let noise_multiplier = number(1, "SIGMA")?;
    // Accept 1e6 as well as 1000000 for the step count.
    let steps = number(2, "STEPS")?;
    if !(steps >= 0.0 && steps.fract() == 0.0 && steps <= u64::MAX as f64) {
        return Err(format!("STEPS must be a non-negative integer, got {}", args[2]));
    }
    let delta = number(3, "DELTA")?;
    let (accountant, orders): (Accountant, &[f64]) = match args.get(4).map(String::as_str).unwrap_or("rdp") {
        "rdp" => (Accountant::Rdp, &DP_ACCOUNTING_ORDERS),
        "dp-accounting" => (Accountant::DpAccountingCompatible, &DP_ACCOUNTING_ORDERS),
        "opacus" => (Accountant::OpacusCompatible, &OPACUS_ORDERS),
        other => return Err(format!("unknown accountant {other:?}")),
    };
    let repeat: u32 = match args.get(5) {
        Some(text) => text.parse().map_err(|e| format!("REPEAT: {e}"))?,
        None => 5,
    };
    let mechanism = SampledGaussian::new(sample_rate, noise_multiplier, steps as u64).map_err(|e| e.to_string())?;
    let mut fastest = f64::INFINITY;
    let mut result = None;
    for _ in 0..repeat.max(1) {
        let start = Instant::now();
        let spent = epsilon_with(&mechanism, delta, orders, accountant).map_err(|e| e.to_string())?;
        fastest = fastest.min(start.elapsed().as_secs_f64() * 1e6);
        result = Some(spent);
    }
    let spent = result.expect("at least one run");
    // JSON has no infinity: an unbounded ε is written as null.
    let epsilon = if spent.epsilon.is_finite() { format!("{:e}", spent.epsilon) } else { "null".to_string() };
    Ok(format!(
        "{{\"epsilon\": {epsilon}, \"order\": {}, \"accountant\": \"{}\", \"elapsed_us\": {fastest:.1}}}",
        spent.order, spent.accountant
    ))
}
