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
//!
//! Eq. 10 needs (d_v/ε)L₂ + αI (over free nodes) to be invertible: at α = 0 it is singular as
//! soon as a component of the inhibitor graph holds no clamped node. S = (H⁻¹)_uu is then still
//! defined (whenever H is invertible); the check reports that eq. 10 does not apply and uses it.

use crate::error::{Error, Result};
use crate::network::{FhnNetwork, State};
use crate::solvers::newton;
use faer::prelude::*;
use faer::{Mat, Side};
use serde::Serialize;

pub use crate::stability::max_growth_rate;

/// A matrix counts as singular when its smallest |eigenvalue| is below this times its largest.
const SINGULAR_RATIO: f64 = 1e-10;

/// S = M⁻¹ in closed form (paper eq. 10), over free nodes; `Err(why)` when eq. 10 does not
/// apply because (d_v/ε)L₂ + αI (over free nodes) or M is singular.
pub fn response_closed_form(net: &FhnNetwork, s: &State) -> Result<Mat<f64>, String> {
    let nf = net.free_nodes().len();
    let h = net.hessian_dense(s, None);
    let a = h.submatrix(0, 0, nf, nf).to_owned();
    // −D = (d_v/ε)L₂ + αI restricted to free nodes (symmetric).
    let minus_d = Mat::from_fn(nf, nf, |r, c| -h[(nf + r, nf + c)]);
    if let Some(ratio) = singular_ratio(&minus_d) {
        return Err(format!(
            "(d_v/ε)L₂ + αI is singular (smallest/largest |eigenvalue| {ratio:.1e}; α = {} and \
             an inhibitor component without a clamped node?)",
            net.params.alpha
        ));
    }
    let inv_minus_d = minus_d.partial_piv_lu().solve(Mat::<f64>::identity(nf, nf));
    let m = &a + &inv_minus_d;
    if let Some(ratio) = singular_ratio(&m) {
        return Err(format!(
            "M of eq. 10 is singular (smallest/largest |eigenvalue| {ratio:.1e})"
        ));
    }
    Ok(m.partial_piv_lu().solve(Mat::<f64>::identity(nf, nf)))
}

/// `Some(min|λ|/max|λ|)` when the symmetric matrix `a` is (numerically) singular or its
/// eigenvalues cannot be computed, `None` when it is safely invertible.
fn singular_ratio(a: &Mat<f64>) -> Option<f64> {
    let sym = Mat::from_fn(a.nrows(), a.ncols(), |r, c| 0.5 * (a[(r, c)] + a[(c, r)]));
    let ev = match sym.self_adjoint_eigenvalues(Side::Lower) {
        Ok(ev) => ev,
        Err(_) => return Some(f64::NAN),
    };
    let (lo, hi) = ev.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), x| {
        (lo.min(x.abs()), hi.max(x.abs()))
    });
    let ratio = if hi > 0.0 { lo / hi } else { 0.0 };
    // NaN (eigenvalues of a non-finite matrix) counts as singular.
    (ratio.is_nan() || ratio <= SINGULAR_RATIO).then_some(ratio)
}

/// S = (H⁻¹)_uu: the activator block of the inverse Hessian (defined whenever H is invertible).
pub fn response_hessian_inverse(net: &FhnNetwork, s: &State) -> Result<Mat<f64>> {
    let nf = net.free_nodes().len();
    let h = net.hessian_dense(s, None);
    if let Some(ratio) = singular_ratio(&h) {
        return Err(Error::Singular(format!(
            "the Hessian of Φ is singular at this steady state (smallest/largest |eigenvalue| \
             {ratio:.1e}): the response S is not defined"
        )));
    }
    let h_inv = h
        .partial_piv_lu()
        .solve(Mat::<f64>::identity(2 * nf, 2 * nf));
    Ok(h_inv.submatrix(0, 0, nf, nf).to_owned())
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
    /// Why the closed form (paper eq. 10) does not apply here, if it does not; the
    /// `*closed*` fields are then `null` and S is taken as (H⁻¹)_uu.
    pub closed_form_not_applicable: Option<String>,
    /// ‖S − Sᵀ‖_F/‖S‖_F, closed form (`null` if eq. 10 does not apply).
    pub asymmetry_closed_form: Option<f64>,
    /// ‖S − Sᵀ‖_F/‖S‖_F with S = (H⁻¹)_uu.
    pub asymmetry_hessian_inverse: f64,
    /// ‖S − Sᵀ‖_F/‖S‖_F, finite differences.
    pub asymmetry_finite_difference: f64,
    /// ‖S_cf − S_fd‖_F/‖S_cf‖_F (`null` if eq. 10 does not apply).
    pub closed_vs_fd: Option<f64>,
    /// ‖(H⁻¹)_uu − S_fd‖_F/‖(H⁻¹)_uu‖_F.
    pub hessian_inverse_vs_fd: f64,
    /// ‖S_cf − (H⁻¹)_uu‖_F/‖S_cf‖_F: the Schur complement equals the block of H⁻¹ (`null` if
    /// eq. 10 does not apply).
    pub closed_vs_hessian_inverse: Option<f64>,
    /// ‖J − Jᵀ‖_F/‖J‖_F of the full 2n×2n dynamics Jacobian (not symmetric).
    pub jacobian_asymmetry: f64,
}

