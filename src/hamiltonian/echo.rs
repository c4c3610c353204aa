//! Hamiltonian Echo Backpropagation (HEB) through the deep residual FHN network used as a
//! feed-forward model (docs/HAMILTONIAN.md §8).
//!
//! Layers 0 … N, couplings G^0 … G^{N−1} (G^i: row = layer i+1, column = layer i), a batch of
//! examples in the columns of every layer matrix. The layer map is the Kirchhoff equation
//! ∂Φ/∂x^i = 0 of docs/HAMILTONIAN.md §2 solved for the next layer (a kick, then a drift):
//!
//! ```text
//! A_i p^i = B_{i−1} p^{i−1} − W_i u^i − f(u^i, v^i),   q^i = q^{i−1} − (ε/d_v)(u^i − αv^i − β)
//! u^{i+1} = u^i + p^i,   v^{i+1} = v^i + q^i
//! ```
//!
//! with A_i = d_u I + G^{iT}, B_j = d_u I + G^j and W_i u = G^{i−1}u + G^{iT}u − diag(r^{i−1} + c^i)u
//! (r: row sums, c: column sums). Its inverse in closed form is
//! `B_{i−1} p^{i−1} = A_i p^i + W_i u^i + f^i`, `q^{i−1} = q^i + (ε/d_v)(u^i − αv^i − β)`, and it
//! is the forward map of the mirrored network (layers reversed, every G transposed) with the
//! momenta reversed: the echo is the same physics run backwards.

use crate::error::{Error, Result};
use crate::model::FhnParams;
use crate::network::State;
use crate::real::Real;
use faer::linalg::solvers::PartialPivLu;
use faer::prelude::*;
use faer::Mat;

/// The activators and inhibitors of layers 0 … N (each m × batch).
#[derive(Clone, Debug)]
pub struct Layers<T: Real> {
    /// Activators u^0 … u^N.
    pub u: Vec<Mat<T>>,
    /// Inhibitors v^0 … v^N.
    pub v: Vec<Mat<T>>,
}

impl<T: Real> Layers<T> {
    /// The same layers in reverse order (layer N first).
    pub fn reversed(mut self) -> Self {
        self.u.reverse();
        self.v.reverse();
        self
    }

    /// Example `c` as a graph state in layer-major node order (node k of layer i is i·m + k),
    /// the order of [`EchoNet::as_graph`].
    pub fn column_state(&self, c: usize) -> State {
        let col = |l: &Vec<Mat<T>>| {
            l.iter()
                .flat_map(|x| (0..x.nrows()).map(move |k| x[(k, c)].as_f64()))
                .collect()
        };
        State {
            u: col(&self.u),
            v: col(&self.v),
        }
    }
}

/// A deep residual FHN network read as an initial-value (feed-forward) map.
#[derive(Clone, Debug)]
pub struct EchoNet {
    /// FHN parameters (d_u, d_v, ε, α, β are used).
    pub params: FhnParams,
    /// Couplings G^0 … G^{N−1}, all m × m.
    pub coupling: Vec<Mat<f64>>,
}

/// The layer-map operators of one layer, in the working precision.
struct Kick<T: Real> {
    a: PartialPivLu<T>,
    b_prev: Mat<T>,
    g_prev: Mat<T>,
    g_next_t: Mat<T>,
    diag: Vec<T>,
}

impl EchoNet {
    /// A network with the given couplings; checks shapes, finiteness and that every A_i and B_j
    /// is invertible.
    pub fn new(params: FhnParams, coupling: Vec<Mat<f64>>) -> Result<Self> {
        params.validate()?;
        let m = coupling.first().map_or(0, |g| g.nrows());
        if m == 0 || coupling.iter().any(|g| g.nrows() != m || g.ncols() != m) {
            return Err(Error::Invalid(format!(
                "couplings must be ≥ 1 square matrices of one size, got {:?}",
                coupling.iter().map(|g| g.shape()).collect::<Vec<_>>()
            )));
        }
        let net = Self { params, coupling };
        for (i, g) in net.coupling.iter().enumerate() {
            if g.norm_max().is_nan() || !g.norm_max().is_finite() {
                return Err(Error::Invalid(format!("G^{i} has a non-finite entry")));
            }
            for (name, mat) in [("d_u I + G", net.b(i)), ("d_u I + Gᵀ", net.a(i))] {
                let inv = mat.partial_piv_lu().solve(Mat::<f64>::identity(m, m));
                let cond = mat.norm_max() * inv.norm_max();
                if !cond.is_finite() || cond > 1e12 {
                    return Err(Error::Singular(format!(
                        "{name} at G^{i} (condition ~{cond:.1e})"
                    )));
                }
            }
        }
        Ok(net)
    }

    /// Width m.
    pub fn width(&self) -> usize {
        self.coupling[0].nrows()
    }

    /// Depth N (number of couplings; layers 0 … N).
    pub fn depth(&self) -> usize {
        self.coupling.len()
    }

