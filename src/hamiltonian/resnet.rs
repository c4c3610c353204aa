//! The deep residual FHN network of paper Fig. 1C and its layer-wise (Hamiltonian) recursion.
//!
//! m parallel path graphs of n nodes; node k of layer i is `i·m + k`. Path edges have unit
//! conductance (activator diffusion d_u = δ², inhibitor d_v), both path ends are tied to a
//! grounded ghost node (the paper's footnote: every Laplacian diagonal equals 2), and
//! `G^i` (m × m, row = layer i+1, column = layer i) couples activators of consecutive layers
//! without the δ² factor (paper eq. 5). Kirchhoff's law at node (i, k), with Δ = −L and
//! p^i = u^{i+1} − u^i, q^i = v^{i+1} − v^i (docs/HAMILTONIAN.md):
//!
//! ```text
//! (d_u I + G^{iT}) p^i = (d_u I + G^{i−1}) p^{i−1} − f^i − (G^{i−1} + G^{iT} − diag(r^{i−1} + c^i)) u^i
//! d_v q^i = d_v q^{i−1} − ε (u^i − α v^i − β)
//! ```
//!
//! with f = u − u³ − v, r = row sums, c = column sums. This is the very equation ∂Φ/∂u = 0 of
//! the graph model, solved for the next layer.

use crate::error::{Error, Result};
use crate::graph::{Edge, Graph};
use crate::layered::Real;
use crate::model::FhnParams;
use crate::network::{Clamp, Cost, FhnNetwork, State};
use crate::solvers::{newton_with, SolveReport};
use faer::prelude::*;
use faer::Mat;

/// A deep residual FHN network.
#[derive(Clone, Debug)]
pub struct ResNet {
    /// Width m (number of parallel paths).
    pub width: usize,
    /// Depth n (layers = nodes per path).
    pub depth: usize,
    /// FHN parameters (Parra-Rivas form: d_u = δ², d_v = 1).
    pub params: FhnParams,
    /// Couplings G^0 … G^{n−2}.
    pub coupling: Vec<Mat<f64>>,
}

impl ResNet {
    /// Nearest-neighbour transverse coupling of strength `c` (node k of layer i+1 to nodes
    /// k ± 1 of layer i, periodic in the width); `c = 0` gives uncoupled paths.
    pub fn transverse(width: usize, depth: usize, params: FhnParams, c: f64) -> Result<Self> {
        if width == 0 || depth < 2 {
            return Err(Error::Invalid(format!(
                "need width ≥ 1 and depth ≥ 2, got {width} × {depth}"
            )));
        }
        let g = Mat::from_fn(width, width, |k, j| {
            let d = (k + width - j) % width;
            if width > 2 && (d == 1 || d == width - 1) {
                c
            } else {
                0.0
            }
        });
        let net = Self {
            width,
            depth,
            params,
            coupling: vec![g; depth - 1],
        };
        net.check_invertible()?;
        Ok(net)
    }

    fn check_invertible(&self) -> Result<()> {
        for (i, g) in self.coupling.iter().enumerate() {
            let a = Mat::from_fn(self.width, self.width, |r, c| {
                g[(c, r)] + if r == c { self.params.d_u } else { 0.0 }
            });
            let inv = a
                .partial_piv_lu()
                .solve(Mat::<f64>::identity(self.width, self.width));
            let cond = a.norm_max() * inv.norm_max();
            if !cond.is_finite() || cond > 1e12 {
                return Err(Error::Singular(format!(
                    "d_u I + G^{i}ᵀ (condition ~{cond:.1e})"
                )));
            }
        }
        Ok(())
    }

    /// The same network as a general graph network (ground node last, clamped at 0).
    pub fn as_graph(&self) -> Result<FhnNetwork> {
        let (m, n) = (self.width, self.depth);
        let ground = n * m;
        let mut path = Vec::new();
        for k in 0..m {
            for i in 0..n - 1 {
                path.push(Edge {
                    a: i * m + k,
                    b: (i + 1) * m + k,
                    g: 1.0,
                });
            }
            path.push(Edge {
                a: k,
                b: ground,
                g: 1.0,
            });
            path.push(Edge {
                a: (n - 1) * m + k,
                b: ground,
                g: 1.0,
            });
        }
        let mut act = path.clone();
        for (i, g) in self.coupling.iter().enumerate() {
            for k in 0..m {
                for j in 0..m {
                    if g[(k, j)] != 0.0 {
                        act.push(Edge {
                            a: i * m + j,
                            b: (i + 1) * m + k,
                            g: g[(k, j)] / self.params.d_u,
                        });
                    }
                }
            }
        }
        let g1 = Graph::new(ground + 1, act)?;
        let g2 = Graph::new(ground + 1, path)?;
        let clamp = Clamp {
            node: ground,
            u: 0.0,
            v: 0.0,
        };
        FhnNetwork::new(self.params, g1, g2, vec![0.0; ground + 1], vec![clamp])
    }

