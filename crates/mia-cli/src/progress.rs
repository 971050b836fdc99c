//! Progress bars for model audits (indicatif): models trained with an ETA, then the
//! attack and evaluation stages. Drawn on stderr only when it is a terminal, so logs and
//! tests see nothing.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mia_audit::Progress;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

pub struct Bars {
    models: ProgressBar,
    quiet: bool,
    trained: AtomicUsize,
    reused: AtomicUsize,
}

impl Bars {
    pub fn new(quiet: bool) -> Bars {
        let target = if quiet { ProgressDrawTarget::hidden() } else { ProgressDrawTarget::stderr() };
        let models = ProgressBar::with_draw_target(None, target);
        models.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:24.cyan/blue} {pos}/{len} models ({eta} left) {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        models.enable_steady_tick(Duration::from_millis(200));
        Bars { models, quiet, trained: AtomicUsize::new(0), reused: AtomicUsize::new(0) }
    }

    pub fn update(&self, p: Progress) {
        match p {
            Progress::Planned { total, to_train } => {
                self.models.set_length(total as u64);
                self.models.set_message(if to_train < total {
                    format!("training {to_train}, {} found in the artifact store", total - to_train)
                } else {
                    format!("training target + {} reference models", total - 1)
                });
                // The ETA counts trained models only.
                self.models.reset_eta();
            }
            Progress::ModelDone { trained, .. } => {
                let counter = if trained { &self.trained } else { &self.reused };
                counter.fetch_add(1, Ordering::Relaxed);
                self.models.inc(1)
            }
            Progress::Stage(name) => self.models.set_message(format!("models done; running {name}")),
            Progress::WorkKept(dir) if !self.quiet => {
                self.models.suspend(|| eprintln!("work files kept in {} (--keep-work)", dir.display()))
            }
            Progress::WorkKept(_) => {}
            Progress::Queried { endpoint, stats: s } if !self.quiet => self.models.suspend(|| {
                let rate = if s.wall_s > 0.0 { s.requests as f64 / s.wall_s } else { 0.0 };
                let latency = if s.requests > 0 { 1e3 * s.latency_s / s.requests as f64 } else { 0.0 };
                eprintln!(
                    "target {endpoint}: {} batches, {} answered from the cache; {} requests ({} retries) in {:.1} s, \
                     {rate:.1} requests/s, mean latency {latency:.0} ms",
                    s.batches, s.cached, s.requests, s.retries, s.wall_s
                )
            }),
            Progress::Queried { .. } => {}
        }
    }

    pub fn finish(&self) {
        self.models.finish_and_clear();
    }

    /// On stderr: how many models were trained and how many reused from `artifacts`.
    pub fn say_models(&self, artifacts: &std::path::Path) {
        eprintln!(
            "models: {} trained, {} reused from {}",
            self.trained.load(Ordering::Relaxed),
            self.reused.load(Ordering::Relaxed),
            artifacts.display()
        );
    }
}