    fn a(&self, i: usize) -> Mat<f64> {
        let g = &self.coupling[i];
        Mat::from_fn(g.nrows(), g.nrows(), |r, c| {
            g[(c, r)] + if r == c { self.params.d_u } else { 0.0 }
        })
    }

    fn b(&self, j: usize) -> Mat<f64> {
        let g = &self.coupling[j];
        Mat::from_fn(g.nrows(), g.nrows(), |r, c| {
            g[(r, c)] + if r == c { self.params.d_u } else { 0.0 }
        })
    }

    /// The mirrored network: layers in reverse order, every coupling transposed. Its forward map
    /// with reversed momenta is this network's inverse map.
    pub fn mirrored(&self) -> Self {
        Self {
            params: self.params,
            coupling: self
                .coupling
                .iter()
                .rev()
                .map(|g| g.transpose().to_owned())
                .collect(),
        }
    }

    fn kick<T: Real>(&self, i: usize) -> Kick<T> {
        let (gp, gn) = (&self.coupling[i - 1], &self.coupling[i]);
        let diag = (0..gp.nrows())
            .map(|k| {
                let row: f64 = (0..gp.ncols()).map(|j| gp[(k, j)]).sum();
                let col: f64 = (0..gn.nrows()).map(|j| gn[(j, k)]).sum();
                T::lit(row + col)
            })
            .collect();
        Kick {
            a: cast::<T>(&self.a(i)).partial_piv_lu(),
            b_prev: cast(&self.b(i - 1)),
            g_prev: cast(gp),
            g_next_t: cast(&gn.transpose().to_owned()),
            diag,
        }
    }

    /// The forward pass from layer 0 and its momenta: (u⁰, v⁰, p⁰ = u¹ − u⁰, q⁰ = v¹ − v⁰), each
    /// m × batch. Returns layers 0 … N; a non-finite layer is an error naming it.
    pub fn forward<T: Real>(
        &self,
        u0: &Mat<T>,
        v0: &Mat<T>,
        p0: &Mat<T>,
        q0: &Mat<T>,
    ) -> Result<Layers<T>> {
        let (m, n) = (self.width(), self.depth());
        let bsz = u0.ncols();
        for (name, x) in [("u⁰", u0), ("v⁰", v0), ("p⁰", p0), ("q⁰", q0)] {
            if x.nrows() != m || x.ncols() != bsz {
                return Err(Error::Invalid(format!(
                    "{name} is {}×{}, expected {m}×{bsz}",
                    x.nrows(),
                    x.ncols()
                )));
            }
        }
        let p = self.params;
        let local = p.local::<T>();
        let gain = T::lit(p.eps / p.d_v);
        let (mut u, mut v) = (vec![u0.clone()], vec![v0.clone()]);
        let (mut pm, mut qm) = (p0.clone(), q0.clone());
        for i in 1..=n {
            u.push(&u[i - 1] + &pm);
            v.push(&v[i - 1] + &qm);
            if !finite(&u[i]) || !finite(&v[i]) {
                return Err(Error::Diverged(format!(
                    "forward pass: layer {i} of {n} is not finite"
                )));
            }
            if i == n {
                break;
            }
            let k = self.kick::<T>(i);
            let (ui, vi) = (&u[i], &v[i]);
            let mut rhs = &k.b_prev * &pm - &k.g_prev * ui - &k.g_next_t * ui;
            for c in 0..bsz {
                for r in 0..m {
                    let (x, y) = (ui[(r, c)], vi[(r, c)]);
                    rhs[(r, c)] = rhs[(r, c)] + k.diag[r] * x - local.activator(x, y);
                    qm[(r, c)] -= gain * local.inhibitor(x, y);
                }
            }
            pm = k.a.solve(&rhs);
        }
        Ok(Layers { u, v })
    }

    /// The inverse map: from layers N and N−1 back to layer 0 (the forward pass of the mirrored
    /// network with reversed momenta). Returns layers 0 … N in natural order.
    pub fn reverse<T: Real>(
        &self,
        top: (&Mat<T>, &Mat<T>),
        below: (&Mat<T>, &Mat<T>),
    ) -> Result<Layers<T>> {
        let (p, q) = (below.0 - top.0, below.1 - top.1);
        let back = self
            .mirrored()
            .forward(top.0, top.1, &p, &q)
            .map_err(|e| match e {
                Error::Diverged(m) => Error::Diverged(format!("reversed pass (mirrored {m})")),
                e => e,
            })?;
        Ok(back.reversed())
    }

    /// The echo: the output's canonical momentum kicked by −η ∂L/∂u^N (i.e. layer N−1 displaced
    /// by η B_{N−1}⁻¹ ∂L/∂u^N, layer N unchanged), then the reversed pass back to layer 0.
    pub fn echo<T: Real>(&self, fwd: &Layers<T>, dl_du: &Mat<T>, eta: f64) -> Result<Layers<T>> {
        let n = self.depth();
        let xi = cast::<T>(&self.b(n - 1)).partial_piv_lu().solve(dl_du);
        let below = &fwd.u[n - 1] + &xi * faer::Scale(T::lit(eta));
        self.reverse((&fwd.u[n], &fwd.v[n]), (&below, &fwd.v[n - 1]))
    }

