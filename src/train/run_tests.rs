//! Tests of a run as a whole: bit-identical resume with momentum, Adam and shifted images, the
//! momentum buffer in the checkpoint, data that must fit the model, one writer per run folder, evaluation counts.

use super::config::TrainConfig;
use super::tests::{scratch, small_config, synthetic_data};
use super::*;
use crate::layered::Phase;
use faer::{Mat, Par};

fn momentum_config() -> TrainConfig {
    let mut c = small_config();
    c.training.momentum = 0.9;
    c.training.lr_decay = 0.8;
    c.training.epochs = 2;
    c
}

/// The momentum configuration with Adam instead of heavy ball.
fn adam_config() -> TrainConfig {
    let mut c = momentum_config();
    c.training.momentum = 0.0;
    c.training.optimizer = config::OptimizerKind::Adam;
    c.training.lrs = vec![3e-3, 1e-3];
    c.training.bias_lr = 1e-3;
    c.training.weight_decay = 1e-2;
    c
}

#[test]
fn resume_with_momentum_is_bit_identical_to_an_uninterrupted_run() {
    resume_is_bit_identical(momentum_config(), "momentum");
}

#[test]
fn resume_with_adam_is_bit_identical_to_an_uninterrupted_run() {
    resume_is_bit_identical(adam_config(), "adam");
}

#[test]
fn shifted_images_change_training_not_evaluation_and_resume_bit_identically() {
    let mut shifted = momentum_config();
    shifted.data.shift = 1;
    resume_is_bit_identical(shifted.clone(), "shift");
    let costs = |cfg: &TrainConfig, name: &str| {
        let mut t =
            Trainer::with_data(cfg.clone(), synthetic_data(16, 3), &scratch(name), false, 1)
                .unwrap();
        let m = t.run_epoch().unwrap();
        (t, m.train_cost, m.val_cost)
    };
    let (t, train, val) = costs(&shifted, "shift-costs");
    let (mut plain, plain_train, _) = costs(&momentum_config(), "plain-costs");
    assert_ne!(
        train, plain_train,
        "the shift must change the training images"
    );
    // Each epoch draws new shifts; the same epoch always the same ones.
    let images = |e: usize| t.shifted_train(e).unwrap().expect("shifted").images;
    assert!(images(1) == images(1) && images(1) != images(2) && images(1) != t.data.train.images);
    // Validation images never move: the shifted run's weights score the same without a shift.
    plain.net = t.net.clone();
    assert_eq!(plain.evaluate_split(false).unwrap().cost, val);
    // A shift the 4×4 images cannot take is refused before training.
    let mut far = momentum_config();
    far.data.shift = 4;
    let Err(e) = Trainer::with_data(far, synthetic_data(16, 3), &scratch("far"), false, 1) else {
        panic!("a shift of 4 on 4×4 images is refused")
    };
    assert!(e.to_string().contains("data.shift = 4"), "{e}");
}

fn resume_is_bit_identical(cfg: TrainConfig, name: &str) {
    let straight = scratch(&format!("straight-{name}"));
    Trainer::with_data(cfg.clone(), synthetic_data(16, 3), &straight, false, 2)
        .unwrap()
        .fit(2)
        .unwrap();
    let split = scratch(&format!("split-{name}"));
    let mut one = cfg.clone();
    one.training.epochs = 1;
    Trainer::with_data(one, synthetic_data(16, 3), &split, false, 2)
        .unwrap()
        .fit(2)
        .unwrap();
    let first = std::fs::read_to_string(split.join("metrics.jsonl")).unwrap();
    Trainer::with_data(cfg, synthetic_data(16, 3), &split, true, 2)
        .unwrap()
        .fit(2)
        .unwrap();
    let read = |d: &Path, f: &str| std::fs::read(d.join(f)).unwrap();
    assert!(
        read(&straight, "checkpoint.safetensors") == read(&split, "checkpoint.safetensors"),
        "the resumed run's last checkpoint differs from the uninterrupted run's"
    );
    // best.safetensors may come from the first process, whose configuration said 1 epoch.
    let (a, b) = (
        checkpoint::load(&straight.join("best.safetensors")).unwrap(),
        checkpoint::load(&split.join("best.safetensors")).unwrap(),
    );
    assert_eq!(a.epoch, b.epoch);
    assert!(a.net.weights == b.net.weights && a.optim.first.w == b.optim.first.w);
    assert_eq!(a.optim.steps, b.optim.steps);
    assert_eq!(
        a.optim.second.map(|v| v.w),
        b.optim.second.map(|v| v.w),
        "second moments"
    );
    // Timings differ; everything learned must not.
    let learned = |d: &Path| -> Vec<(usize, f64, f64, Vec<f64>)> {
        read_metrics(d)
            .unwrap()
            .into_iter()
            .map(|m| (m.epoch, m.train_cost, m.val_cost, m.weight_norms))
            .collect()
    };
    assert_eq!(learned(&straight), learned(&split));
    // The resumed process kept the first epoch's metrics line byte for byte.
    let all = std::fs::read_to_string(split.join("metrics.jsonl")).unwrap();
    assert!(all.starts_with(&first) && all.lines().count() == 2);
    std::fs::remove_dir_all(straight).unwrap();
    std::fs::remove_dir_all(split).unwrap();
}

