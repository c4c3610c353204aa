//! Turing instability on graphs (paper Fig. 1A; docs/MODEL.md §4).
//!
//! Around a homogeneous steady state (u₀, v₀), the graph-Laplacian eigenmode with eigenvalue
//! q ≥ 0 evolves with the 2×2 matrix
//! `J_q = [[(a − d_u q)/τ_u, −1/τ_u], [ε/τ_v, −(εα + d_v q)/τ_v]]`, a = 1 − 3u₀²,
//! see [`FhnParams::mode_growth_rate`]. The state is Turing-unstable on a graph when it is
//! stable for q = 0 but some Laplacian eigenvalue q of the graph has a positive growth rate.

use crate::error::Result;
use crate::graph::Graph;
use crate::model::FhnParams;
use crate::network::{FhnNetwork, State};
use crate::solvers::{dopri45, AdaptiveOptions};
use faer::Side;
use rand::{Rng, SeedableRng};
use serde::Serialize;

/// Laplacian eigenvalues of the unit path graph of n nodes (Neumann ends): 4 sin²(πj/2n).
pub fn path_eigenvalues(n: usize) -> Vec<f64> {
    (0..n)
        .map(|j| {
            4.0 * (std::f64::consts::PI * j as f64 / (2.0 * n as f64))
                .sin()
                .powi(2)
        })
        .collect()
}

/// Laplacian eigenvalues of any graph (dense symmetric eigensolver).
pub fn graph_eigenvalues(g: &Graph) -> Vec<f64> {
    g.laplacian_dense()
        .self_adjoint_eigenvalues(Side::Lower)
        .expect("symmetric eigenvalues")
}

/// Critical δ of the Parra-Rivas form (d_u = δ², d_v = τ = 1) at homogeneous state u₀:
/// δ_c = (1 − √D)/(α√ε), D = 1 − α(1 − 3u₀²). Turing-unstable for δ < δ_c.
pub fn critical_delta(eps: f64, alpha: f64, u0: f64) -> f64 {
    let d = 1.0 - alpha * crate::model::Local::<f64>::slope(u0);
    (1.0 - d.sqrt()) / (alpha * eps.sqrt())
}

/// Linear analysis of one homogeneous state on a set of Laplacian eigenvalues.
#[derive(Clone, Debug, Serialize)]
pub struct Dispersion {
    /// Homogeneous state u₀.
    pub u0: f64,
    /// Homogeneous state v₀.
    pub v0: f64,
    /// Growth rate of the uniform mode (q = 0).
    pub rate_uniform: f64,
    /// Index of the fastest-growing eigenvalue.
    pub fastest_mode: usize,
    /// Its eigenvalue q.
    pub fastest_q: f64,
    /// Its growth rate.
    pub fastest_rate: f64,
    /// Number of modes with positive growth rate.
    pub unstable_modes: usize,
    /// Stable to uniform perturbations but unstable to some mode.
    pub turing_unstable: bool,
}

/// Dispersion relation of every homogeneous state on the eigenvalues `qs`.
pub fn dispersion(p: &FhnParams, qs: &[f64]) -> Vec<Dispersion> {
    p.homogeneous_states()
        .into_iter()
        .map(|(u0, v0)| {
            let rates: Vec<f64> = qs.iter().map(|&q| p.mode_growth_rate(u0, q)).collect();
            let (fastest_mode, &fastest_rate) = rates
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .expect("at least one mode");
            let rate_uniform = p.mode_growth_rate(u0, 0.0);
            let unstable_modes = rates.iter().filter(|&&r| r > 0.0).count();
            Dispersion {
                u0,
                v0,
                rate_uniform,
                fastest_mode,
                fastest_q: qs[fastest_mode],
                fastest_rate,
                unstable_modes,
                turing_unstable: rate_uniform < 0.0 && unstable_modes > 0,
            }
        })
        .collect()
}

/// Result of the Turing-pattern simulation on a path graph.
#[derive(Clone, Debug, Serialize)]
pub struct TuringRun {
    /// Nodes of the path graph.
    pub nodes: usize,
    /// Parameters used.
    pub params: FhnParams,
    /// Linear analysis of the starting state.
    pub dispersion: Dispersion,
    /// Growth rate of the dominant mode fitted on the early (linear) phase.
    pub measured_rate: f64,
    /// |measured − predicted| / predicted.
    pub rate_relative_error: f64,
    /// Time window [t₀, t₁] of the fit.
    pub fit_window: (f64, f64),
    /// Simulated time.
    pub t_end: f64,
    /// Residual ‖∂Φ‖∞ of the final state (stationarity).
    pub final_residual: f64,
    /// Final activator profile.
    pub final_u: Vec<f64>,
    /// Number of sign changes of u − u₀ in the final profile (pattern wavelength indicator).
    pub sign_changes: usize,
    /// Snapshots of u for the space-time figure.
    #[serde(skip)]
    pub snapshots: Vec<Vec<f64>>,
}

