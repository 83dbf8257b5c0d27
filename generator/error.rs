//! The one error type: a message for a person, already carrying its context
//! (file, line:column, key). Every error exits with status 2.

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub struct Error(pub String);

pub type Result<T> = std::result::Result<T, Error>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl From<String> for Error {
    fn from(s: String) -> Self {
        Error(s)
    }
}

/// Adds context to I/O-style errors: `"<what>: <cause>"`.
pub trait Context<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: fmt::Display> Context<T> for std::result::Result<T, E> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error(format!("{}: {e}", what())))
    }
}

/// The process exit status for any error.
pub const EXIT_ERROR: i32 = 2;

thread_local! {
    static DECODING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs a third-party decoder on untrusted bytes: a panic inside it becomes
/// `None` (the input's error, not simkit's bug), and [`panic_is_expected`]
/// tells the panic hook not to report it.
pub fn catch_decoder_panic<R>(decode: impl FnOnce() -> R) -> Option<R> {
    DECODING.with(|d| d.set(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(decode));
    DECODING.with(|d| d.set(false));
    result.ok()
}

/// Whether the current thread is inside [`catch_decoder_panic`].
pub fn panic_is_expected() -> bool {
    DECODING.with(|d| d.get())
}
