//! What `mia` prints on stdout after a run: a few lines a person reads in a terminal or a CI
//! log. The report files hold everything; nothing here is parsed by machines.

use mia_audit::{AuditOutput, ModelTask, Shard};
use std::path::Path;

/// `println!` that ignores a closed stdout (e.g. `mia score ... | head`): the summary is a
/// courtesy, and the report files are already written when it prints.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

fn fmt_pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

/// Rows, one line per attack (AUC with its interval at the configured confidence, TPR at
/// 0.1 % and 1 % FPR, the ε lower bound), the gate's rules and the verdict.
pub fn report(out: &AuditOutput, dir: &Path) {
    let r = &out.report;
    say!(
        "{} records ({} members, {} non-members, {} skipped){}",
        r.rows.kept,
        r.rows.members,
        r.rows.non_members,
        r.rows.skipped.iter().map(|s| s.count).sum::<usize>(),
        r.outputs.as_ref().map_or(String::new(), |o| format!(", outputs: {}", o.kind))
    );
    let fmt_ci = |c: Option<[f64; 2]>| c.map_or(String::new(), |[l, h]| format!(" [{l:.3}, {h:.3}]"));
    let auc_head = format!("AUC [{}% CI]", (r.settings.eval.confidence * 1e8).round() / 1e6);
    say!("{:<28} {:>22} {:>14} {:>14} {:>8}", "attack", auc_head, "TPR@0.1%FPR", "TPR@1%FPR", "eps_lb");
    for a in &r.attacks {
        let e = &a.evaluation;
        let at = |f: f64| {
            e.tpr_at_fpr
                .iter()
                .find(|t| mia_core::evaluate::same_fpr(t.fpr, f))
                .map_or("-".to_string(), |t| format!("{:.4}{}", t.tpr, if t.supported { "" } else { "†" }))
        };
        say!(
            "{:<28} {:>22} {:>14} {:>14} {:>8.3}",
            a.name,
            format!("{:.4}{}", e.auc.value, fmt_ci(e.auc.ci)),
            at(1e-3),
            at(1e-2),
            e.eps_lower_bound.value
        );
    }
    if r.attacks.iter().any(|a| a.evaluation.tpr_at_fpr.iter().any(|t| !t.supported)) {
        say!("† too few non-members to measure this FPR (need >= 10/FPR)");
    }
    if let Some(b) = &r.blind {
        blind(b, fmt_ci(b.auc.ci));
    }
    if let Some(p) = &r.privacy {
        say!(
            "DP guarantee (ε = {}, δ = {:e}, {}): highest ε lower bound {:.3} ({}); claim {}",
            p.claimed_epsilon,
            p.claimed_delta,
            if p.source == "learner" { "accounted for the DP-SGD fit" } else { "claimed" },
            p.max_eps_lower_bound.value,
            p.max_eps_lower_bound.attack,
            if p.claim_violated { "VIOLATED" } else { "not contradicted" }
        );
    }
    if let Some(c) = &r.comparison {
        say!("privacy-utility comparison (the lines above are the first setting's audit):");
        for st in &c.settings {
            let accounted = st.claimed_epsilon.map_or("no DP".to_string(), |e| format!("accounted ε = {e:.3}"));
            say!(
                "  {:<6} {accounted:<20} held-out accuracy {}, highest AUC {:.4} ({}), highest ε lower bound {:.3}",
                st.setting,
                fmt_pct(st.held_out_accuracy.value),
                st.max.auc.value,
                st.max.auc.attack,
                st.max.eps_lower_bound.value
            );
        }
    }
    if let Some(b) = &r.baseline {
        baseline(b);
        if let Some(m) = b.attacks.iter().find(|a| a.name == "max") {
            for x in m.metrics.iter().filter(|x| x.metric == "auc" || x.metric.starts_with("tpr@")) {
                let ci = x.ci.map_or(String::new(), |[lo, hi]| format!(" [{lo:+.4}, {hi:+.4}]"));
                say!("  max {}: {:.4} -> {:.4} ({:+.4}{ci})", x.metric, x.old, x.new, x.delta);
            }
        }
    }
    if let Some(o) = &r.one_run {
        match &o.attack {
            Some(a) => say!(
                "one-run audit: ε >= {:.3} at δ = {:e}, {} confidence ({a}: {} of {} guesses right on {} canaries)",
                o.epsilon_lower_bound,
                o.delta,
                fmt_pct(o.confidence),
                o.correct,
                o.guesses,
                o.canaries
            ),
            None => say!("one-run audit: no ε lower bound above 0 at δ = {:e} on {} canaries", o.delta, o.canaries),
        }
    }
    for g in &r.gate.rules {
        say!("gate: {} (value {}) -> {}", g.expr, g.value, if g.fired { "FIRED" } else { "ok" });
    }
    say!("verdict: {}; report written to {}", r.gate.verdict, dir.display());
}