/// Runs the self-adjointness check at a Newton-polished steady state `s`.
pub fn check_adjoint(net: &FhnNetwork, s: &State) -> Result<AdjointReport> {
    let nf = net.free_nodes().len();
    let block = response_hessian_inverse(net, s)?;
    let s_fd = response_finite_difference(net, s, 1e-5)?;
    let s_cf = response_closed_form(net, s);
    let rel = |a: &Mat<f64>, b: &Mat<f64>| (a - b).norm_l2() / a.norm_l2();
    let cf = s_cf.as_ref().ok();
    Ok(AdjointReport {
        nodes: net.n(),
        free_nodes: nf,
        negative_conductances: net.activator.edges.iter().filter(|e| e.g < 0.0).count(),
        residual: net.residual(s, None),
        max_growth_rate: max_growth_rate(net, s)?,
        closed_form_not_applicable: s_cf.as_ref().err().cloned(),
        asymmetry_closed_form: cf.map(relative_asymmetry),
        asymmetry_hessian_inverse: relative_asymmetry(&block),
        asymmetry_finite_difference: relative_asymmetry(&s_fd),
        closed_vs_fd: cf.map(|c| rel(c, &s_fd)),
        hessian_inverse_vs_fd: rel(&block, &s_fd),
        closed_vs_hessian_inverse: cf.map(|c| rel(c, &block)),
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
            assert!(r.closed_form_not_applicable.is_none(), "{r:?}");
            assert!(r.asymmetry_closed_form.unwrap() <= 1e-12, "{r:?}");
            assert!(r.asymmetry_finite_difference <= 1e-6, "{r:?}");
            assert!(r.closed_vs_fd.unwrap() <= 1e-6, "{r:?}");
            assert!(r.closed_vs_hessian_inverse.unwrap() <= 1e-10, "{r:?}");
            assert!(r.jacobian_asymmetry > 1e-2, "{r:?}");
        }
    }

    /// α = 0 and an inhibitor component {1, 2, 3} without a clamp: (d_v/ε)L₂ + αI is singular
    /// over the free nodes, eq. 10 does not apply (it used to report ‖S − Sᵀ‖/‖S‖ = NaN or 0.16
    /// for a symmetric S); (H⁻¹)_uu is used and agrees with finite differences.
    #[test]
    fn the_closed_form_is_refused_when_its_inner_inverse_does_not_exist() {
        use crate::graph::{Edge, Graph};
        use crate::model::FhnParams;
        use crate::network::Clamp;
        let mut p = FhnParams::table1();
        p.alpha = 0.0;
        let e = |a, b| Edge { a, b, g: 1.0 };
        let g1 = Graph::new(4, vec![e(0, 1), e(1, 2), e(2, 3)]).unwrap();
        let g2 = Graph::new(4, vec![e(1, 2), e(2, 3)]).unwrap();
        let clamp = Clamp {
            node: 0,
            u: 0.5,
            v: 0.1,
        };
        let net = FhnNetwork::new(p, g1, g2, vec![0.0, 0.2, -0.3, 0.0], vec![clamp]).unwrap();
        let mut s = net.initial_state();
        steady_state(&net, &mut s, None, 1e-13).unwrap();
        assert!(response_closed_form(&net, &s).is_err());
        let r = check_adjoint(&net, &s).unwrap();
        let why = r.closed_form_not_applicable.as_deref().unwrap_or("");
        assert!(why.contains("singular"), "{r:?}");
        assert!(
            r.asymmetry_closed_form.is_none() && r.closed_vs_fd.is_none(),
            "{r:?}"
        );
        assert!(r.asymmetry_hessian_inverse <= 1e-12, "{r:?}");
        assert!(r.hessian_inverse_vs_fd <= 1e-6, "{r:?}");
    }
}
