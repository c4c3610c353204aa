//! Newton's method on ∇Φ(+βC) = 0 with a pluggable linear solver and a line search that is
//! never weaker than undamped Newton.

use crate::error::{Error, Result};
use crate::network::{first_non_finite, Cost, FhnNetwork, State};
use crate::solvers::SolveReport;
use faer::prelude::*;
use faer::Mat;

/// A linear solver for the Newton step: solves `H(s) x = g` over the free variables.
pub type LinearSolve<'a> =
    &'a dyn Fn(&FhnNetwork, &State, Option<(&Cost, f64)>, &[f64]) -> Result<Vec<f64>>;

/// Dense LU with partial pivoting for at most 1 200 unknowns, faer's sparse LU above.
pub fn default_linear_solve(
    net: &FhnNetwork,
    s: &State,
    nudge: Option<(&Cost, f64)>,
    g: &[f64],
) -> Result<Vec<f64>> {
    const DENSE_LIMIT: usize = 1200;
    let rhs = Mat::from_fn(g.len(), 1, |r, _| g[r]);
    let x = if g.len() <= DENSE_LIMIT {
        net.hessian_dense(s, nudge).partial_piv_lu().solve(&rhs)
    } else {
        let lu = net
            .hessian_sparse(s, nudge)
            .sp_lu()
            .map_err(|e| Error::Singular(format!("Hessian in Newton (sparse LU): {e:?}")))?;
        lu.solve(&rhs)
    };
    Ok((0..g.len()).map(|r| x[(r, 0)]).collect())
}

/// Newton's method on ∇Φ(+βC) = 0 from `s`, with backtracking on the residual.
pub fn newton(
    net: &FhnNetwork,
    s: &mut State,
    nudge: Option<(&Cost, f64)>,
    tol: f64,
    max_iter: usize,
) -> Result<SolveReport> {
    newton_with(net, s, nudge, tol, max_iter, &default_linear_solve)
}

/// Newton's method with a caller-chosen linear solver (e.g. the block-tridiagonal sweep).
///
/// Globalised by backtracking on the merit ‖∂Φ‖₂ (for which the Newton step is a descent
/// direction), full step first; when backtracking stalls (no sufficient decrease down to a step
/// of 1/1024) the full step is taken anyway. If that run fails, plain undamped Newton and then
/// backtracking on ‖∂Φ‖∞ (this crate's earlier strategy) are retried from the starting point:
/// the result is never weaker than either. A non-finite state or step is [`Error::Diverged`];
/// when every strategy fails, the first one's error is returned and `s` holds its last iterate.
pub fn newton_with(
    net: &FhnNetwork,
    s: &mut State,
    nudge: Option<(&Cost, f64)>,
    tol: f64,
    max_iter: usize,
    solve: LinearSolve,
) -> Result<SolveReport> {
    if let Some(at) = first_non_finite(s) {
        return Err(Error::Diverged(format!(
            "Newton: non-finite starting state: {at}"
        )));
    }
    let start = s.clone();
    let first = match newton_iterate(net, s, nudge, tol, max_iter, solve, Line::L2) {
        Err(e @ (Error::NotConverged { .. } | Error::Diverged(_) | Error::Singular(_))) => e,
        other => return other,
    };
    for line in [Line::Full, Line::MaxNorm] {
        let mut retry = start.clone();
        if let Ok(r) = newton_iterate(net, &mut retry, nudge, tol, max_iter, solve, line) {
            *s = retry;
            return Ok(r);
        }
    }
    Err(first)
}

/// How a Newton step is shortened.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Line {
    /// Armijo backtracking on ‖∂Φ‖₂ down to 1/1024, else the full step.
    L2,
    /// Always the full step (undamped Newton).
    Full,
    /// Halving until ‖∂Φ‖∞ decreases, any finite step below 1e-3.
    MaxNorm,
}

