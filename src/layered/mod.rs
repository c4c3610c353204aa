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

mod anderson;
mod blocks;
mod check;
mod elementwise;
mod grad;
mod graph_view;

pub use check::{layered_gradient_check, LayeredGradientRow};
pub use graph_view::node_offsets;

pub use crate::real::Real;

pub(crate) use elementwise::{col, col_mut};
use elementwise::{entries, fused_gemv, hard_sigmoid, jacobi_update, zip_map, zip_update};

use crate::error::{Error, Result};
use crate::model::FhnParams;
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, Par};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

/// Which energy function the layered network relaxes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Diffusive FitzHugh–Nagumo units (activator + inhibitor).
    Fhn,
    /// Scellier–Bengio Hopfield energy with hard-sigmoid ρ.
    Hopfield,
}

/// Architecture and physics of a layered network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Arch {
    /// Layer widths, input first.
    pub widths: Vec<usize>,
    /// Energy function.
    pub kind: Kind,
    /// FHN parameters (d_u scales the activator coupling, d_v the inhibitor coupling).
    /// ε = 0 switches the inhibitor off (v ≡ 0).
    pub fhn: FhnParams,
    /// Couple inhibitors through the same conductances.
    pub inhibitor_coupling: bool,
    /// Leak conductance to ground on every free activator (in units of G).
    pub leak: f64,
}

impl Arch {
    /// Largest number of weights accepted (a copy in f32 is 4 GiB; training holds several).
    pub const MAX_WEIGHTS: usize = 1 << 30;

    /// Number of weight layers L.
    pub fn depth(&self) -> usize {
        self.widths.len() - 1
    }

    /// Validates widths and parameters.
    pub fn validate(&self) -> Result<()> {
        if self.widths.len() < 2 || self.widths.contains(&0) {
            return Err(Error::Invalid(format!(
                "widths must list ≥ 2 non-zero layers, got {:?}",
                self.widths
            )));
        }
        let weights = self
            .widths
            .windows(2)
            .try_fold(0usize, |acc, w| acc.checked_add(w[0].checked_mul(w[1])?));
        if weights.is_none_or(|n| n > Self::MAX_WEIGHTS) {
            return Err(Error::Invalid(format!(
                "widths {:?} need more than {} weights (4 GiB per f32 copy); refused before allocating",
                self.widths,
                Self::MAX_WEIGHTS
            )));
        }
        if self.kind == Kind::Fhn {
            let mut p = self.fhn;
            if p.eps == 0.0 {
                p.eps = 1.0; // inhibitor switched off: ε = 0 is allowed here
            }
            p.validate()?;
        }
        if !self.leak.is_finite() {
            return Err(Error::Invalid("leak must be finite".into()));
        }
        Ok(())
    }

    fn has_inhibitor(&self) -> bool {
        self.kind == Kind::Fhn && self.fhn.eps != 0.0
    }
}

/// Weights and biases of a layered network.
#[derive(Clone, Debug)]
pub struct LayeredNet<T: Real> {
    /// Architecture.
    pub arch: Arch,
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
}

/// How the layered network relaxes (see [`LayeredNet::step`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Solver {
    /// Explicit Euler (the paper's choice).
    #[default]
    Euler,
    /// Diagonally preconditioned (semi-implicit) Euler on the activator.
    Jacobi,
    /// Jacobi steps with Anderson acceleration (memory `anderson_memory`, per example).
    Anderson,
    /// `steps` Jacobi steps as a guess, then Newton's method per example on the graph view
    /// (dense LU, f64) to residual 1e-10: exact equilibria, practical for small layers only
    /// (cost O((2 Σ n_l)³) per iteration and example; FHN with ε > 0).
    Newton,
    /// Exact layer-wise red-black sweeps: every unit set to the root of its cubic given its
    /// neighbours (`blocks` module); `dt` is unused. FHN without inhibitor coupling.
    #[serde(rename = "redblack")]
    RedBlack,
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

/// The cost's force: targets (n_L × B) and nudging strength β.
#[derive(Clone, Copy)]
pub struct Nudge<'a, T: Real> {
    /// Targets, n_L × B.
    pub target: &'a Mat<T>,
    /// β (0 = free phase).
    pub beta: T,
}