    /// dL/dθ from the forward pass and echoes (`minus`: the echo with −η for the centered
    /// estimate, error O(η²); `None`: one-sided against the forward pass, error O(η)).
    pub fn echo_gradient<T: Real>(
        &self,
        fwd: &Layers<T>,
        plus: &Layers<T>,
        minus: Option<&Layers<T>>,
        eta: f64,
    ) -> Gradient {
        let (base, denom) = match minus {
            Some(m) => (m, 2.0 * eta),
            None => (fwd, eta),
        };
        let n = self.depth();
        // ξ ≈ (x_plus − x_base)/denom, with ξ at the input layer excluded from the couplings.
        let diff = |i: usize| to_f64(&(&plus.u[i] - &base.u[i])) * faer::Scale(1.0 / denom);
        let sum = |i: usize| to_f64(&(&plus.u[i] + &base.u[i])) * faer::Scale(0.5);
        let coupling = (0..n)
            .map(|m| {
                // ½(Δ₊² − Δ₋²)/denom with Δ_kj = u^{m+1}_k − u^m_j, written as (d_k − d_j)(s_k − s_j).
                let (d1, s1) = (diff(m + 1), sum(m + 1));
                let (d0, s0) = if m == 0 {
                    (Mat::zeros(d1.nrows(), d1.ncols()), to_f64(&fwd.u[0]))
                } else {
                    (diff(m), sum(m))
                };
                let rows: Vec<f64> = (0..d1.nrows()).map(|k| dot_row(&d1, &s1, k)).collect();
                let cols: Vec<f64> = (0..d0.nrows()).map(|j| dot_row(&d0, &s0, j)).collect();
                let cross = &d1 * s0.transpose() + &s1 * d0.transpose();
                Mat::from_fn(d1.nrows(), d0.nrows(), |k, j| {
                    rows[k] + cols[j] - cross[(k, j)]
                })
            })
            .collect();
        // Input: dL/du⁰ = −B_0ᵀ ξ¹, dL/du¹ = B_0 ξ⁰; dL/dv⁰ = (d_v/ε) ξ¹_v, dL/dv¹ = −(d_v/ε) ξ⁰_v.
        let b0 = self.b(0);
        let dv = |i: usize| to_f64(&(&plus.v[i] - &base.v[i])) * faer::Scale(1.0 / denom);
        let gain = self.params.inhibitor_gain();
        Gradient {
            coupling,
            u0: -(b0.transpose() * diff(1)),
            u1: &b0 * diff(0),
            v0: dv(1) * faer::Scale(gain),
            v1: dv(0) * faer::Scale(-gain),
        }
    }
}

/// dL/dθ of the initial-value map: couplings and the initial layers (each summed over the batch
/// for the couplings, per example for the inputs).
#[derive(Clone, Debug)]
pub struct Gradient {
    /// dL/dG^m, m = 0 … N−1.
    pub coupling: Vec<Mat<f64>>,
    /// dL/du⁰ at fixed u¹ (m × batch).
    pub u0: Mat<f64>,
    /// dL/du¹ at fixed u⁰.
    pub u1: Mat<f64>,
    /// dL/dv⁰ at fixed v¹.
    pub v0: Mat<f64>,
    /// dL/dv¹ at fixed v⁰.
    pub v1: Mat<f64>,
}

impl Gradient {
    /// All entries in one vector (couplings in order, then u⁰, u¹, v⁰, v¹; column-major).
    pub fn flat(&self) -> Vec<f64> {
        let mats = self
            .coupling
            .iter()
            .chain([&self.u0, &self.u1, &self.v0, &self.v1]);
        mats.flat_map(flat).collect()
    }
}

fn dot_row(a: &Mat<f64>, b: &Mat<f64>, r: usize) -> f64 {
    (0..a.ncols()).map(|c| a[(r, c)] * b[(r, c)]).sum()
}

/// A matrix's entries in one vector, column-major.
pub fn flat(m: &Mat<f64>) -> Vec<f64> {
    (0..m.ncols())
        .flat_map(|c| (0..m.nrows()).map(move |r| m[(r, c)]))
        .collect()
}

/// Casts an f64 matrix to precision `T`.
pub fn cast<T: Real>(m: &Mat<f64>) -> Mat<T> {
    Mat::from_fn(m.nrows(), m.ncols(), |r, c| T::lit(m[(r, c)]))
}

/// Casts a matrix to f64.
pub fn to_f64<T: Real>(m: &Mat<T>) -> Mat<f64> {
    Mat::from_fn(m.nrows(), m.ncols(), |r, c| m[(r, c)].as_f64())
}

fn finite<T: Real>(m: &Mat<T>) -> bool {
    (0..m.ncols()).all(|c| (0..m.nrows()).all(|r| m[(r, c)].as_f64().is_finite()))
}
