//! Subcommand implementations.

/// `println!` that never panics: once stdout is closed (`fhn … | head -3`), output stops
/// quietly and the command goes on (training is never aborted because a reader went away).
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::out_line(format_args!($($arg)*))
    };
}

pub mod bench;
pub mod echo;
pub mod echo_train;
pub mod export;
pub mod hamiltonian;
pub mod hardware;
pub mod job;
pub mod physics;
pub mod solvers;
pub mod sweep;
pub mod train;

use fhn_eqprop::backend::DeviceKind;
use fhn_eqprop::{Error, Result};
use serde::Serialize;
use std::path::Path;

/// Writes one line to stdout; a closed pipe or any other write error silences stdout for the
/// rest of the process instead of panicking.
pub fn out_line(args: std::fmt::Arguments) {
    use std::io::Write;
    use std::sync::atomic::{AtomicBool, Ordering};
    static CLOSED: AtomicBool = AtomicBool::new(false);
    if CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{args}").and_then(|_| out.flush()).is_err() {
        CLOSED.store(true, Ordering::Relaxed);
    }
}

static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The command's error has been reported elsewhere (by rank 0 of a job): exit with status 1
/// without printing it again.
pub fn quiet_errors() {
    QUIET.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Whether [`quiet_errors`] was called.
pub fn errors_are_quiet() -> bool {
    QUIET.load(std::sync::atomic::Ordering::Relaxed)
}

/// Prints `value` as pretty JSON.
pub fn print_json<T: Serialize>(value: &T) -> Result<()> {
    let s = serde_json::to_string_pretty(value).map_err(|e| Error::Invalid(e.to_string()))?;
    outln!("{s}");
    Ok(())
}

/// Writes `value` as pretty JSON to `path`, atomically (never half-written).
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let body = serde_json::to_vec_pretty(value).map_err(|e| Error::Invalid(e.to_string()))?;
    fhn_eqprop::io::write_atomic(path, &body)
}

/// `--device`: the library's [`DeviceKind`] names, listed in `--help` and in usage errors.
pub fn device_kind() -> impl clap::builder::TypedValueParser<Value = DeviceKind> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(["cpu", "host", "cuda"])
        .map(|s| s.parse::<DeviceKind>().unwrap_or_default())
}
