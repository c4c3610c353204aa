//! The layered FHN network as a differentiable layer (for `FhnEquilibrium` in Python): the
//! forward pass is the free equilibrium of each example, the backward pass the vector–Jacobian
//! product of its outputs with respect to the input and the parameters, by EqProp or exactly.
//!
//! For an output cotangent g the cost is linear, C = gᵀu_L; its nudge βC is a current −βg
//! injected into the output nodes. Per example, on the f64 graph view:
//! EqProp: dC/dθ ≈ (∂Φ/∂θ(s⁺ᵝ) − ∂Φ/∂θ(s⁻ᵝ))/2β (or one-sided against the free state);
//! implicit: dC/dθ = −λᵀ ∂²Φ/∂s∂θ with Hλ = ∂C/∂s. The input x is clamped and enters Φ through
//! ½ d_u G⁰_kj (x_j − u_k)², so ∂Φ/∂x_j = d_u Σ_k G⁰_kj (x_j − u_k) (x's own F terms do not
//! depend on the state and cancel).

use super::{node_offsets, Grads, LayeredNet, Solver};
use crate::eqprop::implicit_gradient_for;
use crate::network::{FhnNetwork, State};
use crate::solvers::{default_linear_solve, newton};
use crate::{Error, Result};
use faer::Mat;

/// How the backward pass estimates the gradient.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Backward {
    /// EqProp with nudge β, centered (±β) or one-sided (+β against the free state).
    EqProp {
        /// Nudge strength (> 0).
        beta: f64,
        /// ±β phases.
        centered: bool,
    },
    /// Implicit differentiation at the equilibrium (exact).
    Implicit,
}

/// Free equilibria of a batch: `x` is n₀ × B (inputs in model units), the result n_L × B and
/// the per-example graph states (for [`vjp`]). Each example: `steps` Jacobi steps of `dt` from
/// rest, then Newton on the graph view to ‖∂Φ‖∞ ≤ `tol`.
pub fn forward(
    net: &LayeredNet<f64>,
    x: &Mat<f64>,
    dt: f64,
    steps: usize,
    tol: f64,
) -> Result<(Mat<f64>, Vec<State>)> {
    let w = &net.model.widths;
    if x.nrows() != w[0] {
        return Err(Error::Invalid(format!(
            "the input has {} rows, the network {} inputs",
            x.nrows(),
            w[0]
        )));
    }
    if !(dt > 0.0 && dt.is_finite() && tol > 0.0 && tol.is_finite()) {
        return Err(Error::Invalid(format!(
            "dt = {dt} and tol = {tol} must be finite and > 0"
        )));
    }
    let off = node_offsets(w);
    let last = w.len() - 1;
    let mut out = Mat::zeros(w[last], x.ncols());
    let mut states = Vec::with_capacity(x.ncols());
    for b in 0..x.ncols() {
        let xb: Vec<f64> = (0..x.nrows()).map(|i| x[(i, b)]).collect();
        if let Some(i) = xb.iter().position(|v| !v.is_finite()) {
            return Err(Error::Invalid(format!(
                "input {i} of example {b} is not finite"
            )));
        }
        let g = net.as_graph(&xb)?;
        let mut s = net.relaxed_graph_state(&xb, Solver::Jacobi, dt, steps)?;
        newton(&g, &mut s, None, tol, 50)?;
        for k in 0..w[last] {
            out[(k, b)] = s.u[off[last] + k];
        }
        states.push(s);
    }
    Ok((out, states))
}

