//! Layered (deep) networks for training: batched, GEMM-based relaxation and EqProp statistics.
//!
//! Layers 0..=L with widths n_l; layer 0 is clamped to the input. Adjacent layers are coupled by
//! dense matrices `W^l` (n_{l+1} × n_l). States are stored neurons × batch (column = example).
//!
//! **FHN** (docs/MODEL.md §5): `W^l = G^l` are conductances between activators; the potential
//! is the graph potential of [`crate::network`] on the layered graph,
//! `Φ = ½ d_u Σ_l Σ_kj G^l_kj (u^l_j − u^{l+1}_k)² + ½ d_u g₀ Σ u² − Σ F(u, v) − Σ bᵀu`
//! `    − (d_v/2ε) Σ_l Σ_kj G^l_kj (v^l_j − v^{l+1}_k)²` (only with inhibitor coupling),
//! with a leak conductance g₀ to ground on every free activator (0 in the paper).
//! `∂Φ/∂G_kj = ½ d_u Σ_b (u_j − u_k)²` (− the inhibitor analogue): the local co-content rule.
//!
//! **Hopfield** (Scellier & Bengio 2017): `E = ½Σu² − Σ_l ρ(u^{l+1})ᵀW^l ρ(u^l) − Σ bᵀρ(u)`,
//! ρ = hard sigmoid clip(·, 0, 1); `∂E/∂W^l = −ρ(u^{l+1}) ρ(u^l)ᵀ`.
//!
//! Both relax with explicit Euler steps; the cost C = ½‖u_L − y‖² adds β(u_L − y) to the
//! output force. The same GEMM code computes the couplings of both kinds.

mod active_set;
mod anderson;
mod blocks;
mod check;
pub mod coupling;
mod elementwise;
pub mod energy;
pub mod equilibrium;
mod forces;
mod grad;
mod graph_view;
mod relax;
pub mod relaxer;
mod spec;

pub use check::{layered_gradient_check, LayeredGradientRow};
pub use graph_view::node_offsets;

pub use crate::real::Real;
pub use relax::Phase;
pub use spec::{Kind, LayeredModel, Solver};

use elementwise::entries;
pub(crate) use elementwise::{col, col_mut};

use crate::error::Result;
use coupling::Coupling;
use faer::Mat;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// Weights and biases of a layered network.
#[derive(Clone, Debug)]
pub struct LayeredNet<T: Real> {
    /// Architecture.
    pub model: LayeredModel,
    /// `weights[l]`: W^l, n_{l+1} × n_l.
    pub weights: Vec<Mat<T>>,
    /// `biases[l]`: bias (injected current) of layer l + 1.
    pub biases: Vec<Vec<T>>,
}

/// The state of a batch: `u[l]`, `v[l]` are n_l × B (layer 0 is the clamped input).
#[derive(Clone, Debug)]
pub struct BatchState<T: Real> {
    /// Activators (or Hopfield states).
    pub u: Vec<Mat<T>>,
    /// Inhibitors (zero for Hopfield or ε = 0).
    pub v: Vec<Mat<T>>,
}

/// Gradients (or any per-parameter quantity) shaped like the network.
#[derive(Clone, Debug)]
pub struct Grads<T: Real> {
    /// Per weight matrix.
    pub w: Vec<Mat<T>>,
    /// Per bias vector.
    pub b: Vec<Vec<T>>,
}

impl<T: Real> Grads<T> {
    /// Zeros shaped like `net`.
    pub fn zeros_like(net: &LayeredNet<T>) -> Self {
        Self {
            w: net
                .weights
                .iter()
                .map(|w| Mat::zeros(w.nrows(), w.ncols()))
                .collect(),
            b: net
                .biases
                .iter()
                .map(|b| vec![T::zero(); b.len()])
                .collect(),
        }
    }

    /// Sets every entry to zero.
    pub fn clear(&mut self) {
        self.w.iter_mut().for_each(|w| w.fill(T::zero()));
        self.b.iter_mut().for_each(|b| b.fill(T::zero()));
    }

