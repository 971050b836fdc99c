//! A request to stop: SIGINT (Ctrl-C) or SIGTERM (what Slurm and Kubernetes send on
//! preemption) turned into a flag the run checks, so an interrupted audit stops cleanly
//! instead of dying mid-step.
//!
//! The `mia` binary installs the handlers ([`install_handlers`]); a handler only records
//! which signal arrived. The external-command runner ([`crate::external`]) polls
//! [`requested`] while a user's program runs and then kills the program's process group;
//! the pipeline checks it before each model, so finished models stay stored and a rerun
//! resumes. A program embedding the library stops one run with its own [`Cancel`] token (a
//! Python caller's KeyboardInterrupt, a server's deadline); every check of a run asks its
//! token, which answers for the process's signals too.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};

/// The number of the signal that asked the run to stop; 0 while none has.
static SIGNAL: LazyLock<Arc<AtomicUsize>> = LazyLock::new(|| Arc::new(AtomicUsize::new(0)));

/// Which signal asked the run to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interruption {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM (a scheduler's preemption, `kill`).
    Terminate,
    /// The program embedding the library cancelled the run ([`Cancel::cancel`]).
    Cancelled,
}

impl Interruption {
    /// The signal's number (the same on Linux, macOS and the BSDs); none for a cancellation.
    fn number(self) -> Option<usize> {
        match self {
            Interruption::Interrupt => Some(2),
            Interruption::Terminate => Some(15),
            Interruption::Cancelled => None,
        }
    }

    /// The exit status of a process stopped by this signal, as shells report it: 128 + its
    /// number (a cancellation counts as SIGINT, the user's own stop).
    pub fn exit_code(self) -> u8 {
        128 + self.number().unwrap_or(2) as u8
    }

    fn from_number(n: usize) -> Option<Interruption> {
        [Interruption::Interrupt, Interruption::Terminate].into_iter().find(|i| i.number() == Some(n))
    }
}

impl std::fmt::Display for Interruption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Interruption::Interrupt => "SIGINT",
            Interruption::Terminate => "SIGTERM",
            Interruption::Cancelled => "cancellation",
        })
    }
}

/// Makes SIGINT and SIGTERM request a stop (see [`requested`]) instead of ending the
/// process at once. Without Unix signals this does nothing.
pub fn install_handlers() -> std::io::Result<()> {
    #[cfg(unix)]
    for i in [Interruption::Interrupt, Interruption::Terminate] {
        let n = i.number().unwrap_or_default();
        signal_hook::flag::register_usize(n as i32, Arc::clone(&SIGNAL), n)?;
    }
    Ok(())
}

/// Asks every run of the process to stop, as the signal `i` would (a cancellation has no
/// signal: it is one run's, through its [`Cancel`]).
pub fn request(i: Interruption) {
    if let Some(n) = i.number() {
        SIGNAL.store(n, Ordering::SeqCst);
    }
}

/// The signal that asked the run to stop, if one has.
pub fn requested() -> Option<Interruption> {
    Interruption::from_number(SIGNAL.load(Ordering::SeqCst))
}

/// One run's stop request, shared by its clones: the embedding program calls [`cancel`]
/// (from any thread), the run polls [`requested`](Cancel::requested) between steps and
/// while users' programs run, and stops as it does on SIGINT.
///
/// [`cancel`]: Cancel::cancel
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Asks the run holding this token (or a clone) to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Why the run should stop: a signal to the process first, then this token's request.
    pub fn requested(&self) -> Option<Interruption> {
        requested().or_else(|| self.0.load(Ordering::SeqCst).then_some(Interruption::Cancelled))
    }
}