/// The vector–Jacobian product of [`forward`]'s outputs with cotangent `grad_out` (n_L × B):
/// the gradient of Σ_b grad_outᵀ u_L with respect to the input (n₀ × B) and the weights and
/// biases (summed over the batch).
pub fn vjp(
    net: &LayeredNet<f64>,
    x: &Mat<f64>,
    states: &[State],
    grad_out: &Mat<f64>,
    how: Backward,
) -> Result<(Mat<f64>, Grads<f64>)> {
    let w = &net.model.widths;
    let (off, last) = (node_offsets(w), w.len() - 1);
    if x.nrows() != w[0] {
        return Err(Error::Invalid(format!(
            "the input has {} rows, the network {} inputs",
            x.nrows(),
            w[0]
        )));
    }
    let nodes = off[last + 1] + usize::from(net.model.leak != 0.0);
    if let Some(b) = states
        .iter()
        .position(|s| s.u.len() != nodes || s.v.len() != nodes)
    {
        return Err(Error::Invalid(format!(
            "equilibrium {b} does not belong to this network ({nodes} nodes)"
        )));
    }
    if grad_out.nrows() != w[last] || grad_out.ncols() != x.ncols() || states.len() != x.ncols() {
        return Err(Error::Invalid(format!(
            "grad_out is {}×{}, the outputs {}×{}",
            grad_out.nrows(),
            grad_out.ncols(),
            w[last],
            x.ncols()
        )));
    }
    if let Backward::EqProp { beta, .. } = how {
        if !(beta > 0.0 && beta.is_finite()) {
            return Err(Error::Invalid(format!(
                "β = {beta}: must be finite and > 0"
            )));
        }
    }
    let mut dx = Mat::zeros(w[0], x.ncols());
    let mut grads = Grads::zeros_like(net);
    for (b, free) in states.iter().enumerate() {
        let xb: Vec<f64> = (0..w[0]).map(|i| x[(i, b)]).collect();
        let g = net.as_graph(&xb)?;
        let gb: Vec<f64> = (0..w[last]).map(|k| grad_out[(k, b)]).collect();
        let (theta, input) = match how {
            Backward::Implicit => {
                let mut dcu = vec![0.0; g.n()];
                for (k, &v) in gb.iter().enumerate() {
                    dcu[off[last] + k] = v;
                }
                let (theta, lam_u) = implicit_gradient_for(&g, free, &dcu, &default_linear_solve)?;
                // dC/dx_j = −λᵀ ∂²Φ/∂s∂x_j = Σ_k λ_u[k] d_u G⁰_kj.
                let input = input_contract(net, &lam_u, &off, |lu| lu);
                (theta, input)
            }
            Backward::EqProp { beta, centered } => {
                let plus = nudged(&g, free, &gb, off[last], beta)?;
                let minus = if centered {
                    nudged(&g, free, &gb, off[last], -beta)?
                } else {
                    free.clone()
                };
                let denom = if centered { 2.0 * beta } else { beta };
                let (tp, tm) = (g.param_gradient(&plus), g.param_gradient(&minus));
                let theta = tp.iter().zip(&tm).map(|(p, m)| (p - m) / denom).collect();
                // ∂Φ/∂x_j(s⁺) − ∂Φ/∂x_j(s⁻) = d_u Σ_k G⁰_kj (u⁻_k − u⁺_k).
                let du: Vec<f64> = minus
                    .u
                    .iter()
                    .zip(&plus.u)
                    .map(|(m, p)| (m - p) / denom)
                    .collect();
                (theta, input_contract(net, &du, &off, |d| d))
            }
        };
        for (j, v) in input.iter().enumerate() {
            dx[(j, b)] = *v;
        }
        accumulate(net, &g, &theta, &off, &mut grads);
    }
    Ok((dx, grads))
}

/// Σ_k d_u G⁰_kj f(a[off₁ + k]) for every input j.
fn input_contract(
    net: &LayeredNet<f64>,
    a: &[f64],
    off: &[usize],
    f: impl Fn(f64) -> f64,
) -> Vec<f64> {
    let g0 = &net.weights[0];
    let du = net.model.fhn.d_u;
    (0..g0.ncols())
        .map(|j| {
            (0..g0.nrows())
                .map(|k| du * g0[(k, j)] * f(a[off[1] + k]))
                .sum()
        })
        .collect()
}

/// Nudged state of Φ + β gᵀu_L: the nudge as a current −βg into the outputs.
fn nudged(g: &FhnNetwork, free: &State, gb: &[f64], out0: usize, beta: f64) -> Result<State> {
    let mut net = g.clone();
    for (k, v) in gb.iter().enumerate() {
        net.current[out0 + k] -= beta * v;
    }
    let mut s = free.clone();
    newton(&net, &mut s, None, 1e-12, 50)?;
    Ok(s)
}