/// One Newton run with the step rule `line` (see [`newton_with`]).
fn newton_iterate(
    net: &FhnNetwork,
    s: &mut State,
    nudge: Option<(&Cost, f64)>,
    tol: f64,
    max_iter: usize,
    solve: LinearSolve,
    line: Line,
) -> Result<SolveReport> {
    let merit_of = |st: &State| match line {
        Line::MaxNorm => net.residual(st, nudge),
        Line::L2 | Line::Full => net.residual_l2(st, nudge),
    };
    let mut residual = net.residual(s, nudge);
    let mut merit = merit_of(s);
    for iter in 0..max_iter {
        if residual <= tol {
            return Ok(SolveReport {
                steps: iter,
                residual,
                time: 0.0,
            });
        }
        let (gu, gv) = net.gradient(s, nudge);
        let step = solve(net, s, nudge, &net.gather(&gu, &gv))?;
        if let Some(k) = step.iter().position(|x| !x.is_finite()) {
            return Err(Error::Diverged(format!(
                "Newton iteration {iter}: non-finite step (entry {k}; singular Hessian?)"
            )));
        }
        let (du, dv) = net.scatter(&step);
        let trial_at = |alpha: f64| {
            let mut trial = s.clone();
            for &i in net.free_nodes() {
                trial.u[i] -= alpha * du[i];
                trial.v[i] -= alpha * dv[i];
            }
            let m = merit_of(&trial);
            (trial, m)
        };
        let (full, full_merit) = trial_at(1.0);
        let mut accepted = None;
        match line {
            Line::Full => {}
            Line::L2 if full_merit <= (1.0 - 1e-4) * merit => {}
            Line::L2 => {
                let mut alpha = 0.5;
                while alpha >= 1.0 / 1024.0 {
                    let (trial, m) = trial_at(alpha);
                    if m <= (1.0 - 1e-4 * alpha) * merit {
                        accepted = Some((trial, m));
                        break;
                    }
                    alpha *= 0.5;
                }
            }
            Line::MaxNorm if full_merit < merit => {}
            Line::MaxNorm => {
                let mut alpha = 0.5;
                while alpha >= 1e-12 {
                    let (trial, m) = trial_at(alpha);
                    if m.is_finite() && (m < merit || alpha < 1e-3) {
                        accepted = Some((trial, m));
                        break;
                    }
                    alpha *= 0.5;
                }
            }
        }
        // Full step: sufficient decrease, undamped mode, or backtracking stalled.
        let (next, m) = accepted.unwrap_or((full, full_merit));
        if !m.is_finite() {
            let at = first_non_finite(&next).unwrap_or_else(|| "gradient".into());
            return Err(Error::Diverged(format!(
                "Newton iteration {iter}: the step leads to a non-finite state ({at})"
            )));
        }
        *s = next;
        merit = m;
        residual = net.residual(s, nudge);
    }
    if residual <= tol {
        return Ok(SolveReport {
            steps: max_iter,
            residual,
            time: 0.0,
        });
    }
    Err(Error::NotConverged {
        what: "Newton".into(),
        residual,
        iterations: max_iter,
        tol,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Graph;
    use crate::model::FhnParams;
    use crate::network::Clamp;
    use crate::solvers::steady_state;

    /// A Turing-unstable path (δ = 0.5) with one clamp and two outputs: the β = 0.1 nudged
    /// solve from the free state used to stall in the ∞-norm backtracking (residual 2e-2 after
    /// 50 iterations), which made `check gradient` abort.
    #[test]
    fn newton_is_not_weaker_than_undamped_newton_on_a_turing_network() {
        let n = 60;
        let mut p = FhnParams::table1();
        p.d_u = 0.25;
        let g = Graph::path(n, 1.0);
        let mut current = vec![0.0; n];
        current[3] = 0.05;
        let clamp = Clamp {
            node: 0,
            u: 0.3,
            v: 0.1,
        };
        let net = FhnNetwork::new(p, g.clone(), g, current, vec![clamp]).unwrap();
        let mut free = net.initial_state();
        steady_state(&net, &mut free, None, 1e-13).unwrap();
        let cost = Cost {
            outputs: vec![30, 59],
            targets: vec![0.5, -0.3],
        };
        for beta in [0.1, -0.1] {
            let mut s = free.clone();
            let r = newton(&net, &mut s, Some((&cost, beta)), 1e-13, 50);
            assert!(r.is_ok(), "β = {beta}: {r:?}");
        }
    }

    #[test]
    fn a_non_finite_start_or_step_is_diverged_not_a_hang() {
        let g = Graph::path(3, 1.0);
        let net = FhnNetwork::new(FhnParams::table1(), g.clone(), g, vec![0.0; 3], vec![]).unwrap();
        let mut s = net.initial_state();
        s.v[2] = f64::NAN;
        let e = newton(&net, &mut s, None, 1e-12, 50).unwrap_err();
        assert!(
            matches!(&e, Error::Diverged(m) if m.contains("v at node 2")),
            "{e}"
        );
        // An infinite nudge makes every trial step non-finite.
        let cost = Cost {
            outputs: vec![1],
            targets: vec![0.5],
        };
        let mut s = net.initial_state();
        let e = newton(&net, &mut s, Some((&cost, f64::INFINITY)), 1e-12, 50).unwrap_err();
        assert!(matches!(e, Error::Diverged(_)), "{e}");
    }
}