/// The blind check: its AUC, and when the split is distinguishable, the attacks that do not
/// beat it.
fn blind(b: &mia_report::report::Blind, ci: String) {
    let tpr = b.tpr_at_fpr.iter().find(|t| mia_core::evaluate::same_fpr(t.fpr, 0.01));
    say!(
        "blind check ({}, never sees the model): AUC {:.4}{ci}{} -> {}",
        b.strongest,
        b.auc.value,
        tpr.map_or(String::new(), |t| format!(", TPR@1%FPR {:.4}", t.tpr)),
        if b.distinguishable { "the split itself is DISTINGUISHABLE" } else { "at chance" }
    );
    if b.distinguishable {
        let weak: Vec<&str> = b.attacks.iter().filter(|a| !a.beats_blind).map(|a| a.attack.as_str()).collect();
        if weak.is_empty() {
            say!("  every attack beats the blind classifier on the same records; read their AUCs against it");
        } else {
            say!(
                "  attacks that do not beat it (their figures may measure the split, not the model): {}",
                weak.join(", ")
            );
        }
    }
}

/// The target model's accuracy on its training and held-out rows, for model audits.
pub fn target_model(out: &AuditOutput) {
    if let Some(m) = &out.report.models {
        say!(
            "target: {} accuracy on its {} training rows, {} on {} held-out rows; {} reference models",
            fmt_pct(m.target.train_accuracy.value),
            m.target.train_rows,
            fmt_pct(m.target.held_out_accuracy.value),
            m.target.held_out_rows,
            m.reference_models
        );
    }
}

/// Per synthetic table: exact copies and the closeness share; per shadow-generator attack:
/// the held-out in/out accuracy range and the AUC over its targets.
pub fn synthetic(out: &AuditOutput) {
    let Some(s) = &out.report.synth else { return };
    for (t, d) in s.synthetic.iter().zip(&s.distances) {
        let copies = &d["exact_copies"];
        let share = &d["closeness"];
        say!(
            "synthetic {} ({} rows, {}): {} of {} members have an exact copy ({} of {} holdout records); \
             share of synthetic rows closer to members than to holdout: {}",
            t.name,
            t.rows,
            t.source,
            copies["members_in_synthetic"],
            s.members,
            copies["holdout_in_synthetic"],
            s.holdout,
            share["share"].as_f64().map_or("-".into(), |v| format!(
                "{v:.3} [{:.3}, {:.3}]",
                share["interval"][0].as_f64().unwrap_or(f64::NAN),
                share["interval"][1].as_f64().unwrap_or(f64::NAN)
            ))
        );
    }
    for r in s.shadow.iter().flat_map(|sh| sh["results"].as_array().cloned().unwrap_or_default()) {
        let accs: Vec<f64> = r["targets"]
            .as_array()
            .map_or(Vec::new(), |t| t.iter().filter_map(|t| t["heldout_accuracy"].as_f64()).collect());
        let auc = &r["evaluation"]["auc"];
        say!(
            "shadow generators on {} targets (most isolated records), {} shadow sets each: held-out in/out \
             accuracy {} to {}; AUC over the targets {}",
            accs.len(),
            r["n_shadow"],
            accs.iter().cloned().fold(f64::INFINITY, f64::min),
            accs.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
            auc["value"].as_f64().map_or("-".into(), |v| format!("{v:.3}"))
        );
    }
}

