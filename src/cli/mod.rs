//! Subcommand implementations.

pub mod bench;
pub mod hamiltonian;
pub mod physics;
pub mod train;

use fhn_eqprop::{Error, Result};
use serde::Serialize;
use std::path::Path;

/// Prints `value` as pretty JSON.
pub fn print_json<T: Serialize>(value: &T) -> Result<()> {
    let s = serde_json::to_string_pretty(value).map_err(|e| Error::Invalid(e.to_string()))?;
    println!("{s}");
    Ok(())
}

/// Writes `value` as pretty JSON to `path`, atomically (never half-written).
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let body = serde_json::to_vec_pretty(value).map_err(|e| Error::Invalid(e.to_string()))?;
    fhn_eqprop::io::write_atomic(path, &body)
}
