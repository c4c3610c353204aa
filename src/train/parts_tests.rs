//! The trainer's parts (estimator, reducer, observers) each change what training does, and
//! each is checked by what it must change: the implicit estimator applies the exact gradient,
//! the reducer sits between estimate and update, an observer sees every epoch and can stop.

use super::config::TrainConfig;
use super::estimate::Estimator;
use super::tests::{exact_reference, one_step, scratch, small_config, synthetic_data};
use super::*;
use crate::eqprop::{cosine, relative_error};
use std::sync::{Arc, Mutex};

#[test]
fn the_implicit_estimator_applies_the_exact_gradient() {
    let mut cfg = small_config();
    cfg.training.estimator = Estimator::Implicit;
    let (applied, before, x, y) = one_step(&cfg, "implicit", 2);
    let exact = exact_reference(&cfg, &before, &x, &y);
    for (k, (a, e)) in applied.iter().zip(&exact).enumerate() {
        let (c, r) = (cosine(a, e), relative_error(a, e));
        assert!(
            c > 0.99999 && r < 1e-3,
            "parameter block {k}: cosine {c}, relative error {r:.2e}"
        );
    }
}

/// The same for a Hopfield network: the step applies the active-set gradient (itself checked
/// against finite differences in `layered::active_set`), sign and scale included.
#[test]
fn the_implicit_estimator_applies_the_exact_hopfield_gradient() {
    let mut cfg = small_config();
    cfg.model.kind = crate::layered::Kind::Hopfield;
    cfg.model.leak = 0.0;
    cfg.training.solver = crate::layered::Solver::RedBlack;
    cfg.training.estimator = Estimator::Implicit;
    cfg.validate().unwrap();
    let (applied, before, x, y) = one_step(&cfg, "implicit-hopfield", 1);
    let (exact, residual) = super::estimate::exact_gradient(&before, &cfg, &x, &y).unwrap();
    assert!(residual < 1e-9, "{residual}");
    let blocks = exact.w.iter().map(|m| {
        (0..m.ncols())
            .flat_map(|j| (0..m.nrows()).map(move |i| m[(i, j)]))
            .collect::<Vec<f64>>()
    });
    let blocks: Vec<Vec<f64>> = blocks.chain(exact.b.iter().cloned()).collect();
    assert!(
        blocks.iter().any(|b| b.iter().any(|v| v.abs() > 1e-6)),
        "zero gradient"
    );
    for (k, (a, e)) in applied.iter().zip(&blocks).enumerate() {
        let d = a
            .iter()
            .zip(e)
            .map(|(a, e)| (a - e).abs())
            .fold(0.0, f64::max);
        let scale = e.iter().fold(1e-12, |m: f64, v| m.max(v.abs()));
        assert!(
            d < 1e-4 * scale.max(1e-3),
            "parameter block {k}: |applied − exact| {d:.2e}"
        );
    }
}

/// Multiplies the estimate by a constant (0: the update does nothing).
struct Scale(f32);

impl GradientReducer for Scale {
    fn reduce(
        &mut self,
        local: Result<BatchStats>,
        grads: &mut crate::layered::Grads<f32>,
    ) -> Result<BatchStats> {
        grads.w.iter_mut().for_each(|w| *w *= faer::Scale(self.0));
        grads.b.iter_mut().flatten().for_each(|b| *b *= self.0);
        local
    }

    fn gather(&mut self, local: Result<Vec<BatchStats>>) -> Result<Vec<Vec<BatchStats>>> {
        Ok(vec![local?])
    }
}

#[test]
fn the_reducer_sits_between_the_estimate_and_the_update() {
    let step = |reducer: Option<Scale>, name: &str| {
        let dir = scratch(name);
        let mut t =
            Trainer::with_data(small_config(), synthetic_data(16, 3), &dir, false, 1).unwrap();
        if let Some(r) = reducer {
            t.set_reducer(Box::new(r)).unwrap();
        }
        let before = t.net.clone();
        t.step_on(&[0, 1, 2, 3, 4]).unwrap();
        std::fs::remove_dir_all(dir).unwrap();
        let delta: Vec<f32> = (0..before.weights.len())
            .flat_map(|l| {
                let (a, b) = (&before.weights[l], &t.net.weights[l]);
                (0..a.ncols())
                    .flat_map(move |j| (0..a.nrows()).map(move |i| b[(i, j)] - a[(i, j)]))
                    .collect::<Vec<_>>()
            })
            .collect();
        delta
    };
    let local = step(None, "reduce-local");
    assert!(
        local.iter().any(|&d| d != 0.0),
        "the local step must move the weights"
    );
    assert!(step(Some(Scale(0.0)), "reduce-zero")
        .iter()
        .all(|&d| d == 0.0));
    let doubled = step(Some(Scale(2.0)), "reduce-double");
    for (d, l) in doubled.iter().zip(&local) {
        // Δw is rounded at the weights' scale (|w| ≲ 1): an absolute f32 tolerance.
        assert!((d - 2.0 * l).abs() <= 2e-7 + 1e-5 * l.abs(), "{d} vs 2·{l}");
    }
}