    /// Entries in all (weights and biases).
    pub fn len(&self) -> usize {
        let w: usize = self.w.iter().map(|w| w.nrows() * w.ncols()).sum();
        w + self.b.iter().map(Vec::len).sum::<usize>()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes every entry to `out` (length [`Grads::len`]): each weight matrix column by
    /// column, then the biases; [`Grads::read_from`] is the inverse.
    pub fn write_to(&self, out: &mut [T]) {
        assert_eq!(out.len(), self.len(), "flat gradient length");
        let mut at = 0;
        for w in &self.w {
            for j in 0..w.ncols() {
                for i in 0..w.nrows() {
                    out[at] = w[(i, j)];
                    at += 1;
                }
            }
        }
        for b in &self.b {
            out[at..at + b.len()].copy_from_slice(b);
            at += b.len();
        }
    }

    /// Sets every entry from `flat`, laid out as [`Grads::write_to`] writes it.
    pub fn read_from(&mut self, flat: &[T]) {
        assert_eq!(flat.len(), self.len(), "flat gradient length");
        let mut at = 0;
        for w in self.w.iter_mut() {
            for j in 0..w.ncols() {
                for i in 0..w.nrows() {
                    w[(i, j)] = flat[at];
                    at += 1;
                }
            }
        }
        for b in self.b.iter_mut() {
            let n = b.len();
            b.copy_from_slice(&flat[at..at + n]);
            at += n;
        }
    }
}

/// Preallocated buffers for relaxation (nothing is allocated per step).
#[derive(Clone, Debug)]
pub struct Workspace<T: Real> {
    gu: Vec<Mat<T>>,
    gv: Vec<Mat<T>>,
    act: Vec<Mat<T>>,
    input_drive: Mat<T>,
    input_drive_v: Mat<T>,
    diag: Vec<Vec<T>>,
    stiffness: Vec<Vec<T>>,
    delta: Vec<Mat<T>>,
    sum: Vec<Mat<T>>,
    anderson: Option<anderson::Anderson<T>>,
    /// Anderson memory m used by [`Solver::Anderson`] (default 5).
    pub anderson_memory: usize,
    batch: usize,
}

impl<T: Real> Workspace<T> {
    /// Takes the Laplacian diagonal (and the solver's stiffness) [`LayeredNet::refresh_diagonal`]
    /// computed in `other`, a workspace of the same network.
    pub fn copy_diagonal_from(&mut self, other: &Workspace<T>) {
        self.diag.clone_from(&other.diag);
        self.stiffness.clone_from(&other.stiffness);
    }
}

/// The cost's force: targets (n_L × B) and nudging strength β.
#[derive(Clone, Copy)]
pub struct Nudge<'a, T: Real> {
    /// Targets, n_L × B.
    pub target: &'a Mat<T>,
    /// The output force's gain 2·cost_scale·β of `Φ + β C` with C = cost_scale‖u_L − y‖²
    /// (0: the free phase; negative: the −β phase of centered EqProp).
    pub gain: T,
}

impl<T: Real> LayeredNet<T> {
    /// Random weights `N(0, 1) · scale` (divided by √fan_in when `fan_in_scaling`), zero biases.
    pub fn random(
        model: LayeredModel,
        scale: f64,
        fan_in_scaling: bool,
        rng: &mut impl Rng,
    ) -> Result<Self> {
        let mut net = Self::zeros(model)?;
        for w in net.weights.iter_mut() {
            let s = if fan_in_scaling {
                scale / (w.ncols() as f64).sqrt()
            } else {
                scale
            };
            *w = Mat::from_fn(w.nrows(), w.ncols(), |_, _| {
                let z: f64 = StandardNormal.sample(rng);
                T::lit(z * s)
            });
        }
        Ok(net)
    }

    /// All-zero weights and biases.
    pub fn zeros(model: LayeredModel) -> Result<Self> {
        model.validate()?;
        let weights = (0..model.depth())
            .map(|l| Mat::zeros(model.widths[l + 1], model.widths[l]))
            .collect();
        let biases = model.widths[1..]
            .iter()
            .map(|&n| vec![T::zero(); n])
            .collect();
        Ok(Self {
            model,
            weights,
            biases,
        })
    }

