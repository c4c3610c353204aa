//! The optimiser, separate from the estimate: [`Optimizer`] applies a gradient estimate to
//! the network; [`HeavyBall`] (SGD with heavy-ball momentum, per-layer learning rates) is the
//! trainer's default and the one the backend engine runs on the device; [`Adam`] (AdamW) is
//! the other rule `training.optimizer` names.

use super::config::{OptimizerKind, TrainingConfig};
use crate::layered::{col, Grads, LayeredNet};
use faer::Mat;
use rayon::prelude::*;

/// An update rule's per-parameter buffers (kept in checkpoints).
#[derive(Clone, Debug)]
pub struct OptimState {
    /// Heavy-ball velocity, or Adam's first moment (`mw{l}`/`mb{l}` in checkpoints).
    pub first: Grads<f32>,
    /// Adam's second moment (`vw{l}`/`vb{l}`); None under heavy ball.
    pub second: Option<Grads<f32>>,
    /// Adam updates applied so far (its bias correction); 0 under heavy ball.
    pub steps: u64,
}

impl OptimState {
    /// Zero buffers shaped like `net` for the rule `kind`.
    pub fn zeros(net: &LayeredNet<f32>, kind: OptimizerKind) -> Self {
        Self {
            first: Grads::zeros_like(net),
            second: (kind == OptimizerKind::Adam).then(|| Grads::zeros_like(net)),
            steps: 0,
        }
    }
}

/// The rule `training.optimizer` names.
pub fn from_config(training: &TrainingConfig) -> Box<dyn Optimizer> {
    match training.optimizer {
        OptimizerKind::HeavyBall => Box::new(HeavyBall::new(training)),
        OptimizerKind::Adam => Box::new(Adam::new(training)),
    }
}

/// An update rule: applies the gradient estimate to the network.
pub trait Optimizer: Send {
    /// Applies `grads` to `net` with the learning rates scaled by `lr_scale`; `state` is the
    /// rule's per-parameter buffers (kept in checkpoints); adds ‖Δθ‖/‖θ‖ of each weight
    /// matrix to `ratios[l]`.
    fn step(
        &mut self,
        net: &mut LayeredNet<f32>,
        grads: &Grads<f32>,
        state: &mut OptimState,
        lr_scale: f64,
        ratios: &mut [f64],
    );

    /// The configurable rule this is (`training.optimizer`; the backend engine runs only
    /// [`OptimizerKind::HeavyBall`]); None for a rule of the caller's own.
    fn kind(&self) -> Option<OptimizerKind> {
        None
    }
}

/// Heavy-ball SGD with the configuration's per-layer learning rates and momentum.
pub struct HeavyBall {
    training: TrainingConfig,
}

impl HeavyBall {
    /// The rule `training` configures (`lrs`, `bias_lr`, `momentum`).
    pub fn new(training: &TrainingConfig) -> Self {
        Self {
            training: training.clone(),
        }
    }
}

impl Optimizer for HeavyBall {
    fn step(
        &mut self,
        net: &mut LayeredNet<f32>,
        grads: &Grads<f32>,
        state: &mut OptimState,
        lr_scale: f64,
        ratios: &mut [f64],
    ) {
        heavy_ball(
            net,
            grads,
            &mut state.first,
            &self.training,
            lr_scale,
            ratios,
        );
    }

    fn kind(&self) -> Option<OptimizerKind> {
        Some(OptimizerKind::HeavyBall)
    }
}

/// One step `m ← μ m − η_l s (g + λW)`, `W ← W + m` for every weight matrix (η_l = `lrs[l]`,
/// λ = `weight_decay`) and `m ← μ m − η s g`, `b ← b + m` for every bias (η = `bias_lr`), with
/// s the learning-rate scale; adds ‖ΔW‖/‖W‖ of each weight matrix to `ratios[l]`.
pub(super) fn heavy_ball(
    net: &mut LayeredNet<f32>,
    grads: &Grads<f32>,
    momentum: &mut Grads<f32>,
    t: &TrainingConfig,
    lr_scale: f64,
    ratios: &mut [f64],
) {
    let (mu, s, wd) = (t.momentum as f32, lr_scale as f32, t.weight_decay as f32);
    for l in 0..net.weights.len() {
        let lr = t.lrs[l] as f32 * s;
        let (w, g, m) = (&mut net.weights[l], &grads.w[l], &mut momentum.w[l]);
        // Columns in parallel; their squared norms are added in column order (same bits as
        // one thread).
        let norms: Vec<(f64, f64)> = w
            .as_mut()
            .par_col_iter_mut()
            .zip(m.as_mut().par_col_iter_mut())
            .enumerate()
            .with_min_len(16)
            .map(|(j, (wc, mc))| {
                let wj = wc
                    .try_as_col_major_mut()
                    .expect("contiguous")
                    .as_slice_mut();
                let mj = mc
                    .try_as_col_major_mut()
                    .expect("contiguous")
                    .as_slice_mut();
                for ((wx, &gx), mx) in wj.iter_mut().zip(col(g, j)).zip(mj.iter_mut()) {
                    // Without decay the gradient as it is (a −0 stays −0: the bits of before).
                    let g = if wd != 0.0 { gx + wd * *wx } else { gx };
                    let step = mu * *mx - lr * g;
                    *mx = step;
                    *wx += step;
                }
                (sum_sq(mj), sum_sq(wj))
            })
            .collect();
        let (mut du2, mut w2) = (0.0f64, 0.0f64);
        for (d, w) in norms {
            du2 += d;
            w2 += w;
        }
        ratios[l] += (du2 / w2.max(1e-60)).sqrt();
        let blr = t.bias_lr as f32 * s;
        for ((b, g), m) in net.biases[l]
            .iter_mut()
            .zip(&grads.b[l])
            .zip(&mut momentum.b[l])
        {
            let step = mu * *m - blr * g;
            *m = step;
            *b += step;
        }
    }
}