/// Records what the loop tells it; stops at the first progress report of `stop_in`.
struct Recorder {
    seen: Arc<Mutex<Vec<String>>>,
    stop_in: usize,
}

impl Observer for Recorder {
    fn progress(&mut self, p: &Progress) -> Result<Flow> {
        self.seen
            .lock()
            .unwrap()
            .push(format!("progress {} {}", p.epoch, p.seen));
        Ok(if p.epoch == self.stop_in {
            Flow::Stop
        } else {
            Flow::Continue
        })
    }
    fn epoch(&mut self, m: &EpochMetrics) -> Result<()> {
        self.seen
            .lock()
            .unwrap()
            .push(format!("epoch {} {}", m.epoch, m.val_error));
        Ok(())
    }
}

#[test]
fn an_observer_sees_every_epoch_and_can_stop_training_between_batches() {
    let mut cfg = small_config();
    cfg.training.epochs = 3;
    let dir = scratch("observer");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut t = Trainer::with_data(cfg.clone(), synthetic_data(16, 3), &dir, false, 1).unwrap();
    t.add_observer(Box::new(Recorder {
        seen: seen.clone(),
        stop_in: 2,
    }));
    let err = t.fit(1).unwrap_err();
    assert!(matches!(err, Error::Interrupted(_)), "{err}");
    let seen = seen.lock().unwrap().clone();
    // 40 examples in batches of 5: 8 reports in epoch 1, its metrics, one report in epoch 2.
    let progress: Vec<&String> = seen
        .iter()
        .filter(|s| s.starts_with("progress 1"))
        .collect();
    assert_eq!(progress.len(), 8, "{seen:?}");
    assert!(seen[8].starts_with("epoch 1 "), "{seen:?}");
    assert_eq!(seen[9], "progress 2 5");
    assert_eq!(seen.len(), 10);
    drop(t);
    // The checkpoint holds epoch 1 and the run resumes from it to the end.
    let mut t = Trainer::with_data(cfg, synthetic_data(16, 3), &dir, true, 1).unwrap();
    assert_eq!(t.epoch, 1);
    t.fit(1).unwrap();
    assert_eq!(read_metrics(&dir).unwrap().len(), 3);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_preset_follows_the_data_sets_input_and_class_count() {
    let data = synthetic_data(16, 3);
    let mut cfg = TrainConfig::preset("tiny").unwrap();
    let dir = scratch("fit-to");
    let err = Trainer::with_data(cfg.clone(), data.clone(), &dir, false, 1).err();
    assert!(err.is_some_and(|e| e.to_string().contains("pixels")));
    cfg.fit_to(&data);
    assert_eq!(cfg.model.widths, vec![16, 32, 3]);
    Trainer::with_data(cfg, data, &dir, false, 1).unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_device_engine_refuses_parts_it_cannot_run() {
    let dir = scratch("device-parts");
    let mut cfg = small_config();
    cfg.training.estimator = Estimator::Implicit;
    let mut t = Trainer::with_data(cfg, synthetic_data(16, 3), &dir, false, 1).unwrap();
    let e = t.use_device(crate::backend::DeviceKind::Host).unwrap_err();
    assert!(e.to_string().contains("estimator"), "{e}");
    drop(t);
    std::fs::remove_dir_all(&dir).unwrap();
    let mut t = Trainer::with_data(small_config(), synthetic_data(16, 3), &dir, false, 1).unwrap();
    t.use_device(crate::backend::DeviceKind::Host).unwrap();
    let e = t.set_reducer(Box::new(Scale(1.0))).unwrap_err();
    assert!(e.to_string().contains("reducer"), "{e}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn with_coupled_inhibitors_the_implicit_estimator_matches_finite_differences() {
    // A coupled conductance sits in both graphs; its gradient is the sum of two graph
    // parameters' derivatives. Perturbing the layered weight itself (both edges at once) and
    // re-solving the steady state is an independent route to the same number.
    let mut cfg = small_config();
    cfg.model.inhibitor_coupling = true;
    cfg.model.fhn.d_v = 0.7;
    cfg.training.estimator = Estimator::Implicit;
    let (applied, before, x, y) = one_step(&cfg, "coupled-implicit", 1);
    let w = cfg.model.widths.clone();
    let cost = |n: &crate::layered::LayeredNet<f64>| -> f64 {
        let mut c = 0.0;
        for b in 0..x.ncols() {
            let xb: Vec<f64> = (0..x.nrows()).map(|i| x[(i, b)] as f64).collect();
            let g = n.as_graph(&xb).unwrap();
            let mut s = g.initial_state();
            crate::solvers::steady_state(&g, &mut s, None, 1e-12).unwrap();
            let off = crate::layered::node_offsets(&w);
            let last = w.len() - 1;
            for k in 0..w[last] {
                c += 0.5 * (s.u[off[last] + k] - y[(k, b)] as f64).powi(2);
            }
        }
        c / x.ncols() as f64
    };
    let base = before.to_f64();
    let h = 1e-5;
    let mut checked = 0;
    for (l, m) in base.weights.iter().enumerate() {
        for (i, j) in [
            (0, 0),
            (m.nrows() - 1, m.ncols() / 2),
            (m.nrows() / 2, m.ncols() - 1),
        ] {
            let shifted = |d: f64| {
                let mut n = base.clone();
                n.weights[l][(i, j)] += d;
                cost(&n)
            };
            let fd = (shifted(h) - shifted(-h)) / (2.0 * h);
            let got = applied[l][j * m.nrows() + i];
            assert!(
                (got - fd).abs() <= 2e-5 + 2e-3 * fd.abs(),
                "W{l}[{i},{j}]: implicit {got} vs finite differences {fd}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 3 * base.weights.len());
}

/// Plain SGD without momentum on the weights only, at a fixed rate.
struct Sgd(f32);

impl Optimizer for Sgd {
    fn step(
        &mut self,
        net: &mut crate::layered::LayeredNet<f32>,
        grads: &crate::layered::Grads<f32>,
        _state: &mut super::optim::OptimState,
        _lr_scale: f64,
        _ratios: &mut [f64],
    ) {
        for (w, g) in net.weights.iter_mut().zip(&grads.w) {
            *w -= faer::Scale(self.0) * g;
        }
    }
}

#[test]
fn the_optimizer_is_a_part_of_its_own() {
    let dir = scratch("optimizer");
    let mut t = Trainer::with_data(small_config(), synthetic_data(16, 3), &dir, false, 1).unwrap();
    t.set_optimizer(Box::new(Sgd(0.5))).unwrap();
    let before = t.net.clone();
    let biases = before.biases.clone();
    t.step_on(&[0, 1, 2, 3, 4]).unwrap();
    // The estimate the step applied, recovered from the weights, is the trainer's estimate:
    // the same step under heavy ball (no momentum) with its own rates moves the weights by
    // lr/0.5 times as much.
    assert_eq!(t.net.biases, biases, "this rule leaves the biases");
    let dir2 = scratch("optimizer-hb");
    let mut hb =
        Trainer::with_data(small_config(), synthetic_data(16, 3), &dir2, false, 1).unwrap();
    hb.step_on(&[0, 1, 2, 3, 4]).unwrap();
    let lrs = &small_config().training.lrs;
    for l in 0..before.weights.len() {
        let (w0, a, b) = (&before.weights[l], &t.net.weights[l], &hb.net.weights[l]);
        for j in 0..w0.ncols() {
            for i in 0..w0.nrows() {
                let (da, db) = (a[(i, j)] - w0[(i, j)], b[(i, j)] - w0[(i, j)]);
                let want = db * 0.5 / lrs[l] as f32;
                assert!(
                    (da - want).abs() <= 2e-7 + 1e-4 * want.abs(),
                    "W{l}: {da} vs {want}"
                );
            }
        }
    }
    t.use_device(crate::backend::DeviceKind::Host).unwrap_err();
    std::fs::remove_dir_all(dir).unwrap();
    std::fs::remove_dir_all(dir2).unwrap();
}