#[test]
fn the_momentum_buffer_survives_the_checkpoint() {
    buffers_survive_the_checkpoint(momentum_config(), "mom");
}

/// Adam's two moments and step count are saved and restored; a resume under the other rule
/// is refused.
#[test]
fn the_adam_buffers_survive_the_checkpoint() {
    let back = buffers_survive_the_checkpoint(adam_config(), "adam");
    assert_eq!(back.optim.steps, 1);
    let v = back.optim.second.unwrap();
    assert!(v.w.iter().all(|m| m.norm_l2() > 0.0), "vw stored");
    let dir = scratch("adam-switch");
    Trainer::with_data(adam_config(), synthetic_data(16, 3), &dir, false, 1)
        .unwrap()
        .fit(1)
        .unwrap();
    let e = Trainer::with_data(momentum_config(), synthetic_data(16, 3), &dir, true, 1)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("optimizer"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
    // Nor the other way round, nor a configurable rule other than the configured one.
    let mut t =
        Trainer::with_data(momentum_config(), synthetic_data(16, 3), &dir, false, 1).unwrap();
    let e = t
        .set_optimizer(Box::new(optim::Adam::new(&adam_config().training)))
        .unwrap_err()
        .to_string();
    assert!(e.contains("training.optimizer"), "{e}");
    t.fit(1).unwrap();
    drop(t);
    let e = Trainer::with_data(adam_config(), synthetic_data(16, 3), &dir, true, 1)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("optimizer"), "{e}");
    std::fs::remove_dir_all(dir).unwrap();
}

fn buffers_survive_the_checkpoint(cfg: TrainConfig, name: &str) -> checkpoint::Checkpoint {
    let dir = scratch(name);
    let mut t = Trainer::with_data(cfg, synthetic_data(16, 3), &dir, false, 1).unwrap();
    t.step_on(&[0, 1, 2, 3, 4]).unwrap();
    let snap = t.snapshot();
    let p = dir.join("c.safetensors");
    checkpoint::save(&p, &snap).unwrap();
    let back = checkpoint::load(&p).unwrap();
    assert_eq!(back.optim.steps, snap.optim.steps);
    assert!(
        back.optim.second.as_ref().map(|v| &v.w) == snap.optim.second.as_ref().map(|v| &v.w)
            && back.optim.second.as_ref().map(|v| &v.b) == snap.optim.second.as_ref().map(|v| &v.b),
        "second moments"
    );
    for l in 0..snap.net.weights.len() {
        assert!(snap.optim.first.w[l] != snap.net.weights[l]);
        assert!(back.optim.first.w[l] == snap.optim.first.w[l], "mw{l}");
        assert!(back.net.weights[l] == snap.net.weights[l], "w{l}");
        assert_eq!(back.optim.first.b[l], snap.optim.first.b[l], "mb{l}");
        assert_eq!(back.net.biases[l], snap.net.biases[l], "b{l}");
    }
    assert_eq!((back.epoch, back.lr_scale), (snap.epoch, snap.lr_scale));
    // Identical states give byte-identical files (sorted header).
    let q = dir.join("d.safetensors");
    checkpoint::save(&q, &snap).unwrap();
    assert!(std::fs::read(&p).unwrap() == std::fs::read(&q).unwrap());
    drop(t);
    std::fs::remove_dir_all(dir).unwrap();
    back
}