/// `mia plan`: the model count, what is stored, and the commands that train and merge.
pub fn plan(tasks: &[ModelTask], config: &Path, artifacts: &Path, plan_file: &Path) {
    let stored = tasks.iter().filter(|t| t.stored).count();
    let targets = tasks.iter().filter(|t| t.index == 0).count();
    let per_setting = if targets > 1 { format!(" over {targets} DP settings") } else { String::new() };
    say!(
        "{} models ({targets} target{} + {} references{per_setting}), {stored} already in {}; plan written to {}",
        tasks.len(),
        if targets == 1 { "" } else { "s" },
        tasks.len() - targets,
        artifacts.display(),
        plan_file.display()
    );
    say!(
        "train them in N shards: mia run {} --shard I/N --artifacts {}   (I = 0..N-1, or --shard env/N)",
        config.display(),
        artifacts.display()
    );
    say!("then: mia merge {} --artifacts {} -o REPORT_DIR", config.display(), artifacts.display());
}

/// `mia run`: which models the shard covers and how many it trained.
pub fn shard(shard: Shard, tasks: &[ModelTask], artifacts: &Path) {
    let trained = tasks.iter().filter(|t| t.trained).count();
    let list: Vec<String> = tasks.iter().map(|t| t.index.to_string()).collect();
    say!(
        "shard {}/{}: models {} — {trained} trained, {} already stored, in {}",
        shard.index,
        shard.count,
        list.join(", "),
        tasks.len() - trained,
        artifacts.display()
    );
}

/// `mia accountant`: the guarantee in one line, or as one JSON object.
pub fn accounting(a: &mia_dp::Accounting, calibrated: bool, json: bool) {
    if json {
        say!("{}", serde_json::to_string(a).unwrap_or_default());
        return;
    }
    let recipe = format!(
        "sample rate {}, {} steps; {} accountant, best order {}",
        a.sample_rate, a.steps, a.accountant, a.order
    );
    if calibrated {
        say!(
            "noise multiplier {} reaches epsilon = {:.6} at delta = {:e} ({recipe})",
            a.noise_multiplier,
            a.epsilon,
            a.delta
        );
    } else {
        say!("epsilon = {:.6} at delta = {:e} (noise multiplier {}, {recipe})", a.epsilon, a.delta, a.noise_multiplier);
    }
}

/// `mia diff`: the comparison (one JSON object with `json`), then the gate.
pub fn diff(b: &mia_report::baseline::Baseline, gate: &mia_report::report::GateResult, json: bool) {
    if json {
        say!("{}", serde_json::to_string(&serde_json::json!({ "baseline": b, "gate": gate })).unwrap_or_default());
        return;
    }
    baseline(b);
    say!("{:<28} {:<18} {:>8} {:>8}  difference [interval]", "attack", "metric", "old", "new");
    for a in &b.attacks {
        for m in &a.metrics {
            let ci = m.ci.map_or("(no interval)".to_string(), |[lo, hi]| format!("[{lo:+.4}, {hi:+.4}]"));
            let flag = if m.supported { "" } else { " (not supported by the sample)" };
            say!("{:<28} {:<18} {:>8.4} {:>8.4}  {:+.4} {ci}{flag}", a.name, m.metric, m.old, m.new, m.delta);
        }
    }
    for g in &gate.rules {
        say!("gate: {} (value {}) -> {}", g.expr, g.value, if g.fired { "FIRED" } else { "ok" });
    }
    say!("verdict: {}", gate.verdict);
}

/// One line on how a baseline was compared, and why it cannot be, if it cannot.
fn baseline(b: &mia_report::baseline::Baseline) {
    let shared = b.shared_records.map(|n| format!(" over {n} shared records")).unwrap_or_default();
    say!("baseline {} (schema {}): {}{shared}", b.source, b.schema_version, b.method);
    if !b.comparable {
        for n in b.notes.iter().filter(|n| n.starts_with("not comparable")) {
            say!("NOT COMPARABLE: {n}");
        }
    }
}
