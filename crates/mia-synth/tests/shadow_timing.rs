//! Timing of the shadow attack at its default settings on Adult (ignored by default; run with
//! `cargo test --release -p mia-synth --no-default-features --test shadow_timing -- --ignored --nocapture`).

#[path = "generators_common/mod.rs"]
mod common;

use std::time::Instant;

use common::*;
use mia_synth::generators::{GaussianCopula, Generator, Marginals};
use mia_synth::shadow::{ShadowConfig, most_isolated, shadow_attack};

#[test]
#[ignore = "timing; run in release"]
fn default_attack_timing() {
    let (schema, all) = adult();
    let audited = all.select(&(0..2000).collect::<Vec<_>>());
    let reference = all.select(&(10_000..20_000).collect::<Vec<_>>());
    let start = Instant::now();
    let targets = most_isolated(schema, &reference, 5, 10);
    eprintln!("most_isolated over 10,000 rows: {:.2} s", start.elapsed().as_secs_f64());
    let members = audited.select(&(0..1000).collect::<Vec<_>>());
    let mut rows = most_isolated(schema, &members, 5, 5);
    rows.extend(
        most_isolated(schema, &audited.select(&(1000..2000).collect::<Vec<_>>()), 5, 5).iter().map(|r| r + 1000),
    );
    let targets_table = audited.select(&rows);
    let _ = targets;
    // Settings to compare can be given as JSON in SHADOW_CONFIG.
    let cfg: ShadowConfig = match std::env::var("SHADOW_CONFIG") {
        Ok(json) => serde_json::from_str(&json).unwrap(),
        Err(_) => ShadowConfig::default(),
    };
    for (name, g) in [
        ("marginals", Box::new(Marginals::default()) as Box<dyn Generator>),
        ("copula", Box::new(GaussianCopula::default())),
    ] {
        let released = g.generate(schema, &members, 1000, 1).unwrap();
        let start = Instant::now();
        let r = shadow_attack(schema, &targets_table, &reference, &released, g.as_ref(), &cfg, 1).unwrap();
        eprintln!(
            "{name}: 10 targets x {} shadow sets (train 1000, synthetic 1000, {} features): {:.2} s on {} threads",
            cfg.n_shadow,
            r.n_features,
            start.elapsed().as_secs_f64(),
            rayon::current_num_threads()
        );
        for t in &r.targets {
            eprintln!(
                "  {} member={} score {:8.2} held-out acc {:.3} [{:.3}, {:.3}] auc {:.3}",
                t.id,
                t.row < 5,
                t.score,
                t.heldout_accuracy,
                t.heldout_accuracy_ci[0],
                t.heldout_accuracy_ci[1],
                t.heldout_auc
            );
        }
    }
}
