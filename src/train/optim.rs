//! The optimiser: heavy-ball SGD on the EqProp gradient estimate, per-layer learning rates.

use super::config::TrainingConfig;
use crate::layered::{col, col_mut, Grads, LayeredNet};
use faer::Mat;

/// One step `m ← μ m − η_l s g`, `θ ← θ + m` for every weight matrix (η_l = `lrs[l]`) and bias
/// (η = `bias_lr`), with s the learning-rate scale; adds ‖Δθ‖/‖θ‖ of each weight matrix to
/// `ratios[l]`.
pub(super) fn heavy_ball(
    net: &mut LayeredNet<f32>,
    grads: &Grads<f32>,
    momentum: &mut Grads<f32>,
    t: &TrainingConfig,
    lr_scale: f64,
    ratios: &mut [f64],
) {
    let (mu, s) = (t.momentum as f32, lr_scale as f32);
    for l in 0..net.weights.len() {
        let lr = t.lrs[l] as f32 * s;
        let (w, g, m) = (&mut net.weights[l], &grads.w[l], &mut momentum.w[l]);
        let (mut du2, mut w2) = (0.0f64, 0.0f64);
        for j in 0..w.ncols() {
            let (wj, gj, mj) = (col_mut(w, j), col(g, j), col_mut(m, j));
            for ((wx, &gx), mx) in wj.iter_mut().zip(gj).zip(mj.iter_mut()) {
                let step = mu * *mx - lr * gx;
                *mx = step;
                *wx += step;
            }
            du2 += sum_sq(mj);
            w2 += sum_sq(wj);
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