/// Adam with decoupled weight decay (AdamW) and the configuration's per-layer learning rates.
pub struct Adam {
    training: TrainingConfig,
}

impl Adam {
    /// The rule `training` configures (`lrs`, `bias_lr`, `adam_betas`, `adam_eps`,
    /// `weight_decay`).
    pub fn new(training: &TrainingConfig) -> Self {
        Self {
            training: training.clone(),
        }
    }
}

impl Optimizer for Adam {
    /// Step t = `state.steps` + 1: `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`,
    /// `W ← W − η_l s (m̂/(√v̂ + ε) + λW)` with `m̂ = m/(1−β₁ᵗ)`, `v̂ = v/(1−β₂ᵗ)` (the decay
    /// scaled by the layer's rate and the schedule, as in PyTorch's AdamW); biases the same with
    /// η = `bias_lr` and no decay. Buffers missing from `state` start at zero.
    fn kind(&self) -> Option<OptimizerKind> {
        Some(OptimizerKind::Adam)
    }

    fn step(
        &mut self,
        net: &mut LayeredNet<f32>,
        grads: &Grads<f32>,
        state: &mut OptimState,
        lr_scale: f64,
        ratios: &mut [f64],
    ) {
        let t = &self.training;
        state.steps += 1;
        let second = state.second.get_or_insert_with(|| Grads::zeros_like(net));
        let [b1, b2] = t.adam_betas;
        let k = AdamCoefficients {
            b1: b1 as f32,
            b2: b2 as f32,
            one_minus_b1: (1.0 - b1) as f32,
            one_minus_b2: (1.0 - b2) as f32,
            c1: (1.0 / (1.0 - b1.powf(state.steps as f64))) as f32,
            c2: (1.0 / (1.0 - b2.powf(state.steps as f64))) as f32,
            eps: t.adam_eps as f32,
        };
        let (s, wd) = (lr_scale as f32, t.weight_decay as f32);
        for l in 0..net.weights.len() {
            let lr = t.lrs[l] as f32 * s;
            let (w, g) = (&mut net.weights[l], &grads.w[l]);
            let (m, v) = (&mut state.first.w[l], &mut second.w[l]);
            let norms: Vec<(f64, f64)> = w
                .as_mut()
                .par_col_iter_mut()
                .zip(m.as_mut().par_col_iter_mut())
                .zip(v.as_mut().par_col_iter_mut())
                .enumerate()
                .with_min_len(16)
                .map(|(j, ((wc, mc), vc))| {
                    let [wj, mj, vj] = [wc, mc, vc]
                        .map(|c| c.try_as_col_major_mut().expect("contiguous").as_slice_mut());
                    let mut du2 = 0.0f64;
                    for (((wx, &gx), mx), vx) in wj
                        .iter_mut()
                        .zip(col(g, j))
                        .zip(mj.iter_mut())
                        .zip(vj.iter_mut())
                    {
                        let step = -lr * (k.direction(gx, mx, vx) + wd * *wx);
                        *wx += step;
                        du2 += (step as f64).powi(2);
                    }
                    (du2, sum_sq(wj))
                })
                .collect();
            let (du2, w2) = norms
                .into_iter()
                .fold((0.0f64, 0.0f64), |(a, b), (d, w)| (a + d, b + w));
            ratios[l] += (du2 / w2.max(1e-60)).sqrt();
            let blr = t.bias_lr as f32 * s;
            let (mb, vb) = (&mut state.first.b[l], &mut second.b[l]);
            for (((b, &g), m), v) in net.biases[l].iter_mut().zip(&grads.b[l]).zip(mb).zip(vb) {
                *b -= blr * k.direction(g, m, v);
            }
        }
    }
}

/// Adam's decay rates, bias corrections 1/(1−βᵗ) and ε for one step.
struct AdamCoefficients {
    b1: f32,
    b2: f32,
    one_minus_b1: f32,
    one_minus_b2: f32,
    c1: f32,
    c2: f32,
    eps: f32,
}

impl AdamCoefficients {
    /// Updates the moments `m`, `v` with the gradient `g` and returns m̂/(√v̂ + ε).
    #[inline]
    fn direction(&self, g: f32, m: &mut f32, v: &mut f32) -> f32 {
        *m = self.b1 * *m + self.one_minus_b1 * g;
        *v = self.b2 * *v + self.one_minus_b2 * g * g;
        *m * self.c1 / ((*v * self.c2).sqrt() + self.eps)
    }
}

/// Frobenius norm.
pub(super) fn frobenius(m: &Mat<f32>) -> f64 {
    (0..m.ncols())
        .map(|j| sum_sq(col(m, j)))
        .sum::<f64>()
        .sqrt()
}

/// `Σ x²`, in 16 independent lanes so that it vectorises.
fn sum_sq(x: &[f32]) -> f64 {
    let mut acc = [0.0f32; 16];
    let chunks = x.chunks_exact(16);
    let tail: f32 = chunks.remainder().iter().map(|v| v * v).sum();
    for c in chunks {
        for (a, v) in acc.iter_mut().zip(c) {
            *a += v * v;
        }
    }
    acc.iter().map(|&a| a as f64).sum::<f64>() + tail as f64
}

#[cfg(test)]
#[path = "optim_tests.rs"]
mod tests;
