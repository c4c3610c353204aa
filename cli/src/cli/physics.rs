//! `fhn steady`, `fhn simulate`, `fhn check`: the physics core on user or random networks.
//!
//! Every numeric option is checked before use (finite, in range), and every reported state is
//! finite: a NaN never reaches the output with exit status 0.

mod check;
mod simulate;
mod steady;

pub use check::{check, CheckArgs};
pub use simulate::{simulate, SimulateArgs};
pub use steady::{steady, SteadyArgs};

use fhn_eqprop::{Error, Result};

/// `Ok(x)` when `x` is finite, else an error naming the option.
pub(crate) fn finite(option: &str, x: f64) -> Result<f64> {
    if x.is_finite() {
        Ok(x)
    } else {
        Err(Error::Invalid(format!(
            "{option} must be a finite number, got {x}"
        )))
    }
}

/// `Ok(x)` when `x` is finite and > 0, else an error naming the option.
pub(crate) fn positive(option: &str, x: f64) -> Result<f64> {
    if finite(option, x)? > 0.0 {
        Ok(x)
    } else {
        Err(Error::Invalid(format!("{option} must be > 0, got {x}")))
    }
}

/// `Ok(x)` when `x` is finite and ≥ 0, else an error naming the option.
pub(crate) fn non_negative(option: &str, x: f64) -> Result<f64> {
    if finite(option, x)? >= 0.0 {
        Ok(x)
    } else {
        Err(Error::Invalid(format!("{option} must be ≥ 0, got {x}")))
    }
}

/// `Ok(n)` when `lo ≤ n ≤ hi`, else an error naming the option and the range.
pub(crate) fn in_range(option: &str, n: usize, lo: usize, hi: usize) -> Result<usize> {
    if (lo..=hi).contains(&n) {
        Ok(n)
    } else {
        Err(Error::Invalid(format!(
            "{option} must be in {lo}..={hi}, got {n}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_checks_name_the_option() {
        assert!(positive("--dt", 0.1).is_ok());
        for bad in [f64::NAN, f64::INFINITY, 0.0, -5.0] {
            let e = positive("--dt", bad).unwrap_err().to_string();
            assert!(e.contains("--dt"), "{e}");
        }
        assert!(non_negative("--noise", 0.0).is_ok());
        assert!(non_negative("--noise", -1e-9).is_err());
        assert!(finite("--delta", f64::NEG_INFINITY).is_err());
        assert!(in_range("--nodes", 3, 3, 10).is_ok());
        assert!(in_range("--nodes", 11, 3, 10).is_err());
    }
}
