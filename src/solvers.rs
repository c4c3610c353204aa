//! How a network reaches a steady state: explicit Euler (the paper's step 0.1), adaptive
//! Dormand–Prince 5(4), and Newton's method on ∇Φ = 0 (dense LU for small networks, sparse LU
//! otherwise). Every solver reports the residual ‖∂Φ/∂(u, v)‖∞.

use crate::error::{Error, Result};
use crate::network::{first_non_finite, Cost, FhnNetwork, State};

mod newton;
pub use newton::{default_linear_solve, newton, newton_with, LinearSolve};

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
    match first_non_finite(s) {
        Some(at) => Err(Error::Diverged(format!(
            "non-finite state at Euler step {step}: {at}"
        ))),
        None => Ok(()),
    }
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
                let r = (e / sc).abs();
                // A NaN must not be dropped by `max` (it would accept a NaN step).
                err = if r.is_nan() {
                    f64::INFINITY
                } else {
                    err.max(r)
                };
            }
        }
        if !err.is_finite() {
            let at = first_non_finite(&tmp).unwrap_or_else(|| "error estimate".into());
            return Err(Error::Diverged(format!(
                "non-finite state at t = {t:.4} (step {steps}): {at}"
            )));
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

/// Residual at which [`steady_state`] hands over from time stepping to Newton.
pub const STEPPING_TOL: f64 = 1e-6;
/// Longest simulated time of [`steady_state`]'s time stepping.
pub const STEPPING_T_MAX: f64 = 2000.0;

/// What [`steady_state_report`] did: time stepping, then Newton polishing.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct SteadyReport {
    /// The adaptive time stepping.
    pub stepping: SolveReport,
    /// Whether time stepping itself reached [`STEPPING_TOL`] (false: it ran to
    /// [`STEPPING_T_MAX`] without settling, e.g. on a limit cycle, and Newton started from
    /// wherever the trajectory was).
    pub stepping_converged: bool,
    /// The Newton polishing.
    pub newton: SolveReport,
    /// Final residual ‖∂Φ‖∞.
    pub residual: f64,
}

/// A steady state: adaptive time stepping from `s` until the residual is below
/// [`STEPPING_TOL`] (or `t` = [`STEPPING_T_MAX`]), then Newton polishing to `tol`. The state may
/// be any critical point of Φ: Newton does not care about stability (see
/// [`crate::stability`]).
pub fn steady_state_report(
    net: &FhnNetwork,
    s: &mut State,
    nudge: Option<(&Cost, f64)>,
    tol: f64,
) -> Result<SteadyReport> {
    let opts = AdaptiveOptions {
        rtol: 1e-6,
        atol: 1e-9,
        stop_residual: STEPPING_TOL,
        max_steps: 200_000,
    };
    let stepping = dopri45(net, s, nudge, STEPPING_T_MAX, opts, |_, _| {})?;
    let settled = stepping.residual <= STEPPING_TOL;
    let newton = newton(net, s, nudge, tol, 50).map_err(|e| match e {
        Error::NotConverged {
            what,
            residual,
            iterations,
            tol,
        } if !settled => Error::NotConverged {
            what: format!(
                "{what} (started where time stepping stopped without settling: residual \
                 {:.1e} at t = {})",
                stepping.residual, stepping.time
            ),
            residual,
            iterations,
            tol,
        },
        e => e,
    })?;
    if let Some(at) = first_non_finite(s) {
        return Err(Error::Diverged(format!("steady state: {at}")));
    }
    Ok(SteadyReport {
        stepping,
        stepping_converged: settled,
        newton,
        residual: newton.residual,
    })
}

/// [`steady_state_report`] summarised: steps of both phases, final residual, simulated time.
pub fn steady_state(
    net: &FhnNetwork,
    s: &mut State,
    nudge: Option<(&Cost, f64)>,
    tol: f64,
) -> Result<SolveReport> {
    let r = steady_state_report(net, s, nudge, tol)?;
    Ok(SolveReport {
        steps: r.stepping.steps + r.newton.steps,
        residual: r.residual,
        time: r.stepping.time,
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
    fn an_overflowing_state_is_an_error_not_a_nan_result() {
        use crate::graph::Graph;
        use crate::model::FhnParams;
        use crate::network::Clamp;
        let g = Graph::path(2, 1.0);
        let clamp = Clamp {
            node: 0,
            u: 1e200,
            v: 0.0,
        };
        let net =
            FhnNetwork::new(FhnParams::table1(), g.clone(), g, vec![0.0; 2], vec![clamp]).unwrap();
        // A NaN must not pass as a residual of 0 (f64::max drops NaN).
        let nan = State {
            u: vec![1e200, f64::NAN],
            v: vec![0.0, f64::NAN],
        };
        assert_eq!(net.residual(&nan, None), f64::INFINITY);
        let mut s = net.initial_state();
        let opts = AdaptiveOptions::default();
        let e = dopri45(&net, &mut s, None, 1.0, opts, |_, _| {}).unwrap_err();
        assert!(
            matches!(&e, Error::Diverged(m) if m.contains("node 1")),
            "{e}"
        );
        let mut s = net.initial_state();
        let e = steady_state(&net, &mut s, None, 1e-12).unwrap_err();
        assert!(matches!(e, Error::Diverged(_)), "{e}");
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