impl<T: Real> LayeredNet<T> {
    /// Random weights `N(0, 1) · scale` (divided by √fan_in when `fan_in_scaling`), zero biases.
    pub fn random(
        arch: Arch,
        scale: f64,
        fan_in_scaling: bool,
        rng: &mut impl Rng,
    ) -> Result<Self> {
        let mut net = Self::zeros(arch)?;
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
    pub fn zeros(arch: Arch) -> Result<Self> {
        arch.validate()?;
        let weights = (0..arch.depth())
            .map(|l| Mat::zeros(arch.widths[l + 1], arch.widths[l]))
            .collect();
        let biases = arch.widths[1..]
            .iter()
            .map(|&n| vec![T::zero(); n])
            .collect();
        Ok(Self {
            arch,
            weights,
            biases,
        })
    }

    /// The same network in f64 (for exact solves and checks).
    pub fn to_f64(&self) -> LayeredNet<f64> {
        LayeredNet {
            arch: self.arch.clone(),
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
        self.arch.widths.len()
    }

    /// A workspace for batches of `batch` examples.
    pub fn workspace(&self, batch: usize) -> Workspace<T> {
        let w = &self.arch.widths;
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
            for (j, d) in lo[l].iter_mut().enumerate() {
                let wj = col(w, j);
                hi[0].iter_mut().zip(wj).for_each(|(r, &g)| *r += g);
                *d += wj.iter().fold(T::zero(), |s, &g| s + g);
            }
        }
        // Constant part of ∂²Φ/∂u² per node: d_u (diag + g₀) − 1 (used by the Jacobi solver).
        let (du, leak) = (T::lit(self.arch.fhn.d_u), T::lit(self.arch.leak));
        for (st, d) in ws.stiffness.iter_mut().zip(&ws.diag) {
            for (x, &dd) in st.iter_mut().zip(d) {
                *x = du * (dd + leak) - T::one();
            }
        }
    }

    /// A fresh batch state: inputs `x` (n_0 × B) clamped, hidden/output at zero.
    pub fn init_state(&self, x: Mat<T>) -> BatchState<T> {
        let b = x.ncols();
        let mut u: Vec<Mat<T>> = self.arch.widths.iter().map(|&n| Mat::zeros(n, b)).collect();
        let v = u.clone();
        u[0] = x;
        BatchState { u, v }
    }

    /// Precomputes the constant drive of the clamped input on layer 1 (once per batch).
    pub fn prepare_input(&self, st: &BatchState<T>, ws: &mut Workspace<T>, par: Par) {
        let x = self.input_activity(st, &mut ws.act);
        matmul(
            ws.input_drive.as_mut(),
            Accum::Replace,
            &self.weights[0],
            x,
            T::one(),
            par,
        );
        if self.arch.has_inhibitor() && self.arch.inhibitor_coupling {
            matmul(
                ws.input_drive_v.as_mut(),
                Accum::Replace,
                &self.weights[0],
                &st.v[0],
                T::one(),
                par,
            );
        }
    }

    fn input_activity<'a>(&self, st: &'a BatchState<T>, act: &'a mut [Mat<T>]) -> &'a Mat<T> {
        match self.arch.kind {
            Kind::Fhn => &st.u[0],
            Kind::Hopfield => {
                hard_sigmoid(&st.u[0], &mut act[0]);
                &act[0]
            }
        }
    }

    /// Computes the forces ∂Φ/∂u (into `ws.gu`) and ∂Φ/∂v (into `ws.gv`) for layers 1..=L.
    pub fn forces(
        &self,
        st: &BatchState<T>,
        ws: &mut Workspace<T>,
        nudge: Option<Nudge<T>>,
        par: Par,
    ) {
        let nl = self.layers();
        let kind = self.arch.kind;
        if kind == Kind::Hopfield {
            for l in 1..nl {
                hard_sigmoid(&st.u[l], &mut ws.act[l]);
            }
        }
        let p = self.arch.fhn;
        // Coupling currents: gu_l = α (W^{l−1} a_{l−1} + W^{lT} a_{l+1}).
        let alpha = match kind {
            Kind::Fhn => T::lit(-p.d_u),
            Kind::Hopfield => -T::one(),
        };
        {
            let act = &ws.act;
            let a = |m: usize| if kind == Kind::Fhn { &st.u[m] } else { &act[m] };
            self.couple(&ws.input_drive, a, &mut ws.gu, alpha, par);
        }
        let inhib = self.arch.has_inhibitor();
        if inhib && self.arch.inhibitor_coupling {
            let cv = T::lit(p.inhibitor_gain());
            self.couple(&ws.input_drive_v, |m| &st.v[m], &mut ws.gv, cv, par);
        }
        // Local (element-wise) terms, fused in one pass per layer.
        let (du, leak) = (T::lit(p.d_u), T::lit(self.arch.leak));
        let local = p.local::<T>();
        let cv = local.inhibitor_gain;
        for l in 1..nl {
            let out = l + 1 == nl;
            let (bias, diag) = (&self.biases[l - 1], &ws.diag[l]);
            for b in 0..ws.batch {
                let u = col(&st.u[l], b);
                let v = col(&st.v[l], b);
                let y = nudge.filter(|_| out).map(|n| (col(n.target, b), n.beta));
                let gu = col_mut(&mut ws.gu[l], b);
                // Zipped iterators (no bounds checks) so that these loops vectorise.
                match kind {
                    Kind::Fhn => {
                        for ((((g, &uk), &vk), &d), &bk) in
                            gu.iter_mut().zip(u).zip(v).zip(diag).zip(bias)
                        {
                            *g += du * (d + leak) * uk - local.activator(uk, vk) - bk;
                        }
                    }
                    Kind::Hopfield => {
                        for ((g, &uk), &bk) in gu.iter_mut().zip(u).zip(bias) {
                            let on = if uk >= T::zero() && uk <= T::one() {
                                T::one()
                            } else {
                                T::zero()
                            };
                            *g = uk + on * (*g - bk);
                        }
                    }
                }
                if let Some((y, beta)) = y {
                    for ((g, &uk), &yk) in gu.iter_mut().zip(u).zip(y) {
                        *g += beta * (uk - yk);
                    }
                }
                if inhib {
                    let gv = col_mut(&mut ws.gv[l], b);
                    if self.arch.inhibitor_coupling {
                        for (((g, &uk), &vk), &d) in gv.iter_mut().zip(u).zip(v).zip(diag) {
                            *g += local.inhibitor(uk, vk) - cv * d * vk;
                        }
                    } else {
                        for ((g, &uk), &vk) in gv.iter_mut().zip(u).zip(v) {
                            *g = local.inhibitor(uk, vk);
                        }
                    }
                }
            }
        }
    }

    /// Coupling currents `out_l = c (W^{l−1} a_{l−1} + W^{lT} a_{l+1})` for l = 1..=L, with the
    /// constant input term `W⁰ a_0 = drive` precomputed by [`Self::prepare_input`].
    fn couple<'a>(
        &self,
        drive: &Mat<T>,
        a: impl Fn(usize) -> &'a Mat<T>,
        out: &mut [Mat<T>],
        c: T,
        par: Par,
    ) where
        T: 'a,
    {
        let nl = self.layers();
        if drive.ncols() == 1 {
            // One example: each weight matrix is streamed once for both of its products.
            zip_map(out[1].as_mut(), drive.as_ref(), |x| c * x);
            for g in out[2..nl].iter_mut() {
                g.fill(T::zero());
            }
            for m in 1..nl - 1 {
                let (lo, hi) = out.split_at_mut(m + 1);
                let (down, up) = (col_mut(&mut lo[m], 0), col_mut(&mut hi[0], 0));
                fused_gemv(
                    &self.weights[m],
                    col(a(m), 0),
                    col(a(m + 1), 0),
                    c,
                    up,
                    down,
                );
            }
            return;
        }
        for l in 1..nl {
            let g = &mut out[l];
            if l == 1 {
                zip_map(g.as_mut(), drive.as_ref(), |x| c * x);
            } else {
                matmul(
                    g.as_mut(),
                    Accum::Replace,
                    &self.weights[l - 1],
                    a(l - 1),
                    c,
                    par,
                );
            }
            if l + 1 < nl {
                matmul(
                    g.as_mut(),
                    Accum::Add,
                    self.weights[l].transpose(),
                    a(l + 1),
                    c,
                    par,
                );
            }
        }
    }

