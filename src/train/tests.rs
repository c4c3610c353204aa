//! Tests that fail when learning breaks: the update the sharded f32 trainer applies against an
//! independent f64 EqProp estimator and against the exact gradient (implicit differentiation
//! on the graph view), a short MNIST run that must learn, and bit-identical resume with
//! momentum.

use super::config::TrainConfig;
use super::*;
use crate::data::Split;
use crate::eqprop::{cosine, implicit_gradient, relative_error};
use crate::layered::{node_offsets, Nudge, Phase};
use crate::network::Cost;
use crate::solvers::steady_state;
use faer::{Mat, Par};

pub(super) fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("fhn-train-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// `n` deterministic pseudo-random images of `pixels` bytes with labels 0..classes.
pub(super) fn synthetic_split(n: usize, pixels: usize, classes: u8, seed: u64) -> Split {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    Split {
        images: (0..n * pixels).map(|_| (next() % 256) as u8).collect(),
        labels: (0..n).map(|_| (next() % classes as u64) as u8).collect(),
        pixels,
    }
}

pub(super) fn synthetic_data(pixels: usize, classes: u8) -> Dataset {
    Dataset {
        train: synthetic_split(40, pixels, classes, 1),
        val: synthetic_split(10, pixels, classes, 2),
        test: synthetic_split(10, pixels, classes, 3),
    }
}

/// A 16-8-3 FHN net with our settings (leak, Jacobi, centered β, biases learned).
pub(super) fn small_config() -> TrainConfig {
    let mut c = TrainConfig::preset("tiny").unwrap();
    c.model.widths = vec![16, 8, 3];
    c.data.input_scale = 3.0;
    c.training.batch_size = 5;
    c.training.lrs = vec![0.3, 0.1];
    c.training.bias_lr = 0.05;
    c
}

/// What the trainer applied in one step from `before` to `after`, divided by −η: its gradient
/// estimate, weights then biases, as f64.
fn applied_gradient(
    cfg: &TrainConfig,
    before: &LayeredNet<f32>,
    after: &LayeredNet<f32>,
) -> Vec<Vec<f64>> {
    let t = &cfg.training;
    let mut out = Vec::new();
    for l in 0..before.weights.len() {
        let (w0, w1) = (&before.weights[l], &after.weights[l]);
        let lr = t.lrs[l];
        out.push(
            (0..w0.ncols())
                .flat_map(|j| (0..w0.nrows()).map(move |i| (i, j)))
                .map(|(i, j)| -((w1[(i, j)] - w0[(i, j)]) as f64) / lr)
                .collect(),
        );
    }
    for l in 0..before.biases.len() {
        let (b0, b1) = (&before.biases[l], &after.biases[l]);
        out.push(
            b0.iter()
                .zip(b1)
                .map(|(x, y)| -((y - x) as f64) / t.bias_lr)
                .collect(),
        );
    }
    out
}

/// The textbook centered EqProp estimate in f64, one example at a time:
/// `(1/2β) (∂Φ/∂θ(s^{+β}) − ∂Φ/∂θ(s^{−β}))`, averaged over the batch.
fn f64_eqprop_estimate(
    cfg: &TrainConfig,
    net: &LayeredNet<f64>,
    x: &Mat<f32>,
    y: &Mat<f32>,
) -> Vec<Vec<f64>> {
    let t = &cfg.training;
    let batch = x.ncols();
    let mut g = Grads::zeros_like(net);
    for b in 0..batch {
        let xb = Mat::from_fn(x.nrows(), 1, |i, _| x[(i, b)] as f64);
        let yb = Mat::from_fn(y.nrows(), 1, |i, _| y[(i, b)] as f64);
        let mut ws = net.workspace(1);
        let mut free = net.init_state(xb);
        net.prepare_input(&free, &mut ws, Par::Seq);
        net.relax(
            &mut free,
            &mut ws,
            Phase {
                nudge: None,
                dt: t.dt,
                max_steps: t.free_steps,
                tol: 0.0,
                solver: t.solver,
            },
            Par::Seq,
        )
        .unwrap();
        for sign in [1.0, -1.0] {
            let mut s = free.clone();
            // Φ + sign·β·C with C = cost_scale·‖u − y‖².
            let nudge = Nudge {
                target: &yb,
                gain: sign * 2.0 * t.cost_scale * t.beta,
            };
            net.relax(
                &mut s,
                &mut ws,
                Phase {
                    nudge: Some(nudge),
                    dt: t.dt,
                    max_steps: t.nudge_steps,
                    tol: 0.0,
                    solver: t.solver,
                },
                Par::Seq,
            )
            .unwrap();
            net.accumulate_param_grad(
                &s,
                &mut ws,
                sign / (2.0 * t.beta * batch as f64),
                &mut g,
                Par::Seq,
            );
        }
    }
    let mut out: Vec<Vec<f64>> =
        g.w.iter()
            .map(|w| {
                (0..w.ncols())
                    .flat_map(|j| (0..w.nrows()).map(move |i| w[(i, j)]))
                    .collect()
            })
            .collect();
    out.extend(g.b);
    out
}

pub(super) fn one_step(
    cfg: &TrainConfig,
    name: &str,
    threads: usize,
) -> (Vec<Vec<f64>>, LayeredNet<f32>, Mat<f32>, Mat<f32>) {
    let dir = scratch(name);
    let mut t =
        Trainer::with_data(cfg.clone(), synthetic_data(16, 3), &dir, false, threads).unwrap();
    let before = t.net.clone();
    let (x, y) = t.step_on(&[3, 1, 4, 1, 5]).unwrap();
    let g = applied_gradient(cfg, &before, &t.net);
    std::fs::remove_dir_all(dir).unwrap();
    (g, before, x, y)
}

#[test]
fn sharded_f32_update_equals_the_f64_eqprop_estimator() {
    // FHN, FHN with coupled inhibitors, Hopfield (Euler, as its preset).
    let mut coupled = small_config();
    coupled.model.inhibitor_coupling = true;
    coupled.model.fhn.d_v = 0.7; // ≠ 1, so that d_v and 1/d_v differ
    let mut hopfield = small_config();
    hopfield.model.kind = crate::layered::Kind::Hopfield;
    hopfield.model.leak = 0.0;
    hopfield.training.solver = crate::layered::Solver::Euler;
    for (name, cfg) in [
        ("fhn", small_config()),
        ("coupled", coupled),
        ("hopfield", hopfield),
    ] {
        // Two shards of 3 and 2 examples: the sharding and the batch mean are part of the check.
        let (applied, before, x, y) = one_step(&cfg, name, 2);
        let reference = f64_eqprop_estimate(&cfg, &before.to_f64(), &x, &y);
        for (k, (a, r)) in applied.iter().zip(&reference).enumerate() {
            let e = relative_error(a, r);
            assert!(
                e < 2e-3,
                "{name}, parameter block {k}: relative error {e:.2e}"
            );
        }
    }
}

/// The exact dC/dθ, C = ½‖u_L − y‖² averaged over the columns of `x`, at the Newton-converged
/// free state of every example (implicit differentiation on the graph view): weights, biases.
pub(super) fn exact_reference(
    cfg: &TrainConfig,
    before: &LayeredNet<f32>,
    x: &Mat<f32>,
    y: &Mat<f32>,
) -> Vec<Vec<f64>> {
    let net = before.to_f64();
    let w = &cfg.model.widths;
    let off = node_offsets(w);
    let leak_edges = if cfg.model.leak != 0.0 {
        off[w.len()] - w[0]
    } else {
        0
    };
    let m1: usize = net
        .weights
        .iter()
        .map(|m| m.nrows() * m.ncols())
        .sum::<usize>()
        + leak_edges;
    let sizes = net.weights.iter().map(|m| m.nrows() * m.ncols());
    let sizes = sizes.chain(net.biases.iter().map(Vec::len));
    let mut exact: Vec<Vec<f64>> = sizes.map(|n| vec![0.0; n]).collect();
    for b in 0..x.ncols() {
        let xb: Vec<f64> = (0..x.nrows()).map(|i| x[(i, b)] as f64).collect();
        let g = net.as_graph(&xb).unwrap();
        let mut s = g.initial_state();
        steady_state(&g, &mut s, None, 1e-12).unwrap();
        let last = w.len() - 1;
        let cost = Cost {
            outputs: (0..w[last]).map(|k| off[last] + k).collect(),
            targets: (0..w[last]).map(|k| y[(k, b)] as f64).collect(),
        };
        let full = implicit_gradient(&g, &s, &cost);
        let mut at = 0;
        for (l, m) in net.weights.iter().enumerate() {
            let n = m.nrows() * m.ncols();
            exact[l]
                .iter_mut()
                .zip(&full[at..at + n])
                .for_each(|(e, v)| *e += v / x.ncols() as f64);
            at += n;
        }
        for l in 0..net.biases.len() {
            let cur = &full[m1 + off[l + 1]..m1 + off[l + 2]];
            let e = &mut exact[net.weights.len() + l];
            e.iter_mut()
                .zip(cur)
                .for_each(|(e, v)| *e += v / x.ncols() as f64);
        }
    }
    exact
}

#[test]
fn converged_training_update_follows_the_exact_gradient() {
    let mut cfg = small_config();
    cfg.training.beta = 0.02;
    cfg.training.free_steps = 4000;
    cfg.training.nudge_steps = 4000;
    cfg.training.tolerance = 2e-6;
    let (applied, before, x, y) = one_step(&cfg, "exact", 1);
    let exact = exact_reference(&cfg, &before, &x, &y);
    for (k, (a, e)) in applied.iter().zip(&exact).enumerate() {
        let (c, r) = (cosine(a, e), relative_error(a, e));
        assert!(
            c > 0.999 && r < 0.03,
            "parameter block {k}: cosine {c}, relative error {r:.2e}"
        );
    }
}

#[test]
fn a_short_mnist_run_learns() {
    // `tiny` for 3 epochs (784-32-10, 2 000 images, validation/test on 500): 19.2–22.0 %
    // validation error over seeds 1–3; a flipped update ends near 90 %, chance level.
    let mut cfg = TrainConfig::preset("tiny").unwrap();
    cfg.training.epochs = 3;
    let dir = scratch("learns");
    let mut t = Trainer::new(cfg, &dir, false, 1).unwrap();
    let s = t.fit(1).unwrap();
    let ms = read_metrics(&dir).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        s.best_val_error < 0.30,
        "validation error {}",
        s.best_val_error
    );
    assert!(
        ms[2].train_cost < 0.8 * ms[0].train_cost,
        "{:?}",
        ms.iter().map(|m| m.train_cost).collect::<Vec<_>>()
    );
}
