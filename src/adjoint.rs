//! Self-adjointness of the steady-state activator response (paper eq. 8–10).
//!
//! Linearising ∇Φ(u, v) = 0 at a steady state with a current perturbation δI:
//! `H [δu; δv] = [δI; 0]`, H the (symmetric, indefinite) Hessian of Φ. Eliminating δv,
//!
//! ```text
//! δu = M⁻¹ δI,   M = d_u L₁ + diag(3u² − 1) + ((d_v/ε) L₂ + αI)⁻¹          (paper eq. 10)
//! ```
//!
//! so S = ∂u_s/∂I_u = M⁻¹ is symmetric, while the dynamics' Jacobian is not.

use crate::error::{Error, Result};
use crate::network::{FhnNetwork, State};
use crate::solvers::newton;
use faer::prelude::*;
use faer::Mat;
use serde::Serialize;

/// S = M⁻¹ in closed form (paper eq. 10), over free nodes.
pub fn response_closed_form(net: &FhnNetwork, s: &State) -> Mat<f64> {
    let nf = net.free_nodes().len();
    let h = net.hessian_dense(s, None);
    let a = h.submatrix(0, 0, nf, nf).to_owned();
    // −D = (d_v/ε)L₂ + αI restricted to free nodes.
    let minus_d = Mat::from_fn(nf, nf, |r, c| -h[(nf + r, nf + c)]);
    let inv_minus_d = minus_d.partial_piv_lu().solve(Mat::<f64>::identity(nf, nf));
    let m = &a + &inv_minus_d;
    m.partial_piv_lu().solve(Mat::<f64>::identity(nf, nf))
}

/// S by central finite differences of Newton-converged steady states (step `h` in current).
pub fn response_finite_difference(net: &FhnNetwork, s: &State, h: f64) -> Result<Mat<f64>> {
    let free = net.free_nodes().to_vec();
    let nf = free.len();
    let mut out = Mat::zeros(nf, nf);
    for (col, &k) in free.iter().enumerate() {
        let solve = |sign: f64| -> Result<Vec<f64>> {
            let mut th = net.params_vec();
            let m = th.len() - net.n();
            th[m + k] += sign * h;
            let pert = net.with_params(&th);
            let mut st = s.clone();
            newton(&pert, &mut st, None, 1e-14, 30).or_else(|e| match e {
                Error::NotConverged { residual, .. } if residual < 1e-12 => Ok(Default::default()),
                e => Err(e),
            })?;
            Ok(free.iter().map(|&i| st.u[i]).collect())
        };
        let (up, um) = (solve(1.0)?, solve(-1.0)?);
        for r in 0..nf {
            out[(r, col)] = (up[r] - um[r]) / (2.0 * h);
        }
    }
    Ok(out)
}

/// ‖A − Aᵀ‖_F / ‖A‖_F.
pub fn relative_asymmetry(a: &Mat<f64>) -> f64 {
    (a - a.transpose()).norm_l2() / a.norm_l2()
}

/// Largest real part of the dynamics' Jacobian eigenvalues (< 0: linearly stable).
pub fn max_growth_rate(net: &FhnNetwork, s: &State) -> Result<f64> {
    let ev = net
        .jacobian_dense(s)
        .eigenvalues()
        .map_err(|e| Error::Invalid(format!("eigenvalue solver failed: {e:?}")))?;
    Ok(ev.iter().map(|z| z.re).fold(f64::NEG_INFINITY, f64::max))
}

/// Result of the self-adjointness check (paper eq. 9–10).
#[derive(Clone, Debug, Serialize)]
pub struct AdjointReport {
    /// Nodes, free nodes.
    pub nodes: usize,
    /// Free (non-clamped) nodes.
    pub free_nodes: usize,
    /// Negative conductances in the activator graph.
    pub negative_conductances: usize,
    /// Steady-state residual after Newton.
    pub residual: f64,
    /// Largest real part of the Jacobian's eigenvalues (stability: < 0).
    pub max_growth_rate: f64,
    /// ‖S − Sᵀ‖_F/‖S‖_F, closed form.
    pub asymmetry_closed_form: f64,
    /// ‖S − Sᵀ‖_F/‖S‖_F, finite differences.
    pub asymmetry_finite_difference: f64,
    /// ‖S_cf − S_fd‖_F/‖S_cf‖_F.
    pub closed_vs_fd: f64,
    /// ‖S_cf − (H⁻¹)_uu‖_F/‖S_cf‖_F: the Schur complement equals the block of H⁻¹.
    pub closed_vs_hessian_inverse: f64,
    /// ‖J − Jᵀ‖_F/‖J‖_F of the full 2n×2n dynamics Jacobian (not symmetric).
    pub jacobian_asymmetry: f64,
}

/// Runs the self-adjointness check at a Newton-polished steady state `s`.
pub fn check_adjoint(net: &FhnNetwork, s: &State) -> Result<AdjointReport> {
    let nf = net.free_nodes().len();
    let s_cf = response_closed_form(net, s);
    let s_fd = response_finite_difference(net, s, 1e-5)?;
    let h_inv = net
        .hessian_dense(s, None)
        .partial_piv_lu()
        .solve(Mat::<f64>::identity(2 * nf, 2 * nf));
    let block = h_inv.submatrix(0, 0, nf, nf).to_owned();
    Ok(AdjointReport {
        nodes: net.n(),
        free_nodes: nf,
        negative_conductances: net.activator.edges.iter().filter(|e| e.g < 0.0).count(),
        residual: net.residual(s, None),
        max_growth_rate: max_growth_rate(net, s)?,
        asymmetry_closed_form: relative_asymmetry(&s_cf),
        asymmetry_finite_difference: relative_asymmetry(&s_fd),
        closed_vs_fd: (&s_cf - &s_fd).norm_l2() / s_cf.norm_l2(),
        closed_vs_hessian_inverse: (&s_cf - &block).norm_l2() / s_cf.norm_l2(),
        jacobian_asymmetry: relative_asymmetry(&net.jacobian_dense(s)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::tests::random_network;
    use crate::solvers::steady_state;

    #[test]
    fn response_is_symmetric_and_matches_finite_differences() {
        for seed in [21, 22] {
            let net = random_network(60, seed);
            assert!(net.activator.edges.iter().any(|e| e.g < 0.0));
            let mut s = net.initial_state();
            steady_state(&net, &mut s, None, 1e-13).unwrap();
            let r = check_adjoint(&net, &s).unwrap();
            assert!(r.max_growth_rate < 0.0, "unstable steady state: {r:?}");
            assert!(r.asymmetry_closed_form <= 1e-12, "{r:?}");
            assert!(r.asymmetry_finite_difference <= 1e-6, "{r:?}");
            assert!(r.closed_vs_fd <= 1e-6, "{r:?}");
            assert!(r.closed_vs_hessian_inverse <= 1e-10, "{r:?}");
            assert!(r.jacobian_asymmetry > 1e-2, "{r:?}");
        }
    }
}