    /// One relaxation step of size `dt` (computes the forces first).
    ///
    /// [`Solver::Euler`]: `u ← u − dt/τ_u · ∂Φ/∂u`, `v ← v + dt ε/τ_v · ∂Φ/∂v` (paper §III).
    /// [`Solver::Jacobi`]: the activator step is divided by `1 + dt/τ_u · max(0, h)`, with
    /// `h = d_u(diag + g₀) + 3u² − 1 (+ β at the output)` the diagonal of ∂²Φ/∂u²: a diagonally
    /// preconditioned (semi-implicit) step with the same fixed points that stays stable where
    /// Euler explodes on stiff nodes.
    pub fn step(
        &self,
        st: &mut BatchState<T>,
        ws: &mut Workspace<T>,
        nudge: Option<Nudge<T>>,
        dt: T,
        solver: Solver,
        par: Par,
    ) {
        if solver == Solver::RedBlack && self.arch.block_sweep_supported().is_ok() {
            return self.block_sweep(st, ws, nudge, par);
        }
        self.forces(st, ws, nudge, par);
        self.apply_step(st, ws, nudge, dt, solver);
    }

    /// The update of [`Self::step`] from the forces already in `ws`.
    fn apply_step(
        &self,
        st: &mut BatchState<T>,
        ws: &Workspace<T>,
        nudge: Option<Nudge<T>>,
        dt: T,
        solver: Solver,
    ) {
        let p = self.arch.fhn;
        let (ku, kv) = (dt / T::lit(p.tau_u), dt * T::lit(p.eps / p.tau_v));
        let inhib = self.arch.has_inhibitor();
        let nl = self.layers();
        for l in 1..nl {
            let (u, g) = (st.u[l].as_mut(), ws.gu[l].as_ref());
            match (self.arch.kind, solver) {
                (Kind::Fhn, Solver::Euler) => zip_update(u, g, -ku, None),
                (Kind::Fhn, _) => {
                    let out_beta = nudge
                        .filter(|_| l + 1 == nl)
                        .map_or(T::zero(), |n| n.beta.max(T::zero()));
                    jacobi_update(u, g, ku, &ws.stiffness[l], out_beta);
                }
                (Kind::Hopfield, _) => zip_update(u, g, -dt, Some((T::zero(), T::one()))),
            }
            if inhib {
                zip_update(st.v[l].as_mut(), ws.gv[l].as_ref(), kv, None);
            }
        }
    }

