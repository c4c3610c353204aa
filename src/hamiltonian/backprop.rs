//! Reverse-mode differentiation of the initial-value map of [`EchoNet`], written out by hand
//! in f64: the reference the echo is checked against (docs/HAMILTONIAN.md §8).

use super::echo::{EchoNet, Gradient, Layers};
use crate::error::Result;
use faer::prelude::*;
use faer::Mat;

/// dL/dθ by the explicit adjoint (vector–Jacobian products of every kick and drift, from
/// layer N back to layer 0), given the forward layers and ∂L/∂u^N (loss on the output
/// activators only).
pub fn adjoint_gradient(net: &EchoNet, fwd: &Layers<f64>, dl_du: &Mat<f64>) -> Result<Gradient> {
    let (m, n) = (net.width(), net.depth());
    let bsz = dl_du.ncols();
    let p = net.params;
    let gain = p.eps / p.d_v;
    let mom = |i: usize| &fwd.u[i + 1] - &fwd.u[i];
    let with_du = |g: &Mat<f64>, t: bool| {
        Mat::from_fn(m, m, |r, c| {
            (if t { g[(c, r)] } else { g[(r, c)] }) + if r == c { p.d_u } else { 0.0 }
        })
    };
    let mut grad: Vec<Mat<f64>> = vec![Mat::zeros(m, m); n];
    let (mut ubar, mut vbar) = (dl_du.clone(), Mat::<f64>::zeros(m, bsz));
    let mut qbar = Mat::<f64>::zeros(m, bsz);
    // Adjoint of p^i, carried from the kick at i+1 (none above layer N−1).
    let mut pbar_carry = Mat::<f64>::zeros(m, bsz);
    for i in (1..n).rev() {
        // Drift u^{i+1} = u^i + p^i, v^{i+1} = v^i + q^i.
        let pbar = &pbar_carry + &ubar;
        qbar = &qbar + &vbar;
        let (ui, pi) = (&fwd.u[i], mom(i));
        // q^i = q^{i−1} − γ(u − αv − β).
        ubar = &ubar - &qbar * Scale(gain);
        vbar = &vbar + &qbar * Scale(gain * p.alpha);
        // A_i p^i = B_{i−1} p^{i−1} − W_i u^i − f(u^i, v^i), with A_iᵀ = B_i.
        let (gp, gn) = (&net.coupling[i - 1], &net.coupling[i]);
        let s = with_du(gn, false).partial_piv_lu().solve(&pbar);
        grad[i] -= &pi * s.transpose();
        pbar_carry = with_du(gp, true) * &s;
        grad[i - 1] += &s * mom(i - 1).transpose();
        // −W_i u: ū −= W_iᵀ s; G^{i−1} and G^i through W_i.
        let r: Vec<f64> = (0..m).map(|k| (0..m).map(|j| gp[(k, j)]).sum()).collect();
        let c: Vec<f64> = (0..m).map(|k| (0..m).map(|j| gn[(j, k)]).sum()).collect();
        let wt_s = gp.transpose() * &s + gn * &s;
        let su: Vec<f64> = (0..m)
            .map(|k| (0..bsz).map(|b| s[(k, b)] * ui[(k, b)]).sum())
            .collect();
        grad[i - 1] -= &s * ui.transpose();
        grad[i] -= ui * s.transpose();
        for a in 0..m {
            for b in 0..m {
                grad[i - 1][(a, b)] += su[a];
                grad[i][(a, b)] += su[b];
            }
        }
        for b in 0..bsz {
            for k in 0..m {
                let x = ui[(k, b)];
                ubar[(k, b)] -=
                    wt_s[(k, b)] - (r[k] + c[k]) * s[(k, b)] + (1.0 - 3.0 * x * x) * s[(k, b)];
                vbar[(k, b)] += s[(k, b)];
            }
        }
    }
    // u¹ = u⁰ + p⁰, v¹ = v⁰ + q⁰: ū⁰ (at fixed p⁰) = ū¹, p̄⁰ = ū¹ + carry; in (u⁰, u¹) coordinates
    // dL/du¹ = p̄⁰ and dL/du⁰ = ū⁰ − p̄⁰.
    let p0bar = &pbar_carry + &ubar;
    let q0bar = &qbar + &vbar;
    Ok(Gradient {
        coupling: grad,
        u0: &ubar - &p0bar,
        u1: p0bar,
        v0: &vbar - &q0bar,
        v1: q0bar,
    })
}
