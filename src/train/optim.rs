//! The optimiser, separate from the estimate: [`Optimizer`] applies a gradient estimate to
//! the network; [`HeavyBall`] (SGD with heavy-ball momentum, per-layer learning rates) is the
//! trainer's default and the one the backend engine runs on the device.

use super::config::TrainingConfig;
use crate::layered::{col, Grads, LayeredNet};
use faer::Mat;
use rayon::prelude::*;

/// An update rule: applies the gradient estimate to the network.
pub trait Optimizer: Send {
    /// Applies `grads` to `net` with the learning rates scaled by `lr_scale`; `state` is the
    /// rule's per-parameter buffer (kept in checkpoints); adds ‖Δθ‖/‖θ‖ of each weight matrix
    /// to `ratios[l]`.
    fn step(
        &mut self,
        net: &mut LayeredNet<f32>,
        grads: &Grads<f32>,
        state: &mut Grads<f32>,
        lr_scale: f64,
        ratios: &mut [f64],
    );

    /// Whether this is [`HeavyBall`] (the rule the backend engine runs on the device).
    fn is_heavy_ball(&self) -> bool {
        false
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
        state: &mut Grads<f32>,
        lr_scale: f64,
        ratios: &mut [f64],
    ) {
        heavy_ball(net, grads, state, &self.training, lr_scale, ratios);
    }

    fn is_heavy_ball(&self) -> bool {
        true
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
mod tests {
    use super::*;
    use crate::train::config::TrainConfig;
    use rand::SeedableRng;

    /// Two heavy-ball steps against the formula written out in f64: weights, biases, both
    /// momentum buffers and the reported update/weight ratios.
    #[test]
    fn heavy_ball_follows_its_formula() {
        let mut cfg = TrainConfig::preset("tiny").unwrap();
        cfg.model.widths = vec![3, 4, 2];
        let t = TrainingConfig {
            lrs: vec![0.3, 0.07],
            bias_lr: 0.11,
            momentum: 0.6,
            weight_decay: 0.05,
            ..cfg.training.clone()
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let mut net = LayeredNet::<f32>::random(cfg.model.clone(), 1.0, false, &mut rng).unwrap();
        net.biases = vec![vec![0.1, -0.2, 0.3, 0.05], vec![-0.4, 0.25]];
        let mut grads = Grads::zeros_like(&net);
        for (l, g) in grads.w.iter_mut().enumerate() {
            *g = Mat::from_fn(g.nrows(), g.ncols(), |i, j| {
                (i as f32 - 2.0 * j as f32 + l as f32) * 0.3
            });
        }
        grads.b = vec![vec![0.5, -1.0, 0.25, 2.0], vec![-0.75, 1.5]];
        let mut mom = Grads::zeros_like(&net);
        let (mut w, mut m) = (net.clone(), mom.clone());
        let mut ratios = vec![0.0; 2];
        let scale = 0.5;
        for _ in 0..2 {
            heavy_ball(&mut net, &grads, &mut mom, &t, scale, &mut ratios);
        }
        let mut expected_ratios = [0.0f64; 2];
        for _ in 0..2 {
            for l in 0..2 {
                let lr = t.lrs[l] * scale;
                let (mut du2, mut w2) = (0.0, 0.0);
                for j in 0..w.weights[l].ncols() {
                    for i in 0..w.weights[l].nrows() {
                        let g = grads.w[l][(i, j)] as f64
                            + t.weight_decay * w.weights[l][(i, j)] as f64;
                        let step = t.momentum * m.w[l][(i, j)] as f64 - lr * g;
                        m.w[l][(i, j)] = step as f32;
                        w.weights[l][(i, j)] += step as f32;
                        du2 += step * step;
                        w2 += (w.weights[l][(i, j)] as f64).powi(2);
                    }
                }
                expected_ratios[l] += (du2 / w2).sqrt();
                for k in 0..w.biases[l].len() {
                    let step =
                        t.momentum * m.b[l][k] as f64 - t.bias_lr * scale * grads.b[l][k] as f64;
                    m.b[l][k] = step as f32;
                    w.biases[l][k] += step as f32;
                }
            }
        }
        let close = |a: f32, b: f32| (a - b).abs() <= 1e-6 * (1.0 + b.abs());
        for l in 0..2 {
            for j in 0..w.weights[l].ncols() {
                for i in 0..w.weights[l].nrows() {
                    assert!(close(net.weights[l][(i, j)], w.weights[l][(i, j)]), "w{l}");
                    assert!(close(mom.w[l][(i, j)], m.w[l][(i, j)]), "mw{l}");
                }
            }
            for k in 0..w.biases[l].len() {
                assert!(close(net.biases[l][k], w.biases[l][k]), "b{l}");
                assert!(close(mom.b[l][k], m.b[l][k]), "mb{l}");
            }
            let r = (ratios[l] - expected_ratios[l]).abs() / expected_ratios[l];
            assert!(
                r < 1e-5,
                "ratio {l}: {} vs {}",
                ratios[l],
                expected_ratios[l]
            );
        }
        assert!(
            (frobenius(&net.weights[1]) - {
                let m = &net.weights[1];
                (0..m.ncols())
                    .flat_map(|j| (0..m.nrows()).map(move |i| (m[(i, j)] as f64).powi(2)))
                    .sum::<f64>()
                    .sqrt()
            })
            .abs()
                < 1e-6
        );
    }
}
