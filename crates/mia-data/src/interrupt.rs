//! A request to stop: SIGINT (Ctrl-C) or SIGTERM (what Slurm and Kubernetes send on
//! preemption) turned into a flag the run checks, so an interrupted audit stops cleanly
//! instead of dying mid-step.
//!
//! The `mia` binary installs the handlers ([`install_handlers`]); a handler only records
//! which signal arrived. The external-command runner ([`crate::external`]) polls
//! [`requested`] while a user's program runs and then kills the program's process group;
//! the pipeline checks it before each model, so finished models stay stored and a rerun
//! resumes. A program embedding the library can ask for the same stop with [`request`].

use std::sync::atomic::{AtomicUsize, Ordering};
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
}

impl Interruption {
    /// The signal's number (the same on Linux, macOS and the BSDs).
    fn number(self) -> usize {
        match self {
            Interruption::Interrupt => 2,
            Interruption::Terminate => 15,
        }
    }

    /// The exit status of a process stopped by this signal, as shells report it: 128 + its number.
    pub fn exit_code(self) -> u8 {
        128 + self.number() as u8
    }

    fn from_number(n: usize) -> Option<Interruption> {
        [Interruption::Interrupt, Interruption::Terminate].into_iter().find(|i| i.number() == n)
    }
}

impl std::fmt::Display for Interruption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Interruption::Interrupt => "SIGINT",
            Interruption::Terminate => "SIGTERM",
        })
    }
}

/// Makes SIGINT and SIGTERM request a stop (see [`requested`]) instead of ending the
/// process at once. Without Unix signals this does nothing.
pub fn install_handlers() -> std::io::Result<()> {
    #[cfg(unix)]
    for i in [Interruption::Interrupt, Interruption::Terminate] {
        signal_hook::flag::register_usize(i.number() as i32, Arc::clone(&SIGNAL), i.number())?;
    }
    Ok(())
}

/// Asks the run to stop, as the signal `i` would.
pub fn request(i: Interruption) {
    SIGNAL.store(i.number(), Ordering::SeqCst);
}

/// The signal that asked the run to stop, if one has.
pub fn requested() -> Option<Interruption> {
    Interruption::from_number(SIGNAL.load(Ordering::SeqCst))
}