    /// `steps` relaxation steps. Non-finite or runaway states (|u| > 1e6) are reported with
    /// the step and the layer. Call [`Self::residual`] for ‖∂Φ/∂s‖∞ afterwards.
    #[allow(clippy::too_many_arguments)]
    pub fn relax(
        &self,
        st: &mut BatchState<T>,
        ws: &mut Workspace<T>,
        nudge: Option<Nudge<T>>,
        dt: T,
        steps: usize,
        solver: Solver,
        par: Par,
    ) -> Result<()> {
        self.relax_until(st, ws, nudge, dt, steps, 0.0, solver, par)
            .map(|_| ())
    }

    /// At most `max_steps` steps, stopping once ‖∂Φ/∂s‖∞ ≤ `tol` (read off each step's own
    /// forces, so the test costs no extra force evaluation; `tol = 0` runs all steps).
    /// Returns the number of force evaluations (steps) taken.
    #[allow(clippy::too_many_arguments)]
    pub fn relax_until(
        &self,
        st: &mut BatchState<T>,
        ws: &mut Workspace<T>,
        nudge: Option<Nudge<T>>,
        dt: T,
        max_steps: usize,
        tol: f64,
        solver: Solver,
        par: Par,
    ) -> Result<usize> {
        if solver == Solver::RedBlack {
            return self.relax_blocks(st, ws, nudge, max_steps, tol, par);
        }
        let with_v = self.arch.has_inhibitor();
        let mut accel = (solver == Solver::Anderson).then(|| {
            let n = anderson::packed_len(&self.arch.widths, with_v);
            let mut a = ws
                .anderson
                .take()
                .filter(|a| a.fits(ws.anderson_memory, n, ws.batch))
                .unwrap_or_else(|| anderson::Anderson::new(ws.anderson_memory, n, ws.batch));
            a.reset();
            a
        });
        let (mut taken, mut last) = (0, f64::INFINITY);
        for s in 0..max_steps {
            self.forces(st, ws, nudge, par);
            let r = if tol > 0.0 || accel.is_some() {
                self.force_norm(st, ws)
            } else {
                f64::INFINITY
            };
            if r <= tol {
                break;
            }
            if r.is_nan() {
                self.check_state(st, s)?;
                return Err(Error::Diverged(format!(
                    "non-finite forces at relaxation step {s}"
                )));
            }
            if let Some(a) = accel.as_mut() {
                // Safeguard: in the nonlinear transient the history can mislead; restart it
                // when the residual grows well above the best since the last restart.
                if r > 4.0 * last {
                    a.reset();
                    last = r;
                }
                last = last.min(r);
                a.before(st, with_v);
            }
            self.apply_step(st, ws, nudge, dt, solver);
            if let Some(a) = accel.as_mut() {
                a.after(st, with_v);
            }
            taken += 1;
            if s % 8 == 7 || s + 1 == max_steps {
                self.check_state(st, s)?;
            }
        }
        if accel.is_some() {
            ws.anderson = accel;
        }
        if solver == Solver::Newton {
            self.newton_polish(st, nudge)?;
        }
        Ok(taken)
    }

