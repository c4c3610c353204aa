//! The exact gradient of a Hopfield network's cost at a fixed point (the Scellier–Bengio energy
//! with the hard sigmoid ρ = clip(·, 0, 1)): the implicit gradient of a piecewise-linear model.
//!
//! At a fixed point every free unit is `u = clip(h, 0, 1)` with the net input
//! `h^l = W^{l−1}ρ(u^{l−1}) + W^{lT}ρ(u^{l+1}) + b^l`. A unit clipped strictly (h < 0 or h > 1)
//! stays clipped under a small change of θ; the active units A (0 < u < 1) solve the linear
//! system `(I − W_AA) u_A = c_A(θ)` (W_AA: the couplings among active units, symmetric). So
//! `dC/dθ = λᵀ ∂h_A/∂θ` with `(I − W_AA) λ = ∂C/∂u_A`, i.e.
//! `dC/dW^l_ij = λ^{l+1}_i ρ(u^l_j) + λ^l_j ρ(u^{l+1}_i)` and `dC/db^l_k = λ^l_k` (λ = 0 on
//! clipped units and the clamped input). This is what EqProp estimates as β → 0
//! (−dρ(u^β)/dβ = λ); it is defined wherever no unit sits exactly on a clip boundary (a unit
//! with h exactly 0 or 1 is counted as clipped: the one-sided derivative). `I − W_AA` is the
//! energy's Hessian on the active units, positive definite at a stable fixed point; a fixed
//! point where it is not (a saddle) is refused.

use super::{BatchState, Grads, Kind, LayeredNet};
use crate::error::{Error, Result};
use faer::linalg::solvers::Solve;
use faer::{Mat, Side};

