//! The crate's error type: every failure names what went wrong and where.

use std::path::PathBuf;

/// Errors reported by the library and the `fhn` command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A structurally invalid model, graph, argument or configuration.
    #[error("invalid input: {0}")]
    Invalid(String),
    /// A file that could not be parsed; `line` is 1-based where known.
    #[error("{}{}: {msg}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Parse {
        /// File.
        path: PathBuf,
        /// Line (1-based) where known.
        line: Option<usize>,
        /// What is wrong.
        msg: String,
    },
    /// An I/O failure on a named file.
    #[error("{}: {source}", path.display())]
    Io {
        /// File.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// An iterative solver stopped before reaching its tolerance.
    #[error("{what} did not converge: residual {residual:.3e} after {iterations} iterations (tolerance {tol:.1e})")]
    NotConverged {
        /// Which solver.
        what: String,
        /// Final residual.
        residual: f64,
        /// Iterations taken.
        iterations: usize,
        /// Requested tolerance.
        tol: f64,
    },
    /// The state became non-finite or ran away.
    #[error("divergence: {0}")]
    Diverged(String),
    /// A matrix that must be inverted is singular (the quantity asked for is not defined).
    #[error("singular: {0}")]
    Singular(String),
    /// A steady state was found but is not linearly stable (asked for a stable one).
    #[error("unstable steady state: {0}")]
    Unstable(String),
    /// A compute backend failed: no GPU or library, a failed launch, a bad buffer view.
    #[error("device: {0}")]
    Device(String),
    /// Training was stopped between batches by an observer (e.g. Ctrl-C in a caller).
    #[error("interrupted: {0}")]
    Interrupted(String),
    /// Another process of a multi-process job failed (its rank and error), or the processes
    /// disagree; every process stops with it.
    #[error("distributed: {0}")]
    Distributed(String),
}

impl Error {
    /// The message of an [`Error::Invalid`] without its prefix (other errors: their display),
    /// for callers that place it in their own context (a file and line).
    pub fn message(self) -> String {
        match self {
            Error::Invalid(m) => m,
            e => e.to_string(),
        }
    }

    /// Wraps an I/O error with the file it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
