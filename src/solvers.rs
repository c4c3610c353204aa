//! How a network reaches a steady state: explicit Euler (the paper's step 0.1), adaptive
//! Dormand–Prince 5(4), and Newton's method on ∇Φ = 0 (dense LU for small networks, sparse LU
//! otherwise). Every solver reports the residual ‖∂Φ/∂(u, v)‖∞.

use crate::error::{Error, Result};
use crate::network::{Cost, FhnNetwork, State};
use faer::prelude::*;
use faer::Mat;

/// Outcome of a solver run.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct SolveReport {
    /// Steps (time stepping) or iterations (Newton).
    pub steps: usize,
    /// Final residual ‖∂Φ/∂(u, v)‖∞.
    pub residual: f64,
    /// Simulated time (time stepping only).
    pub time: f64,
}

fn check_finite(s: &State, step: usize) -> Result<()> {
    if let Some(i) = s.u.iter().chain(&s.v).position(|x| !x.is_finite()) {
        return Err(Error::Diverged(format!(
            "non-finite state at step {step} (entry {i})"
        )));
    }
    Ok(())
}

/// Explicit Euler: `steps` steps of size `dt`, in place, allocation-free inner loop.
pub fn euler(
    net: &FhnNetwork,
    s: &mut State,
    nudge: Option<(&Cost, f64)>,
    dt: f64,
    steps: usize,
) -> Result<SolveReport> {
    let n = net.n();
    let (mut du, mut dv) = (vec![0.0; n], vec![0.0; n]);
    for step in 0..steps {
        net.velocity_into(s, nudge, &mut du, &mut dv);
        for i in 0..n {
            s.u[i] += dt * du[i];
            s.v[i] += dt * dv[i];
        }
        if step % 64 == 63 {
            check_finite(s, step)?;
        }
    }
    check_finite(s, steps)?;
    Ok(SolveReport {
        steps,
        residual: net.residual(s, nudge),
        time: dt * steps as f64,
    })
}

/// Options of the adaptive integrator.
#[derive(Clone, Copy, Debug)]
pub struct AdaptiveOptions {
    /// Relative tolerance per step.
    pub rtol: f64,
    /// Absolute tolerance per step.
    pub atol: f64,
    /// Stop early once the residual falls below this (checked every accepted step).
    pub stop_residual: f64,
    /// Maximal number of accepted + rejected steps.
    pub max_steps: usize,
}

impl Default for AdaptiveOptions {
    fn default() -> Self {
        Self {
            rtol: 1e-8,
            atol: 1e-10,
            stop_residual: 0.0,
            max_steps: 1_000_000,
        }
    }
}

// Dormand–Prince 5(4) tableau (autonomous system: the nodes c_i are not needed).
const A: [[f64; 6]; 7] = [
    [0.0; 6],
    [0.2, 0.0, 0.0, 0.0, 0.0, 0.0],
    [3.0 / 40.0, 9.0 / 40.0, 0.0, 0.0, 0.0, 0.0],
    [44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0, 0.0, 0.0, 0.0],
    [
        19372.0 / 6561.0,
        -25360.0 / 2187.0,
        64448.0 / 6561.0,
        -212.0 / 729.0,
        0.0,
        0.0,
    ],
    [
        9017.0 / 3168.0,
        -355.0 / 33.0,
        46732.0 / 5247.0,
        49.0 / 176.0,
        -5103.0 / 18656.0,
        0.0,
    ],
    [
        35.0 / 384.0,
        0.0,
        500.0 / 1113.0,
        125.0 / 192.0,
        -2187.0 / 6784.0,
        11.0 / 84.0,
    ],
];
const B5: [f64; 7] = [
    35.0 / 384.0,
    0.0,
    500.0 / 1113.0,
    125.0 / 192.0,
    -2187.0 / 6784.0,
    11.0 / 84.0,
    0.0,
];
const B4: [f64; 7] = [
    5179.0 / 57600.0,
    0.0,
    7571.0 / 16695.0,
    393.0 / 640.0,
    -92097.0 / 339200.0,
    187.0 / 2100.0,
    1.0 / 40.0,
];

