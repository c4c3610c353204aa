//! `fhn steady`: time stepping, Newton polishing, and an honest report of what was found
//! (did time stepping settle? is the state stable?).

use super::positive;
use crate::cli::print_json;
use clap::Args;
use fhn_eqprop::io::{npy_f64, write_atomic};
use fhn_eqprop::netfile;
use fhn_eqprop::solvers::{steady_state_report, SteadyReport, STEPPING_TOL};
use fhn_eqprop::stability::{stability, Stability, DENSE_LIMIT};
use fhn_eqprop::{Error, Result};
use serde_json::json;
use std::path::PathBuf;

/// Arguments of `fhn steady`.
#[derive(Args)]
pub struct SteadyArgs {
    /// Network file (TOML, see docs/NETWORK_FILE.md).
    file: PathBuf,
    /// Newton tolerance on ‖∂Φ‖∞ (> 0).
    #[arg(long, allow_hyphen_values = true, default_value_t = 1e-12)]
    tol: f64,
    /// Fail (exit 1, nothing written) unless the steady state is linearly stable (every
    /// eigenvalue of the dynamics' Jacobian has a negative real part; at most 600 free nodes).
    #[arg(long)]
    require_stable: bool,
    /// Write u.npy and v.npy into this directory.
    #[arg(long)]
    save: Option<PathBuf>,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

/// The warnings a steady-state result deserves (empty: settled by time stepping, and stable).
fn warnings(rep: &SteadyReport, st: &Stability) -> Vec<String> {
    let mut w = Vec::new();
    if !rep.stepping_converged {
        w.push(format!(
            "time stepping did not settle: residual {:.2e} > {STEPPING_TOL:.0e} at t = {} after \
             {} steps (an oscillation?); Newton polished from the last point",
            rep.stepping.residual, rep.stepping.time, rep.stepping.steps
        ));
    }
    match st.stable {
        Some(true) => {}
        Some(false) => w.push(format!(
            "the steady state is not stable ({}); --require-stable makes this an error",
            st.verdict
        )),
        None => w.push(st.verdict.clone()),
    }
    w
}

/// `fhn steady`.
pub fn steady(a: SteadyArgs) -> Result<()> {
    positive("--tol", a.tol)?;
    let spec = netfile::load(&a.file)?;
    let net = spec.network;
    let nf = net.free_nodes().len();
    if a.require_stable && nf > DENSE_LIMIT {
        return Err(Error::Invalid(format!(
            "--require-stable: stability is only checked up to {DENSE_LIMIT} free nodes \
             (dense eigenvalues); this network has {nf}"
        )));
    }
    let mut s = net.initial_state();
    let t = std::time::Instant::now();
    let rep = steady_state_report(&net, &mut s, None, a.tol)?;
    let st = stability(&net, &s)?;
    let secs = t.elapsed().as_secs_f64();
    if a.require_stable && st.stable != Some(true) {
        return Err(Error::Unstable(format!(
            "{} in {} ({}; residual {:.1e})",
            st.verdict,
            a.file.display(),
            if rep.stepping_converged {
                "time stepping settled"
            } else {
                "time stepping did not settle"
            },
            rep.residual
        )));
    }
    let warn = warnings(&rep, &st);
    for w in &warn {
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "warning: {w}");
    }
    if let Some(dir) = &a.save {
        write_atomic(&dir.join("u.npy"), &npy_f64(&[net.n()], &s.u))?;
        write_atomic(&dir.join("v.npy"), &npy_f64(&[net.n()], &s.v))?;
    }
    if a.json {
        return print_json(&json!({
            "report": {"steps": rep.stepping.steps + rep.newton.steps,
                       "residual": rep.residual, "time": rep.stepping.time},
            "time_stepping": rep.stepping,
            "time_stepping_converged": rep.stepping_converged,
            "newton": rep.newton,
            "stable": st.stable,
            "max_growth_rate": st.max_growth_rate,
            "stability": st.verdict,
            "warnings": warn,
            "seconds": secs,
            "u": s.u,
            "v": s.v,
        }));
    }
    outln!("steady state of {} ({} nodes)", a.file.display(), net.n());
    outln!("  residual ‖∂Φ‖∞ = {:.3e} ({secs:.3} s)", rep.residual);
    outln!(
        "  time stepping: {} steps to t = {:.4}, residual {:.2e} ({})",
        rep.stepping.steps,
        rep.stepping.time,
        rep.stepping.residual,
        if rep.stepping_converged {
            format!("settled: ≤ {STEPPING_TOL:.0e}")
        } else {
            format!("DID NOT SETTLE: > {STEPPING_TOL:.0e}")
        }
    );
    outln!("  Newton polishing: {} iterations", rep.newton.steps);
    outln!("  stability: {}", st.verdict);
    for i in 0..net.n().min(20) {
        outln!("  node {i:>4}: u = {:>+.6}  v = {:>+.6}", s.u[i], s.v[i]);
    }
    if net.n() > 20 {
        outln!("  … ({} more; use --json or --save)", net.n() - 20);
    }
    Ok(())
}