#[test]
fn the_data_must_fit_the_model() {
    let cfg = small_config();
    for (pixels, classes, want) in [
        (900, 3, "900 pixels"),
        (9, 3, "9 pixels"),
        (16, 5, "5 classes"),
    ] {
        let dir = scratch("fit");
        let e = Trainer::with_data(cfg.clone(), synthetic_data(pixels, classes), &dir, false, 1)
            .err()
            .expect("mismatched data must be refused")
            .to_string();
        assert!(e.contains(want), "{e}");
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// The free phase stops at `tolerance`, the nudged phases at `nudge_tolerance` (unset: the
/// same): a tolerance of 1e9 holds before the first step, 0 runs every step.
#[test]
fn nudged_phases_stop_at_their_own_tolerance() {
    let steps = |tol: f64, nudge_tol: Option<f64>| {
        let mut cfg = small_config();
        cfg.training.tolerance = tol;
        cfg.training.nudge_tolerance = nudge_tol;
        let dir = scratch("nudge-tol");
        let mut t = Trainer::with_data(cfg, synthetic_data(16, 3), &dir, false, 1).unwrap();
        let m = t.run_epoch().unwrap();
        drop(t);
        std::fs::remove_dir_all(dir).unwrap();
        m.relax_steps
    };
    let tr = small_config().training;
    assert_eq!(steps(1e9, None), 0.0);
    assert_eq!(steps(1e9, Some(0.0)), (2 * tr.nudge_steps) as f64);
    assert_eq!(steps(0.0, Some(1e9)), tr.free_steps as f64);
}

#[test]
fn a_run_folder_has_one_writer_and_a_new_run_never_overwrites_one() {
    let cfg = small_config();
    let dir = scratch("lock");
    let first = Trainer::with_data(cfg.clone(), synthetic_data(16, 3), &dir, false, 1).unwrap();
    let e = Trainer::with_data(cfg.clone(), synthetic_data(16, 3), &dir, false, 1)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("in use"), "{e}");
    drop(first);
    let mut t = Trainer::with_data(cfg.clone(), synthetic_data(16, 3), &dir, false, 1).unwrap();
    let m = t.run_epoch().unwrap();
    // Without a tolerance every update takes all its steps: free + two nudged phases.
    let tr = &cfg.training;
    assert_eq!(m.relax_steps, (tr.free_steps + 2 * tr.nudge_steps) as f64);
    drop(t);
    let e = Trainer::with_data(cfg, synthetic_data(16, 3), &dir, false, 1)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("already holds a run"), "{e}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn evaluation_counts_errors_and_costs_of_every_example() {
    // Shards of 4, 3, 3 examples against one example at a time.
    let mut cfg = small_config();
    cfg.training.eval_batch_size = 10;
    let data = synthetic_data(16, 3);
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(4);
    let net = LayeredNet::<f32>::random(cfg.model.clone(), 1.0, true, &mut rng).unwrap();
    let e = evaluate(&net, &cfg, &data.test, 3).unwrap();
    let t = &cfg.training;
    let (mut errors, mut cost) = (0usize, 0.0f64);
    for b in 0..data.test.len() {
        let scale = (cfg.data.input_scale / 255.0) as f32;
        let x = Mat::from_fn(16, 1, |i, _| data.test.image(b)[i] as f32 * scale);
        let mut ws = net.workspace(1);
        let mut s = net.init_state(x);
        net.prepare_input(&s, &mut ws, Par::Seq);
        net.relax(
            &mut s,
            &mut ws,
            Phase {
                nudge: None,
                dt: t.dt as f32,
                max_steps: t.eval_steps,
                tol: 0.0,
                solver: t.solver,
            },
            Par::Seq,
        )
        .unwrap();
        let out = s.u.last().unwrap();
        let label = data.test.labels[b] as usize;
        let guess = (0..3)
            .max_by(|&i, &j| out[(i, 0)].total_cmp(&out[(j, 0)]))
            .unwrap();
        errors += usize::from(guess != label);
        for c in 0..3 {
            let y = if c == label {
                t.target_on
            } else {
                t.target_off
            };
            cost += t.cost_scale * (out[(c, 0)] as f64 - y).powi(2);
        }
    }
    let n = data.test.len() as f64;
    assert_eq!(e.error, errors as f64 / n);
    assert!(
        (e.cost - cost / n).abs() < 1e-4 * (cost / n).abs(),
        "{} vs {}",
        e.cost,
        cost / n
    );
    assert!(e.residual > 0.0 && e.residual.is_finite());
    // Batches of 3, 3, 3 and 1 (the last smaller: new shards), two shards each.
    cfg.training.eval_batch_size = 3;
    let small = evaluate(&net, &cfg, &data.test, 2).unwrap();
    assert_eq!(small.error, e.error);
    assert!(
        (small.cost - e.cost).abs() < 1e-4 * e.cost,
        "{} vs {}",
        small.cost,
        e.cost
    );
}

#[test]
fn an_evaluation_averages_examples_and_batch_residuals() {
    let batch = |errors, cost, residual| BatchStats {
        errors,
        cost,
        residual,
        steps: 60,
        shards: 1,
    };
    let e = Evaluation::from_batches(&[batch(1, 0.5, 0.2), batch(2, 1.5, 0.4)], 8);
    assert_eq!(e.error, 3.0 / 8.0);
    assert_eq!(e.cost, 2.0 / 8.0);
    assert!((e.residual - 0.3).abs() < 1e-15, "{}", e.residual);
}