    /// Newton's method with the block-tridiagonal (layer-by-layer) sweep as linear solver.
    pub fn newton_block(
        &self,
        net: &FhnNetwork,
        s: &mut State,
        tol: f64,
        max_iter: usize,
    ) -> Result<SolveReport> {
        let (layers, width) = (self.depth, self.width);
        let solve = |net: &FhnNetwork, st: &State, nudge: Option<(&Cost, f64)>, g: &[f64]| {
            super::blocktri::layer_block_solve(layers, width, net, st, nudge, g)
        };
        newton_with(net, s, None, tol, max_iter, &solve)
    }

    /// Layer `i` of a graph state as (u^i, v^i).
    pub fn layer(&self, s: &State, i: usize) -> (Vec<f64>, Vec<f64>) {
        let r = i * self.width..(i + 1) * self.width;
        (s.u[r.clone()].to_vec(), s.v[r].to_vec())
    }

    /// The forward recursion in precision `T`, started from layers 0 and 1 of `s`
    /// (u⁰, v⁰, p⁰ = u¹ − u⁰, q⁰ = v¹ − v⁰). Returns (u^i, v^i) for every layer.
    pub fn recurse<T: Real>(&self, s: &State) -> Vec<(Vec<f64>, Vec<f64>)> {
        let (m, n, p) = (self.width, self.depth, self.params);
        let t = |x: f64| T::lit(x);
        let local = p.local::<T>();
        let (u0, v0) = self.layer(s, 0);
        let (u1, v1) = self.layer(s, 1);
        let mut u: Vec<T> = u0.iter().map(|&x| t(x)).collect();
        let mut v: Vec<T> = v0.iter().map(|&x| t(x)).collect();
        let mut pm: Vec<T> = u1.iter().zip(&u0).map(|(a, b)| t(a - b)).collect();
        let mut qm: Vec<T> = v1.iter().zip(&v0).map(|(a, b)| t(a - b)).collect();
        let mut out = vec![(u0, v0)];
        let zero = Mat::<f64>::zeros(m, m);
        for i in 1..n {
            for k in 0..m {
                u[k] += pm[k];
                v[k] += qm[k];
            }
            out.push((
                u.iter().map(|x| x.as_f64()).collect(),
                v.iter().map(|x| x.as_f64()).collect(),
            ));
            if i + 1 == n {
                break;
            }
            let gprev = &self.coupling[i - 1];
            let gnext = self.coupling.get(i).unwrap_or(&zero);
            // Right-hand side: (d_u I + G^{i−1}) p^{i−1} − f^i − (G^{i−1} + G^{iT} − diag(r + c)) u^i.
            let mut rhs = Mat::<T>::zeros(m, 1);
            for k in 0..m {
                let f = local.activator(u[k], v[k]);
                let (mut acc, mut diag) = (t(p.d_u) * pm[k] - f, t(0.0));
                for j in 0..m {
                    acc += t(gprev[(k, j)]) * (pm[j] - u[j]) - t(gnext[(j, k)]) * u[j];
                    diag += t(gprev[(k, j)] + gnext[(j, k)]);
                }
                rhs[(k, 0)] = acc + diag * u[k];
            }
            let a = Mat::<T>::from_fn(m, m, |r, c| {
                t(gnext[(c, r)] + if r == c { p.d_u } else { 0.0 })
            });
            let pnew = a.partial_piv_lu().solve(&rhs);
            for k in 0..m {
                pm[k] = pnew[(k, 0)];
                qm[k] -= t(p.eps / p.d_v) * local.inhibitor(u[k], v[k]);
            }
        }
        out
    }