    /// The same network in f64 (for exact solves and checks).
    pub fn to_f64(&self) -> LayeredNet<f64> {
        LayeredNet {
            model: self.model.clone(),
            weights: self
                .weights
                .iter()
                .map(|w| Mat::from_fn(w.nrows(), w.ncols(), |i, j| w[(i, j)].as_f64()))
                .collect(),
            biases: self
                .biases
                .iter()
                .map(|b| b.iter().map(|x| x.as_f64()).collect())
                .collect(),
        }
    }

    /// Number of layers including the input.
    pub fn layers(&self) -> usize {
        self.model.widths.len()
    }

    /// A workspace for batches of `batch` examples.
    pub fn workspace(&self, batch: usize) -> Workspace<T> {
        let w = &self.model.widths;
        let zeros = |n: usize| Mat::zeros(n, batch);
        let mut ws = Workspace {
            gu: w.iter().map(|&n| zeros(n)).collect(),
            gv: w.iter().map(|&n| zeros(n)).collect(),
            act: w.iter().map(|&n| zeros(n)).collect(),
            input_drive: zeros(w[1]),
            input_drive_v: zeros(w[1]),
            diag: w.iter().map(|&n| vec![T::zero(); n]).collect(),
            stiffness: w.iter().map(|&n| vec![T::zero(); n]).collect(),
            delta: w.iter().map(|&n| zeros(n)).collect(),
            sum: w.iter().map(|&n| zeros(n)).collect(),
            anderson: None,
            anderson_memory: 5,
            batch,
        };
        self.refresh_diagonal(&mut ws);
        ws
    }

    /// Recomputes the Laplacian diagonal of every layer (call after changing the weights):
    /// `diag_l = rowsum(G^{l−1}) + colsum(G^l)` (the leak is added to the activator only).
    pub fn refresh_diagonal(&self, ws: &mut Workspace<T>) {
        for d in ws.diag.iter_mut() {
            d.fill(T::zero());
        }
        for (l, w) in self.weights.iter().enumerate() {
            let (lo, hi) = ws.diag.split_at_mut(l + 1);
            w.add_to_diagonal(&mut lo[l], &mut hi[0]);
        }
        // Constant part of ∂²Φ/∂u² per node: d_u (diag + g₀) − 1 (used by the Jacobi solver).
        let (du, leak) = (T::lit(self.model.fhn.d_u), T::lit(self.model.leak));
        for (st, d) in ws.stiffness.iter_mut().zip(&ws.diag) {
            for (x, &dd) in st.iter_mut().zip(d) {
                *x = du * (dd + leak) - T::one();
            }
        }
    }

    /// A fresh batch state: inputs `x` (n_0 × B) clamped, hidden/output at zero.
    pub fn init_state(&self, x: Mat<T>) -> BatchState<T> {
        let b = x.ncols();
        let mut u: Vec<Mat<T>> = self
            .model
            .widths
            .iter()
            .map(|&n| Mat::zeros(n, b))
            .collect();
        let v = u.clone();
        u[0] = x;
        BatchState { u, v }
    }

    /// FLOPs per example of one training step: the input drive once, `relax_steps` force
    /// evaluations (each 2 GEMMs per hidden layer pair, doubled with inhibitor coupling), and
    /// `grad_phases` co-content GEMMs over all weight layers.
    pub fn step_flops(&self, relax_steps: usize, grad_phases: usize) -> f64 {
        let w = &self.model.widths;
        let all: f64 = (0..w.len() - 1).map(|l| (w[l] * w[l + 1]) as f64).sum();
        let inner = all - (w[0] * w[1]) as f64;
        let coupled = if self.model.has_inhibitor() && self.model.inhibitor_coupling {
            2.0
        } else {
            1.0
        };
        2.0 * (w[0] * w[1]) as f64 * coupled
            + 4.0 * inner * coupled * relax_steps as f64
            + 2.0 * all * grad_phases as f64
    }
}

#[cfg(test)]
mod solver_tests;
#[cfg(test)]
mod tests;