    /// Newton polishing of every example of the batch on the f64 graph view.
    fn newton_polish(&self, st: &mut BatchState<T>, nudge: Option<Nudge<T>>) -> Result<()> {
        let net64 = self.to_f64();
        let off = node_offsets(&self.arch.widths);
        let last = self.layers() - 1;
        for b in 0..st.u[0].ncols() {
            let x: Vec<f64> = col(&st.u[0], b).iter().map(|v| v.as_f64()).collect();
            let g = net64.as_graph(&x)?;
            let mut s = g.initial_state();
            for l in 1..self.layers() {
                for (k, (&u, &v)) in col(&st.u[l], b).iter().zip(col(&st.v[l], b)).enumerate() {
                    s.u[off[l] + k] = u.as_f64();
                    s.v[off[l] + k] = v.as_f64();
                }
            }
            let cost = nudge.map(|n| crate::network::Cost {
                outputs: (0..self.arch.widths[last]).map(|k| off[last] + k).collect(),
                targets: col(n.target, b).iter().map(|v| v.as_f64()).collect(),
            });
            let beta = nudge.map_or(0.0, |n| n.beta.as_f64());
            crate::solvers::newton(&g, &mut s, cost.as_ref().map(|c| (c, beta)), 1e-10, 50)?;
            for l in 1..self.layers() {
                for k in 0..self.arch.widths[l] {
                    col_mut(&mut st.u[l], b)[k] = T::lit(s.u[off[l] + k]);
                    col_mut(&mut st.v[l], b)[k] = T::lit(s.v[off[l] + k]);
                }
            }
        }
        Ok(())
    }

    /// FLOPs per example of one training step: the input drive once, `relax_steps` force
    /// evaluations (each 2 GEMMs per hidden layer pair, doubled with inhibitor coupling), and
    /// `grad_phases` co-content GEMMs over all weight layers.
    pub fn step_flops(&self, relax_steps: usize, grad_phases: usize) -> f64 {
        let w = &self.arch.widths;
        let all: f64 = (0..w.len() - 1).map(|l| (w[l] * w[l + 1]) as f64).sum();
        let inner = all - (w[0] * w[1]) as f64;
        let coupled = if self.arch.has_inhibitor() && self.arch.inhibitor_coupling {
            2.0
        } else {
            1.0
        };
        2.0 * (w[0] * w[1]) as f64 * coupled
            + 4.0 * inner * coupled * relax_steps as f64
            + 2.0 * all * grad_phases as f64
    }

    fn check_state(&self, st: &BatchState<T>, step: usize) -> Result<()> {
        let limit = T::lit(1e6);
        for l in 1..self.layers() {
            let all =
                (0..st.u[l].ncols()).flat_map(|b| col(&st.u[l], b).iter().chain(col(&st.v[l], b)));
            let bad = all.copied().find(|x| x.is_nan() || x.abs() > limit);
            if let Some(x) = bad {
                return Err(Error::Diverged(format!(
                    "state {} at relaxation step {step}, layer {l}",
                    x.as_f64()
                )));
            }
        }
        Ok(())
    }

    /// Residual ‖∂Φ/∂s‖∞ (for Hopfield: the projected gradient |u − clip(u − ∂E/∂u)|).
    pub fn residual(
        &self,
        st: &BatchState<T>,
        ws: &mut Workspace<T>,
        nudge: Option<Nudge<T>>,
        par: Par,
    ) -> f64 {
        self.forces(st, ws, nudge, par);
        self.force_norm(st, ws)
    }

    /// [`Self::residual`] from the forces already in `ws`; NaN when any force is NaN (a plain
    /// `max` fold would drop it and report a broken state as converged).
    fn force_norm(&self, st: &BatchState<T>, ws: &Workspace<T>) -> f64 {
        let max = |m: f64, x: f64| {
            if m.is_nan() || x.is_nan() || x > m {
                if m.is_nan() {
                    m
                } else {
                    x
                }
            } else {
                m
            }
        };
        let mut r: f64 = 0.0;
        for l in 1..self.layers() {
            for j in 0..st.u[l].ncols() {
                let (u, g) = (col(&st.u[l], j), col(&ws.gu[l], j));
                r = match self.arch.kind {
                    Kind::Fhn => g.iter().fold(r, |m, &x| max(m, x.as_f64().abs())),
                    Kind::Hopfield => u.iter().zip(g).fold(r, |m, (&u, &g)| {
                        let x = u.as_f64() - (u.as_f64() - g.as_f64()).clamp(0.0, 1.0);
                        max(m, x.abs())
                    }),
                };
                if self.arch.has_inhibitor() {
                    r = col(&ws.gv[l], j)
                        .iter()
                        .fold(r, |m, &x| max(m, x.as_f64().abs()));
                }
            }
        }
        r
    }
}

#[cfg(test)]
mod tests;