impl LayeredNet<f64> {
    /// Adds `scale · dC/dθ` of example `b` of `st` (a fixed point: see [`Self::residual`]) to
    /// `acc`, for a cost whose derivative with respect to the output states is `dcu` (n_L).
    /// Returns the number of active units. Errors: not a Hopfield network, a state, `dcu` or
    /// `acc` whose shapes do not fit the network, non-finite input, or an active-set system
    /// that is not positive definite (a saddle or degenerate fixed point).
    pub fn hopfield_implicit_gradient(
        &self,
        st: &BatchState<f64>,
        b: usize,
        dcu: &[f64],
        scale: f64,
        acc: &mut Grads<f64>,
    ) -> Result<usize> {
        let w = &self.model.widths;
        if self.model.kind != Kind::Hopfield {
            return Err(Error::Invalid(
                "the active-set gradient is for Hopfield networks".into(),
            ));
        }
        let fits = w.len() >= 2
            && st.u.len() == w.len()
            && st.u.iter().zip(w).all(|(u, &n)| u.nrows() == n)
            && acc.w.len() == w.len() - 1
            && acc.b.len() == w.len() - 1
            && acc
                .w
                .iter()
                .enumerate()
                .all(|(l, g)| (g.nrows(), g.ncols()) == (w[l + 1], w[l]))
            && acc.b.iter().enumerate().all(|(l, g)| g.len() == w[l + 1]);
        if !fits {
            return Err(Error::Invalid(
                "state or gradient shapes do not fit the network".into(),
            ));
        }
        let last = w.len() - 1;
        if dcu.len() != w[last] || st.u.iter().any(|u| b >= u.ncols()) {
            return Err(Error::Invalid(format!(
                "∂C/∂u has {} entries for {} outputs (example {b} of {})",
                dcu.len(),
                w[last],
                st.u[0].ncols()
            )));
        }
        let finite = dcu.iter().all(|x| x.is_finite())
            && scale.is_finite()
            && st
                .u
                .iter()
                .all(|u| (0..u.nrows()).all(|k| u[(k, b)].is_finite()));
        if !finite {
            return Err(Error::Diverged(
                "a non-finite state or ∂C/∂u for the active-set gradient".into(),
            ));
        }
        let rho = |l: usize, k: usize| st.u[l][(k, b)].clamp(0.0, 1.0);
        // Active units get consecutive indices; the input layer is clamped.
        let mut index: Vec<Vec<Option<usize>>> = vec![vec![None; w[0]]];
        let mut n = 0;
        for l in 1..=last {
            index.push(
                (0..w[l])
                    .map(|k| {
                        let u = st.u[l][(k, b)];
                        (u > 0.0 && u < 1.0).then(|| {
                            n += 1;
                            n - 1
                        })
                    })
                    .collect(),
            );
        }
        if n == 0 {
            return Ok(0);
        }
        let mut m = Mat::<f64>::identity(n, n);
        for l in 1..last {
            let wl = &self.weights[l];
            for (j, aj) in index[l].iter().enumerate() {
                let Some(aj) = *aj else { continue };
                for (i, ai) in index[l + 1].iter().enumerate() {
                    if let Some(ai) = *ai {
                        m[(ai, aj)] -= wl[(i, j)];
                        m[(aj, ai)] -= wl[(i, j)];
                    }
                }
            }
        }
        let mut rhs = Mat::<f64>::zeros(n, 1);
        for (k, a) in index[last].iter().enumerate() {
            if let Some(a) = *a {
                rhs[(a, 0)] = dcu[k];
            }
        }
        let lam = m
            .llt(Side::Lower)
            .map_err(|_| {
                Error::Unstable(
                    "the active-set Hessian I − W_AA of this Hopfield fixed point is not positive definite (a saddle)".into(),
                )
            })?
            .solve(&rhs);
        // A guard, not a condition estimate: λ must satisfy its system (a breakdown that the
        // factorisation did not report, e.g. a zero pivot passed as tiny, shows here).
        let res = (&m * &lam - &rhs).norm_l2();
        if !res.is_finite() || res > 1e-8 * (m.norm_l2() * lam.norm_l2() + rhs.norm_l2()) {
            return Err(Error::Singular(format!(
                "the active-set system of a degenerate Hopfield fixed point (solve residual {res:.1e})"
            )));
        }
        let lambda = |l: usize, k: usize| index[l][k].map_or(0.0, |a| lam[(a, 0)]);
        for (l, g) in acc.w.iter_mut().enumerate() {
            for j in 0..w[l] {
                let (lj, rj) = (lambda(l, j), rho(l, j));
                for i in 0..w[l + 1] {
                    g[(i, j)] += scale * (lambda(l + 1, i) * rj + lj * rho(l + 1, i));
                }
            }
        }
        for (l, g) in acc.b.iter_mut().enumerate() {
            for (k, g) in g.iter_mut().enumerate() {
                *g += scale * lambda(l + 1, k);
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{hopfield_model, inputs};
    use super::super::{Nudge, Phase, Solver};
    use super::*;
    use faer::Par;
    use rand::SeedableRng;

    fn hopfield(widths: Vec<usize>, seed: u64) -> LayeredNet<f64> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let model = hopfield_model(widths);
        let mut net = LayeredNet::<f64>::random(model, 0.8, true, &mut rng).unwrap();
        for (l, b) in net.biases.iter_mut().enumerate() {
            b.iter_mut()
                .enumerate()
                .for_each(|(k, x)| *x = 0.2 + 0.1 * (k as f64 - 1.5) - 0.05 * l as f64);
        }
        net
    }

    fn targets() -> Mat<f64> {
        Mat::from_fn(3, 2, |k, b| if k == b { 1.0 } else { 0.0 })
    }

    /// The fixed point of `net` (with the nudge `gain` toward [`targets`]) from `st`.
    fn settle(net: &LayeredNet<f64>, st: &mut BatchState<f64>, gain: f64) {
        let mut ws = net.workspace(2);
        net.prepare_input(st, &mut ws, Par::Seq);
        let y = targets();
        let nudge = (gain != 0.0).then_some(Nudge { target: &y, gain });
        let phase = Phase {
            nudge,
            dt: 1.0,
            max_steps: 10_000,
            tol: 1e-14,
            solver: Solver::RedBlack,
        };
        net.relax(st, &mut ws, phase, Par::Seq).unwrap();
        assert!(net.residual(st, &mut ws, nudge, Par::Seq) < 1e-12);
    }

    /// C = ½ Σ_b ‖u_L − y‖² at the fixed point reached from `from`.
    fn cost(net: &LayeredNet<f64>, from: &BatchState<f64>) -> f64 {
        let mut st = from.clone();
        settle(net, &mut st, 0.0);
        let (y, last) = (targets(), net.layers() - 1);
        (0..2)
            .flat_map(|b| (0..3).map(move |k| (k, b)))
            .map(|(k, b)| 0.5 * (st.u[last][(k, b)] - y[(k, b)]).powi(2))
            .sum()
    }

    fn gradient(net: &LayeredNet<f64>, st: &BatchState<f64>) -> (Grads<f64>, usize) {
        let (y, last) = (targets(), net.layers() - 1);
        let mut g = Grads::zeros_like(net);
        let mut active = 0;
        for b in 0..2 {
            let dcu: Vec<f64> = (0..3).map(|k| st.u[last][(k, b)] - y[(k, b)]).collect();
            active += net
                .hopfield_implicit_gradient(st, b, &dcu, 1.0, &mut g)
                .unwrap();
        }
        (g, active)
    }

    /// The active-set gradient equals central finite differences of the cost at the fixed
    /// point, for every weight and bias, at one and two hidden layers.
    #[test]
    fn the_active_set_gradient_matches_finite_differences() {
        for widths in [vec![6, 5, 3], vec![6, 5, 4, 3]] {
            let mut net = hopfield(widths, 11);
            // One unit per hidden layer pushed above 1 and one below 0: both bounds occur.
            let hidden = net.biases.len() - 1;
            for b in net.biases[..hidden].iter_mut() {
                (b[0], b[1]) = (3.0, -3.0);
            }
            let mut st = net.init_state(inputs());
            settle(&net, &mut st, 0.0);
            let (g, active) = gradient(&net, &st);
            let units: usize = net.model.widths[1..].iter().sum::<usize>() * 2;
            assert!(active > 0 && active < units, "{active} of {units} active");
            let states: Vec<f64> = st.u[1..]
                .iter()
                .flat_map(|u| super::super::elementwise::entries(u).collect::<Vec<_>>())
                .collect();
            assert!(states.contains(&1.0) && states.contains(&0.0));
            let h = 1e-6;
            let mut nonzero = 0;
            for l in 0..net.weights.len() {
                let (rows, cols) = (net.weights[l].nrows(), net.weights[l].ncols());
                for (i, j) in (0..rows).flat_map(|i| (0..cols).map(move |j| (i, j))) {
                    let at = |d: f64| {
                        let mut n = net.clone();
                        n.weights[l][(i, j)] += d;
                        cost(&n, &st)
                    };
                    let fd = (at(h) - at(-h)) / (2.0 * h);
                    assert!(
                        (fd - g.w[l][(i, j)]).abs() < 1e-6,
                        "W{l}[{i},{j}]: fd {fd}, {}",
                        g.w[l][(i, j)]
                    );
                    nonzero += usize::from(fd.abs() > 1e-4);
                }
                for k in 0..net.biases[l].len() {
                    let at = |d: f64| {
                        let mut n = net.clone();
                        n.biases[l][k] += d;
                        cost(&n, &st)
                    };
                    let fd = (at(h) - at(-h)) / (2.0 * h);
                    assert!(
                        (fd - g.b[l][k]).abs() < 1e-6,
                        "b{l}[{k}]: fd {fd}, {}",
                        g.b[l][k]
                    );
                }
            }
            assert!(nonzero > 5, "only {nonzero} nonzero weight gradients");
        }
    }

    /// Converged EqProp with a small nudge (−Δρ/β per unit and the ρρᵀ products) approaches
    /// the active-set gradient, weights and biases.
    #[test]
    fn converged_hopfield_eqprop_approaches_the_active_set_gradient() {
        let net = hopfield(vec![6, 5, 4, 3], 11);
        let mut free = net.init_state(inputs());
        settle(&net, &mut free, 0.0);
        let (exact, _) = gradient(&net, &free);
        let beta = 1e-5;
        let mut ws = net.workspace(2);
        let phase = |sign: f64| {
            let mut st = free.clone();
            settle(&net, &mut st, sign * beta);
            st
        };
        let (plus, minus) = (phase(1.0), phase(-1.0));
        let mut est = Grads::zeros_like(&net);
        net.accumulate_param_grad_difference(
            &plus,
            &minus,
            &mut ws,
            1.0 / (2.0 * beta),
            &mut est,
            Par::Seq,
        );
        for l in 0..net.weights.len() {
            let e: Vec<f64> = super::super::elementwise::entries(&exact.w[l]).collect();
            let q: Vec<f64> = super::super::elementwise::entries(&est.w[l]).collect();
            let cos = crate::eqprop::cosine(&q, &e);
            let rel = crate::eqprop::relative_error(&q, &e);
            assert!(
                cos > 0.9999 && rel < 1e-3,
                "layer {l}: cosine {cos}, relative error {rel}"
            );
        }
        for l in 0..net.biases.len() {
            let (q, e) = (&est.b[l], &exact.b[l]);
            let cos = crate::eqprop::cosine(q, e);
            let rel = crate::eqprop::relative_error(q, e);
            assert!(
                cos > 0.9999 && rel < 1e-3,
                "biases {l}: cosine {cos}, relative error {rel}"
            );
        }
    }

    /// At a saddle (the Hessian I − W_AA indefinite) or a degenerate point (singular) there is
    /// no gradient: both are errors, not numbers.
    #[test]
    fn saddles_and_degenerate_points_are_errors() {
        let mut net = hopfield(vec![1, 1, 1], 1);
        let mut st = net.init_state(Mat::from_fn(1, 1, |_, _| 0.5));
        st.u[1][(0, 0)] = 0.5;
        st.u[2][(0, 0)] = 0.5;
        let mut g = Grads::zeros_like(&net);
        net.weights[1][(0, 0)] = 0.5;
        assert_eq!(
            net.hopfield_implicit_gradient(&st, 0, &[1.0], 1.0, &mut g)
                .unwrap(),
            2
        );
        net.weights[1][(0, 0)] = 2.0;
        let saddle = net.hopfield_implicit_gradient(&st, 0, &[1.0], 1.0, &mut g);
        assert!(matches!(saddle, Err(Error::Unstable(_))), "{saddle:?}");
        net.weights[1][(0, 0)] = 1.0;
        assert!(net
            .hopfield_implicit_gradient(&st, 0, &[1.0], 1.0, &mut g)
            .is_err());
        st.u[1][(0, 0)] = f64::NAN;
        let nan = net.hopfield_implicit_gradient(&st, 0, &[1.0], 1.0, &mut g);
        assert!(matches!(nan, Err(Error::Diverged(_))), "{nan:?}");
    }

    #[test]
    fn wrong_inputs_are_errors() {
        let net = hopfield(vec![6, 5, 3], 1);
        let mut st = net.init_state(inputs());
        settle(&net, &mut st, 0.0);
        let mut g = Grads::zeros_like(&net);
        assert!(net
            .hopfield_implicit_gradient(&st, 0, &[0.0; 2], 1.0, &mut g)
            .is_err());
        assert!(net
            .hopfield_implicit_gradient(&st, 2, &[0.0; 3], 1.0, &mut g)
            .is_err());
        let mut fhn = net.clone();
        fhn.model.kind = Kind::Fhn;
        assert!(fhn
            .hopfield_implicit_gradient(&st, 0, &[0.0; 3], 1.0, &mut g)
            .is_err());
    }
}
