//! The update rules against their formulas written out in f64.

use super::*;
use crate::train::config::TrainConfig;
use rand::SeedableRng;

/// The `tiny` preset's training settings and a 3-4-2 network drawn with `seed`, with biases.
fn small_net(seed: u64) -> (TrainingConfig, LayeredNet<f32>) {
    let mut cfg = TrainConfig::preset("tiny").unwrap();
    cfg.model.widths = vec![3, 4, 2];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut net = LayeredNet::<f32>::random(cfg.model, 1.0, false, &mut rng).unwrap();
    net.biases = vec![vec![0.1, -0.2, 0.3, 0.05], vec![-0.4, 0.25]];
    (cfg.training, net)
}

/// Two heavy-ball steps against the formula written out in f64: weights, biases, both
/// momentum buffers and the reported update/weight ratios.
#[test]
fn heavy_ball_follows_its_formula() {
    let (base, mut net) = small_net(9);
    let t = TrainingConfig {
        lrs: vec![0.3, 0.07],
        bias_lr: 0.11,
        momentum: 0.6,
        weight_decay: 0.05,
        ..base
    };
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
                    let g =
                        grads.w[l][(i, j)] as f64 + t.weight_decay * w.weights[l][(i, j)] as f64;
                    let step = t.momentum * m.w[l][(i, j)] as f64 - lr * g;
                    m.w[l][(i, j)] = step as f32;
                    w.weights[l][(i, j)] += step as f32;
                    du2 += step * step;
                    w2 += (w.weights[l][(i, j)] as f64).powi(2);
                }
            }
            expected_ratios[l] += (du2 / w2).sqrt();
            for k in 0..w.biases[l].len() {
                let step = t.momentum * m.b[l][k] as f64 - t.bias_lr * scale * grads.b[l][k] as f64;
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

/// Three AdamW steps against the formula written out in f64 (moments, bias correction,
/// decoupled decay on the weights only, per-layer and bias rates, the step counter and the
/// update/weight ratios); the gradient changes between steps so that both moments matter.
#[test]
fn adam_follows_its_formula() {
    let (base, mut net) = small_net(4);
    let t = TrainingConfig {
        lrs: vec![0.03, 0.007],
        bias_lr: 0.011,
        momentum: 0.0,
        optimizer: OptimizerKind::Adam,
        adam_betas: [0.8, 0.95],
        adam_eps: 1e-3,
        weight_decay: 0.05,
        ..base
    };
    let zero = Grads::zeros_like(&net);
    let grads_at = |k: usize| {
        let mut g = zero.clone();
        for (l, m) in g.w.iter_mut().enumerate() {
            *m = Mat::from_fn(m.nrows(), m.ncols(), |i, j| {
                ((i + 2 * k) as f32 - 2.0 * j as f32 + l as f32) * 0.3
            });
        }
        g.b = vec![
            vec![0.5, -1.0, 0.25 * k as f32, 2.0],
            vec![-0.75, 1.5 - k as f32],
        ];
        g
    };
    let mut state = OptimState::zeros(&net, OptimizerKind::Adam);
    let mut adam = from_config(&t);
    assert_eq!(adam.kind(), Some(OptimizerKind::Adam));
    let mut w = net.clone();
    let (mut m, mut v) = (Grads::zeros_like(&net), Grads::zeros_like(&net));
    let (mut ratios, mut expected_ratios) = (vec![0.0; 2], [0.0f64; 2]);
    let scale = 0.5;
    let [b1, b2] = t.adam_betas;
    for k in 1..=3 {
        let g = grads_at(k);
        adam.step(&mut net, &g, &mut state, scale, &mut ratios);
        let (c1, c2) = (1.0 - b1.powi(k as i32), 1.0 - b2.powi(k as i32));
        let dir = |g: f32, m: &mut f32, v: &mut f32| {
            let (g, m0, v0) = (g as f64, *m as f64, *v as f64);
            let (m1, v1) = (b1 * m0 + (1.0 - b1) * g, b2 * v0 + (1.0 - b2) * g * g);
            (*m, *v) = (m1 as f32, v1 as f32);
            (m1 / c1) / ((v1 / c2).sqrt() + t.adam_eps)
        };
        for l in 0..2 {
            let lr = t.lrs[l] * scale;
            let (mut du2, mut w2) = (0.0, 0.0);
            for j in 0..w.weights[l].ncols() {
                for i in 0..w.weights[l].nrows() {
                    let x = w.weights[l][(i, j)] as f64;
                    let d = dir(g.w[l][(i, j)], &mut m.w[l][(i, j)], &mut v.w[l][(i, j)]);
                    let step = -lr * (d + t.weight_decay * x);
                    w.weights[l][(i, j)] = (x + step) as f32;
                    du2 += step * step;
                    w2 += (x + step).powi(2);
                }
            }
            expected_ratios[l] += (du2 / w2).sqrt();
            for n in 0..w.biases[l].len() {
                let d = dir(g.b[l][n], &mut m.b[l][n], &mut v.b[l][n]);
                w.biases[l][n] -= (t.bias_lr * scale * d) as f32;
            }
        }
    }
    assert_eq!(state.steps, 3);
    let second = state.second.as_ref().unwrap();
    let close = |a: f32, b: f32| (a - b).abs() <= 1e-5 * (1.0 + b.abs());
    for l in 0..2 {
        for j in 0..w.weights[l].ncols() {
            for i in 0..w.weights[l].nrows() {
                assert!(close(net.weights[l][(i, j)], w.weights[l][(i, j)]), "w{l}");
                assert!(close(state.first.w[l][(i, j)], m.w[l][(i, j)]), "mw{l}");
                assert!(close(second.w[l][(i, j)], v.w[l][(i, j)]), "vw{l}");
            }
        }
        for n in 0..w.biases[l].len() {
            assert!(close(net.biases[l][n], w.biases[l][n]), "b{l}");
            assert!(close(state.first.b[l][n], m.b[l][n]), "mb{l}");
            assert!(close(second.b[l][n], v.b[l][n]), "vb{l}");
        }
        let r = (ratios[l] - expected_ratios[l]).abs() / expected_ratios[l];
        assert!(
            r < 1e-5,
            "ratio {l}: {} vs {}",
            ratios[l],
            expected_ratios[l]
        );
    }
}