/// Adaptive Dormand–Prince 5(4) integration up to time `t_end` (or until the residual drops
/// below `opts.stop_residual`). `observe(t, state)` is called after every accepted step.
pub fn dopri45(
    net: &FhnNetwork,
    s: &mut State,
    nudge: Option<(&Cost, f64)>,
    t_end: f64,
    opts: AdaptiveOptions,
    mut observe: impl FnMut(f64, &State),
) -> Result<SolveReport> {
    let n = net.n();
    let mut k: Vec<(Vec<f64>, Vec<f64>)> = (0..7).map(|_| (vec![0.0; n], vec![0.0; n])).collect();
    let mut tmp = State::zeros(n);
    let (mut t, mut h, mut steps) = (0.0, 0.01f64.min(t_end), 0usize);
    {
        let (ku, kv) = &mut k[0];
        net.velocity_into(s, nudge, ku, kv);
    }
    let mut residual = net.residual(s, nudge);
    while t < t_end && residual > opts.stop_residual {
        if steps >= opts.max_steps {
            return Err(Error::NotConverged {
                what: "adaptive integrator".into(),
                residual,
                iterations: steps,
                tol: opts.stop_residual,
            });
        }
        steps += 1;
        h = h.min(t_end - t);
        for stage in 1..7 {
            for i in 0..n {
                let (mut au, mut av) = (s.u[i], s.v[i]);
                for (j, kj) in k.iter().enumerate().take(stage) {
                    au += h * A[stage][j] * kj.0[i];
                    av += h * A[stage][j] * kj.1[i];
                }
                tmp.u[i] = au;
                tmp.v[i] = av;
            }
            net.apply_clamps(&mut tmp);
            let (ku, kv) = &mut k[stage];
            net.velocity_into(&tmp, nudge, ku, kv);
        }
        // tmp now holds the 5th-order solution (FSAL: k[6] is its velocity).
        let mut err: f64 = 0.0;
        for i in 0..n {
            for (x0, x5, comp) in [(s.u[i], tmp.u[i], 0), (s.v[i], tmp.v[i], 1)] {
                let e: f64 = (0..7)
                    .map(|j| h * (B5[j] - B4[j]) * if comp == 0 { k[j].0[i] } else { k[j].1[i] })
                    .sum();
                let sc = opts.atol + opts.rtol * x0.abs().max(x5.abs());
                err = err.max((e / sc).abs());
            }
        }
        if !err.is_finite() {
            return Err(Error::Diverged(format!("non-finite state at t = {t:.4}")));
        }
        if err <= 1.0 {
            t += h;
            std::mem::swap(s, &mut tmp);
            k.swap(0, 6);
            residual = net.residual(s, nudge);
            observe(t, s);
        }
        let factor = if err == 0.0 {
            5.0
        } else {
            0.9 * err.powf(-0.2)
        };
        h *= factor.clamp(0.2, 5.0);
    }
    Ok(SolveReport {
        steps,
        residual,
        time: t,
    })
}

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
            .map_err(|e| Error::Diverged(format!("singular Hessian in Newton: {e:?}")))?;
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
pub fn newton_with(
    net: &FhnNetwork,
    s: &mut State,
    nudge: Option<(&Cost, f64)>,
    tol: f64,
    max_iter: usize,
    solve: LinearSolve,
) -> Result<SolveReport> {
    let mut residual = net.residual(s, nudge);
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
        let (du, dv) = net.scatter(&step);
        let mut alpha = 1.0;
        loop {
            let mut trial = s.clone();
            for &i in net.free_nodes() {
                trial.u[i] -= alpha * du[i];
                trial.v[i] -= alpha * dv[i];
            }
            let r = net.residual(&trial, nudge);
            if r.is_finite() && (r < residual || alpha < 1e-3) {
                *s = trial;
                residual = r;
                break;
            }
            alpha *= 0.5;
        }
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

/// A steady state: adaptive time stepping from `s` until the residual is below `guess_tol`
/// (or `t_max`), then Newton polishing to `tol`.
pub fn steady_state(
    net: &FhnNetwork,
    s: &mut State,
    nudge: Option<(&Cost, f64)>,
    tol: f64,
) -> Result<SolveReport> {
    let opts = AdaptiveOptions {
        rtol: 1e-6,
        atol: 1e-9,
        stop_residual: 1e-6,
        max_steps: 200_000,
    };
    let stepped = dopri45(net, s, nudge, 2000.0, opts, |_, _| {})?;
    let polished = newton(net, s, nudge, tol, 50)?;
    Ok(SolveReport {
        steps: stepped.steps + polished.steps,
        residual: polished.residual,
        time: stepped.time,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::tests::random_network;

    #[test]
    fn newton_reaches_1e12_and_time_stepping_agrees() {
        let net = random_network(40, 11);
        let mut s = net.initial_state();
        let rep = steady_state(&net, &mut s, None, 1e-12).unwrap();
        assert!(rep.residual <= 1e-12, "{rep:?}");
        // Euler at a small step converges to the same stable state.
        let mut e = net.initial_state();
        let r = euler(&net, &mut e, None, 0.05, 40_000).unwrap();
        assert!(r.residual < 1e-8, "{r:?}");
        let d =
            s.u.iter()
                .zip(&e.u)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
        assert!(d < 1e-7, "Euler and Newton differ by {d}");
    }

    #[test]
    fn sparse_and_dense_newton_agree() {
        let net = random_network(700, 12);
        let mut s = net.initial_state();
        let rep = steady_state(&net, &mut s, None, 1e-12).unwrap();
        assert!(rep.residual <= 1e-12);
        let h = net.hessian_sparse(&s, None);
        assert_eq!(h.nrows(), 2 * 699);
    }

    #[test]
    fn divergence_is_reported() {
        let mut net = random_network(10, 1);
        net = net.with_params(&net.params_vec().iter().map(|g| g * 1e3).collect::<Vec<_>>());
        let mut s = net.initial_state();
        let err = euler(&net, &mut s, None, 1.0, 1000).unwrap_err();
        assert!(err.to_string().contains("non-finite"), "{err}");
    }
}