/// Simulates a path graph of `n` nodes from noise of size `noise` around the homogeneous state
/// with u₀ > 0 (Turing-unstable for the demo parameters) until `t_end`.
pub fn simulate_path(
    p: FhnParams,
    n: usize,
    t_end: f64,
    noise: f64,
    seed: u64,
) -> Result<TuringRun> {
    let qs = path_eigenvalues(n);
    let disp = dispersion(&p, &qs)
        .into_iter()
        .filter(|d| d.rate_uniform < 0.0)
        .max_by(|a, b| a.u0.total_cmp(&b.u0))
        .ok_or_else(|| crate::Error::Invalid("no stable homogeneous state".into()))?;
    let g = Graph::path(n, 1.0);
    let net = FhnNetwork::new(p, g.clone(), g, vec![0.0; n], vec![])?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut s = State {
        u: (0..n)
            .map(|_| disp.u0 + noise * rng.gen_range(-1.0..1.0))
            .collect(),
        v: vec![disp.v0; n],
    };
    let j = disp.fastest_mode;
    let phi: Vec<f64> = (0..n)
        .map(|i| (std::f64::consts::PI * j as f64 * (i as f64 + 0.5) / n as f64).cos())
        .collect();
    let norm2: f64 = phi.iter().map(|x| x * x).sum();
    let mut trace: Vec<(f64, f64)> = Vec::new();
    let mut snapshots = vec![s.u.clone()];
    let snap_dt = t_end / 300.0;
    let opts = AdaptiveOptions {
        rtol: 1e-10,
        atol: 1e-15,
        stop_residual: 0.0,
        max_steps: 5_000_000,
    };
    let u0 = disp.u0;
    dopri45(&net, &mut s, None, t_end, opts, |t, st| {
        let c: f64 =
            st.u.iter()
                .zip(&phi)
                .map(|(u, f)| (u - u0) * f)
                .sum::<f64>()
                / norm2;
        trace.push((t, c.abs()));
        if t >= snap_dt * snapshots.len() as f64 {
            snapshots.push(st.u.clone());
        }
    })?;
    // Fit window: after transients (the fastest mode's partner decays), before amplitude 1e-4.
    let t0 = trace
        .iter()
        .find(|p| p.1 > 30.0 * noise / (n as f64).sqrt())
        .map_or(0.0, |p| p.0);
    let t1 = trace.iter().find(|p| p.1 > 1e-4).map_or(t_end, |p| p.0);
    let t_start = t0.max(t1 - 0.6 * (t1 - t0).max(0.0));
    let window: Vec<&(f64, f64)> = trace
        .iter()
        .filter(|p| p.0 >= t_start && p.0 <= t1)
        .collect();
    let xs: Vec<f64> = window.iter().map(|p| p.0).collect();
    let ys: Vec<f64> = window.iter().map(|p| p.1.ln()).collect();
    let measured = linear_slope(&xs, &ys);
    let final_residual = net.residual(&s, None);
    let sign_changes =
        s.u.windows(2)
            .filter(|w| (w[0] - u0) * (w[1] - u0) < 0.0)
            .count();
    Ok(TuringRun {
        nodes: n,
        params: p,
        rate_relative_error: (measured - disp.fastest_rate).abs() / disp.fastest_rate.abs(),
        dispersion: disp,
        measured_rate: measured,
        fit_window: (t_start, t1),
        t_end,
        final_residual,
        sign_changes,
        final_u: s.u,
        snapshots,
    })
}

fn linear_slope(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
    sxy / sxx
}

/// The documented Turing-unstable demo set: Table I with δ = 0.5 (δ_c ≈ 0.603).
pub fn demo_params() -> FhnParams {
    FhnParams::parra_rivas(0.5, 0.85, 1.08, 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table1_is_not_turing_unstable_but_delta_half_is() {
        let qs: Vec<f64> = (0..4000).map(|k| k as f64 * 1e-3).collect();
        let t1 = dispersion(&FhnParams::table1(), &qs);
        assert!(t1.iter().all(|d| !d.turing_unstable));
        let pos = t1.iter().find(|d| d.u0 > 0.1).unwrap();
        assert!((pos.rate_uniform + 0.0701).abs() < 1e-3, "{pos:?}");
        assert!((critical_delta(0.85, 1.08, pos.u0) - 0.6026).abs() < 1e-3);
        let demo = dispersion(&demo_params(), &qs);
        let pos = demo.iter().find(|d| d.u0 > 0.1).unwrap();
        assert!(pos.turing_unstable, "{pos:?}");
        // The unstable band (0.285, 1.908) of the linear analysis.
        let band: Vec<f64> = qs
            .iter()
            .copied()
            .filter(|&q| demo_params().mode_growth_rate(pos.u0, q) > 0.0)
            .collect();
        assert!((band[0] - 0.285).abs() < 2e-3 && (band.last().unwrap() - 1.908).abs() < 2e-3);
    }

    #[test]
    fn path_eigenvalues_match_dense_solver() {
        let mut a = path_eigenvalues(30);
        a.sort_by(f64::total_cmp);
        let b = graph_eigenvalues(&Graph::path(30, 1.0));
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-12);
        }
    }

    #[test]
    fn simulated_growth_rate_matches_dispersion_relation() {
        let run = simulate_path(demo_params(), 200, 400.0, 1e-8, 7).unwrap();
        assert!(
            run.rate_relative_error < 0.02,
            "{:?}",
            (run.measured_rate, &run.dispersion, run.fit_window)
        );
        assert!(
            run.sign_changes >= 4,
            "no pattern formed: {}",
            run.sign_changes
        );
    }
}
