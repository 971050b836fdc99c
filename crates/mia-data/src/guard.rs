//! Catching panics of third-party decoders (Parquet, ONNX through tract) on corrupt input.
//!
//! A decoder this project does not own can panic on a mangled file (a missing map key, an
//! arithmetic overflow on a corrupt length). Readers run such a decoder through
//! [`catch_decoder_panic`], which turns the panic into an error message, so a bad file is a
//! one-line input error and never a crash. The default panic hook would still print "thread
//! panicked at ..." to stderr; the first use installs a hook that defers to the previous one
//! except on a thread inside the guard.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// Runs `decode`; a panic inside it becomes `Err` with the panic's message.
pub fn catch_decoder_panic<T>(decode: impl FnOnce() -> T) -> Result<T, String> {
    let result = {
        let _quiet = QuietPanics::enter();
        catch_unwind(AssertUnwindSafe(decode))
    };
    result.map_err(|panic| {
        panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "decoder failure".to_string())
    })
}

/// While alive, panics on this thread are not printed by the panic hook. Holds the previous
/// state, so guards nest.
struct QuietPanics(bool);

impl QuietPanics {
    fn enter() -> Self {
        static INSTALL: Once = Once::new();
        INSTALL.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                if !QUIET.with(Cell::get) {
                    previous(info);
                }
            }));
        });
        QuietPanics(QUIET.with(|q| q.replace(true)))
    }
}

impl Drop for QuietPanics {
    fn drop(&mut self) {
        QUIET.with(|q| q.set(self.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_its_message_and_a_value_passes_through() {
        assert_eq!(catch_decoder_panic(|| 7), Ok(7));
        assert_eq!(catch_decoder_panic(|| -> u8 { panic!("bad length {}", 3) }), Err("bad length 3".to_string()));
        let nested = catch_decoder_panic(|| {
            let inner = catch_decoder_panic(|| -> u8 { panic!("inner") });
            assert!(QUIET.with(Cell::get), "the outer guard is still quiet after the inner one");
            inner
        });
        assert_eq!(nested, Ok(Err("inner".to_string())));
        assert!(!QUIET.with(Cell::get));
    }
}