    /// Discrete spatial Hamiltonian along depth (uncoupled network): with centred momenta
    /// p̄ = (p^{i−1} + p^i)/2, `H_i = Σ_k ½ d_u p̄² − (d_v/2ε) q̄² + F(u^i, v^i)`.
    pub fn hamiltonian(&self, s: &State) -> Vec<f64> {
        let p = self.params;
        (1..self.depth - 1)
            .map(|i| {
                let (ua, va) = self.layer(s, i - 1);
                let (u, v) = self.layer(s, i);
                let (ub, vb) = self.layer(s, i + 1);
                (0..self.width)
                    .map(|k| {
                        let pb = 0.5 * (ub[k] - ua[k]);
                        let qb = 0.5 * (vb[k] - va[k]);
                        0.5 * p.d_u * pb * pb - 0.5 * p.inhibitor_gain() * qb * qb
                            + p.free_energy(u[k], v[k])
                    })
                    .sum()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hamiltonian::error_curve;
    use crate::solvers::{dopri45, AdaptiveOptions};

    fn steady(rn: &ResNet) -> (FhnNetwork, State) {
        let net = rn.as_graph().unwrap();
        let mut s = net.initial_state();
        for &i in net.free_nodes() {
            s.u[i] = 0.27 + 0.01 * ((i * 7) as f64).sin();
            s.v[i] = 0.25;
        }
        let opts = AdaptiveOptions {
            rtol: 1e-7,
            atol: 1e-10,
            stop_residual: 1e-3,
            max_steps: 1_000_000,
        };
        dopri45(&net, &mut s, None, 5_000.0, opts, |_, _| {}).unwrap();
        let r = rn.newton_block(&net, &mut s, 1e-12, 40).unwrap();
        assert!(r.residual <= 1e-12, "{r:?}");
        (net, s)
    }

    #[test]
    fn recursion_reproduces_the_steady_state_before_it_diverges() {
        let rn =
            ResNet::transverse(8, 20, FhnParams::parra_rivas(0.5, 0.85, 1.08, 0.0), 0.3).unwrap();
        let (_, s) = steady(&rn);
        let rec = rn.recurse::<f64>(&s);
        let reference: Vec<Vec<f64>> = (0..rn.depth)
            .map(|i| [rn.layer(&s, i).0, rn.layer(&s, i).1].concat())
            .collect();
        let curve = error_curve(
            &rec.iter()
                .map(|(u, v)| [u.clone(), v.clone()].concat())
                .collect::<Vec<_>>(),
            &reference,
        );
        assert!(curve.per_layer[2] <= 1e-12, "{:?}", curve.per_layer);
        // The paper's inhibitor recursion (q^{i+1} = ε(u − αv − β), no q^i) fails at once.
        let (u1, v1) = rn.layer(&s, 1);
        let (_, v2) = rn.layer(&s, 2);
        let (_, v0) = rn.layer(&s, 0);
        let p = rn.params;
        let paper_q1: Vec<f64> = (0..8)
            .map(|k| p.eps * (u1[k] - p.alpha * v1[k] - p.beta))
            .collect();
        let ours_q1: Vec<f64> = (0..8)
            .map(|k| (v1[k] - v0[k]) - p.eps / p.d_v * (u1[k] - p.alpha * v1[k] - p.beta))
            .collect();
        let err = |q: &[f64]| (0..8).fold(0.0f64, |m, k| m.max((v1[k] + q[k] - v2[k]).abs()));
        assert!(
            err(&ours_q1) < 1e-12 && err(&paper_q1) > 1e-3,
            "{} {}",
            err(&ours_q1),
            err(&paper_q1)
        );
    }

    #[test]
    fn block_sweep_newton_is_exact_where_shooting_has_diverged() {
        let rn =
            ResNet::transverse(6, 100, FhnParams::parra_rivas(0.5, 0.85, 1.08, 0.0), 1.0).unwrap();
        let (net, s) = steady(&rn);
        assert!(net.residual(&s, None) <= 1e-10);
        let rec = rn.recurse::<f64>(&s);
        let last = &rec[rn.depth - 1].0;
        let truth = rn.layer(&s, rn.depth - 1).0;
        let diverged = last
            .iter()
            .zip(&truth)
            .any(|(a, b)| (a - b).is_nan() || (a - b).abs() >= 1.0);
        assert!(
            diverged,
            "forward recursion unexpectedly stayed on the steady state"
        );
    }

    #[test]
    fn graph_view_has_constant_laplacian_diagonal_on_paths() {
        let rn = ResNet::transverse(4, 5, FhnParams::table1(), 0.0).unwrap();
        let net = rn.as_graph().unwrap();
        let l = net.inhibitor.laplacian_dense();
        for i in 0..20 {
            assert_eq!(l[(i, i)], 2.0);
        }
        assert!(ResNet::transverse(0, 5, FhnParams::table1(), 0.0).is_err());
        assert!(ResNet::transverse(4, 1, FhnParams::table1(), 0.0).is_err());
        // d_u I + Gᵀ singular: coupling −d_u/2 on both neighbours of a width-4 ring.
        assert!(
            ResNet::transverse(4, 5, FhnParams::parra_rivas(1.0, 0.85, 1.08, 0.0), -0.5).is_err()
        );
    }
}