/// Adds a graph parameter gradient θ = (activator edges: W entries column-major then leak
/// edges, inhibitor edges: the W entries again when coupled, currents) to per-layer gradients.
fn accumulate(
    net: &LayeredNet<f64>,
    g: &FhnNetwork,
    theta: &[f64],
    off: &[usize],
    grads: &mut Grads<f64>,
) {
    let m1 = g.activator.edges.len();
    let m2 = g.inhibitor.edges.len();
    let mut e = 0;
    for (l, wl) in net.weights.iter().enumerate() {
        for j in 0..wl.ncols() {
            for k in 0..wl.nrows() {
                let inh = if m2 > 0 { theta[m1 + e] } else { 0.0 };
                grads.w[l][(k, j)] += theta[e] + inh;
                e += 1;
            }
        }
    }
    for (l, bl) in grads.b.iter_mut().enumerate() {
        for (k, v) in bl.iter_mut().enumerate() {
            *v += theta[m1 + m2 + off[l + 1] + k];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layered::{Kind, LayeredModel};
    use crate::model::FhnParams;
    use rand::SeedableRng;

    fn net(inhibitor_coupling: bool) -> LayeredNet<f64> {
        let model = LayeredModel {
            widths: vec![5, 4, 3],
            kind: Kind::Fhn,
            fhn: FhnParams::table1(),
            inhibitor_coupling,
            leak: 2.0,
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut n = LayeredNet::<f64>::random(model, 0.8, true, &mut rng).unwrap();
        n.biases[0][1] = 0.2;
        n
    }

    /// A perturbation of the network or the input by ±h.
    type Shift<'a> = &'a dyn Fn(&mut LayeredNet<f64>, &mut Mat<f64>, f64);

    /// Σ g ⊙ u_L at the equilibrium.
    fn loss(n: &LayeredNet<f64>, x: &Mat<f64>, g: &Mat<f64>) -> f64 {
        let (out, _) = forward(n, x, 0.5, 200, 1e-13).unwrap();
        (0..out.nrows())
            .flat_map(|k| (0..out.ncols()).map(move |b| (k, b)))
            .map(|(k, b)| g[(k, b)] * out[(k, b)])
            .sum()
    }

    #[test]
    fn vjp_matches_finite_differences_and_eqprop_follows_it() {
        for coupled in [false, true] {
            let n = net(coupled);
            let x = Mat::from_fn(5, 2, |i, b| 0.3 * ((i + 2 * b) as f64).sin());
            let g = Mat::from_fn(3, 2, |k, b| ((k * 3 + b) as f64).cos());
            let (_, states) = forward(&n, &x, 0.5, 200, 1e-13).unwrap();
            let (dx, dg) = vjp(&n, &x, &states, &g, Backward::Implicit).unwrap();
            let h = 1e-6;
            let central = |shift: Shift| {
                let (mut a, mut xa) = (n.clone(), x.clone());
                shift(&mut a, &mut xa, h);
                let (mut b, mut xb) = (n.clone(), x.clone());
                shift(&mut b, &mut xb, -h);
                (loss(&a, &xa, &g) - loss(&b, &xb, &g)) / (2.0 * h)
            };
            let checks = [
                (central(&|_, x, d| x[(2, 1)] += d), dx[(2, 1)]),
                (
                    central(&|n, _, d| n.weights[0][(1, 3)] += d),
                    dg.w[0][(1, 3)],
                ),
                (
                    central(&|n, _, d| n.weights[1][(2, 0)] += d),
                    dg.w[1][(2, 0)],
                ),
                (central(&|n, _, d| n.biases[1][2] += d), dg.b[1][2]),
                (central(&|n, _, d| n.biases[0][0] += d), dg.b[0][0]),
            ];
            for (i, (fd, exact)) in checks.iter().enumerate() {
                assert!(
                    (fd - exact).abs() <= 1e-6 * (1.0 + exact.abs()),
                    "coupled {coupled} check {i}: fd {fd} vs {exact}"
                );
            }
            let how = Backward::EqProp {
                beta: 1e-4,
                centered: true,
            };
            let (ex, eg) = vjp(&n, &x, &states, &g, how).unwrap();
            assert!((ex[(2, 1)] - dx[(2, 1)]).abs() < 1e-6 * (1.0 + dx[(2, 1)].abs()));
            assert!(
                (eg.w[0][(1, 3)] - dg.w[0][(1, 3)]).abs() < 1e-6 * (1.0 + dg.w[0][(1, 3)].abs())
            );
            // One-sided EqProp is first-order: further off, but close.
            let (ox, _) = vjp(
                &n,
                &x,
                &states,
                &g,
                Backward::EqProp {
                    beta: 1e-3,
                    centered: false,
                },
            )
            .unwrap();
            let e1 = (ox[(2, 1)] - dx[(2, 1)]).abs();
            assert!(e1 < 1e-2 * (1.0 + dx[(2, 1)].abs()), "{e1}");
        }
    }

    #[test]
    fn bad_shapes_and_betas_are_errors() {
        let n = net(false);
        let x = Mat::from_fn(5, 1, |i, _| i as f64 * 0.1);
        assert!(forward(&n, &Mat::zeros(4, 1), 0.5, 10, 1e-12).is_err());
        assert!(forward(&n, &Mat::from_fn(5, 1, |_, _| f64::NAN), 0.5, 10, 1e-12).is_err());
        let (_, st) = forward(&n, &x, 0.5, 100, 1e-12).unwrap();
        assert!(vjp(&n, &x, &st, &Mat::zeros(2, 1), Backward::Implicit).is_err());
        let bad = Backward::EqProp {
            beta: 0.0,
            centered: true,
        };
        assert!(vjp(&n, &x, &st, &Mat::zeros(3, 1), bad).is_err());
        let g = Mat::zeros(3, 1);
        assert!(vjp(&n, &x, &st, &g, Backward::Implicit).is_ok());
        // Each check alone: an input of the wrong width, states of another network, v of the
        // wrong length, a cotangent of the wrong batch size, a missing state.
        assert!(vjp(&n, &Mat::zeros(4, 1), &st, &g, Backward::Implicit).is_err());
        let short = vec![State {
            u: vec![0.0; 3],
            v: vec![0.0; 3],
        }];
        assert!(vjp(&n, &x, &short, &g, Backward::Implicit).is_err());
        let mut half = st.clone();
        half[0].v.pop();
        assert!(vjp(&n, &x, &half, &g, Backward::Implicit).is_err());
        assert!(vjp(&n, &x, &st, &Mat::zeros(3, 2), Backward::Implicit).is_err());
        let x2 = Mat::from_fn(5, 2, |i, _| i as f64 * 0.1);
        assert!(vjp(&n, &x2, &st, &Mat::zeros(3, 2), Backward::Implicit).is_err());
        assert!(forward(&n, &x, 0.0, 10, 1e-9).is_err());
        assert!(forward(&n, &x, 0.5, 10, f64::NAN).is_err());
    }
}
