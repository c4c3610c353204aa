//! Tests of `training.free_start`: stored states are the free equilibria and are used,
//! persistent runs resume bit-identically, and the modes refuse what they do not support.

use super::config::{FreeStart, TrainConfig};
use super::estimate::{EqProp, GradientEstimator};
use super::tests::{scratch, small_config, synthetic_data};
use super::warm::{FreeStates, FILE};
use super::*;

fn persistent(epochs: usize) -> TrainConfig {
    let mut c = small_config();
    c.training.free_start = FreeStart::Persistent;
    c.training.epochs = epochs;
    c
}

/// A free phase started from the equilibrium of the same examples (stored for each example,
/// or the previous batch's when that batch was the same) has nothing left to relax: with a
/// tolerance it stops at once, and the estimate is the one from zero.
#[test]
fn a_stored_equilibrium_needs_no_relaxation_and_gives_the_same_estimate() {
    let mut cfg = small_config();
    cfg.training.tolerance = 1e-6;
    cfg.training.free_steps = 5_000;
    cfg.training.nudge_steps = 5_000;
    let data = synthetic_data(16, 3);
    let net = cfg.initial_net().unwrap();
    let idx = [7, 2, 9, 4];
    for start in [FreeStart::Persistent, FreeStart::Previous] {
        let states = FreeStates::new(&cfg.model.widths, data.train.len()).unwrap();
        let states = (start == FreeStart::Persistent).then_some(states);
        let mut est = EqProp::new(&net, idx.len(), 2).starting(start, states);
        let mut g = [Grads::zeros_like(&net), Grads::zeros_like(&net)];
        let mut steps = [0, 0];
        for k in 0..2 {
            steps[k] = est
                .estimate(&net, &cfg, &data.train, &idx, &mut g[k])
                .unwrap()
                .steps;
        }
        // The nudged phases cost the same both times; the free phase ≥ 10 steps, then ≤ 1.
        assert!(steps[0] >= steps[1] + 10 * 2, "{start:?}: steps {steps:?}");
        for (a, b) in g[0].w.iter().zip(&g[1].w) {
            let d = (a - b).norm_l2() / a.norm_l2();
            assert!(d < 1e-3, "{start:?}: estimates differ by {d}");
        }
        let kept = est.take_free_states().map(|s| s.stored());
        let want = (start == FreeStart::Persistent).then_some(idx.len());
        assert_eq!(kept, want);
    }
}

/// Persistent states change training after the first epoch (they are used), and a run stopped
/// after epoch 1 and resumed gives the uninterrupted run's checkpoint and states, byte for
/// byte.
#[test]
fn persistent_states_are_used_and_resume_bit_identically() {
    let run = |cfg: TrainConfig, name: &str, resume_after: Option<usize>| {
        let dir = scratch(name);
        if let Some(e) = resume_after {
            let mut first = cfg.clone();
            first.training.epochs = e;
            Trainer::with_data(first, synthetic_data(16, 3), &dir, false, 2)
                .unwrap()
                .fit(2)
                .unwrap();
        }
        Trainer::with_data(cfg, synthetic_data(16, 3), &dir, resume_after.is_some(), 2)
            .unwrap()
            .fit(2)
            .unwrap();
        dir
    };
    let read = |d: &Path, f: &str| std::fs::read(d.join(f)).unwrap();
    let straight = run(persistent(2), "warm-straight", None);
    let split = run(persistent(2), "warm-split", Some(1));
    let zero = run(small_config_epochs(2), "warm-zero", None);
    assert!(read(&straight, "checkpoint.safetensors") == read(&split, "checkpoint.safetensors"));
    assert!(read(&straight, FILE) == read(&split, FILE));
    let cfg = persistent(2);
    let (states, epoch) = FreeStates::load(&straight.join(FILE), &cfg.model.widths, 40).unwrap();
    // 40 training examples, batches of 5: every one has a state after an epoch.
    assert_eq!((states.stored(), epoch), (40, 2));
    // Epoch 1 starts every example from zero, as the default does; epoch 2 does not.
    let metrics = |d: &Path| read_metrics(d).unwrap();
    let (a, b) = (metrics(&straight), metrics(&zero));
    assert_eq!(a[0].train_cost, b[0].train_cost);
    assert_ne!(a[1].train_cost, b[1].train_cost);
    assert!(!zero.join(FILE).exists());
    for d in [straight, split, zero] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

/// An epoch stopped between batches (here by an observer) took the states with it; training
/// on with the same trainer starts from the last epoch's file, and the run ends as a run that
/// was never stopped does.
#[test]
fn states_survive_an_interrupted_epoch() {
    struct StopOnce(bool);
    impl Observer for StopOnce {
        fn progress(&mut self, p: &Progress) -> Result<Flow> {
            let stop = p.epoch == 2 && !self.0;
            self.0 |= stop;
            Ok(if stop { Flow::Stop } else { Flow::Continue })
        }
    }
    let (stopped, straight) = (scratch("warm-stopped"), scratch("warm-unstopped"));
    let mut t =
        Trainer::with_data(persistent(2), synthetic_data(16, 3), &stopped, false, 1).unwrap();
    t.add_observer(Box::new(StopOnce(false)));
    assert!(matches!(t.fit(1).unwrap_err(), Error::Interrupted(_)));
    // The interrupted epoch's updates stay in memory: restart it from the checkpoint.
    drop(t);
    Trainer::with_data(persistent(2), synthetic_data(16, 3), &stopped, true, 1)
        .unwrap()
        .fit(1)
        .unwrap();
    Trainer::with_data(persistent(2), synthetic_data(16, 3), &straight, false, 1)
        .unwrap()
        .fit(1)
        .unwrap();
    let read = |d: &Path, f: &str| std::fs::read(d.join(f)).unwrap();
    assert!(read(&stopped, FILE) == read(&straight, FILE));
    // The same trainer after a stop: the states come back from the file of epoch 1.
    let d = scratch("warm-same-trainer");
    let mut t = Trainer::with_data(persistent(2), synthetic_data(16, 3), &d, false, 1).unwrap();
    t.add_observer(Box::new(StopOnce(false)));
    assert!(t.fit(1).is_err());
    assert!(t.free_states.is_none());
    t.fit(1).unwrap();
    let (states, epoch) = FreeStates::load(&d.join(FILE), &[16, 8, 3], 40).unwrap();
    assert_eq!((states.stored(), epoch), (40, 2));
    for dir in [stopped, straight, d] {
        std::fs::remove_dir_all(dir).unwrap();
    }
}

fn small_config_epochs(epochs: usize) -> TrainConfig {
    let mut c = small_config();
    c.training.epochs = epochs;
    c
}

/// A resumed run whose states file is missing says so and starts them from zero.
#[test]
fn a_missing_states_file_is_logged_and_training_goes_on() {
    let dir = scratch("warm-missing");
    Trainer::with_data(persistent(1), synthetic_data(16, 3), &dir, false, 1)
        .unwrap()
        .fit(1)
        .unwrap();
    std::fs::remove_file(dir.join(FILE)).unwrap();
    Trainer::with_data(persistent(2), synthetic_data(16, 3), &dir, true, 1)
        .unwrap()
        .fit(1)
        .unwrap();
    let log = std::fs::read_to_string(dir.join("log.txt")).unwrap();
    assert!(log.contains("is missing"), "{log}");
    assert!(dir.join(FILE).exists());
    // A file of another epoch, or one that does not fit, is noted the same way.
    let (states, _) = FreeStates::load(&dir.join(FILE), &[16, 8, 3], 40).unwrap();
    states.save(&dir.join(FILE), 1).unwrap();
    Trainer::with_data(persistent(3), synthetic_data(16, 3), &dir, true, 1).unwrap();
    FreeStates::new(&[16, 5, 3], 40)
        .unwrap()
        .save(&dir.join(FILE), 2)
        .unwrap();
    Trainer::with_data(persistent(3), synthetic_data(16, 3), &dir, true, 1).unwrap();
    let log = std::fs::read_to_string(dir.join("log.txt")).unwrap();
    assert!(
        log.contains("holds epoch 1, the checkpoint epoch 2"),
        "{log}"
    );
    assert!(log.contains("cannot be used"), "{log}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// The trainer applies the configured schedule, and a cosine run resumed with more epochs
/// follows the new length at once.
#[test]
fn the_trainer_follows_the_cosine_schedule_also_after_resume() {
    let mut cfg = small_config_epochs(1);
    cfg.training.lr_schedule = super::config::Schedule::Cosine;
    let dir = scratch("cosine");
    let mut t = Trainer::with_data(cfg.clone(), synthetic_data(16, 3), &dir, false, 1).unwrap();
    t.fit(1).unwrap();
    // After its only epoch the scale is ½(1 + cos π) = 0 (exponential would give lr_decay).
    assert_eq!(t.snapshot().lr_scale, 0.0);
    drop(t);
    cfg.training.epochs = 2;
    let t = Trainer::with_data(cfg, synthetic_data(16, 3), &dir, true, 1).unwrap();
    assert!((t.snapshot().lr_scale - 0.5).abs() < 1e-15);
    drop(t);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn unsupported_combinations_are_refused() {
    let mut c = persistent(1);
    c.training.estimator = super::estimate::Estimator::Implicit;
    assert!(c.validate().unwrap_err().to_string().contains("free_start"));
    let mut c = small_config();
    c.training.free_start = FreeStart::Previous;
    let back = TrainConfig::from_toml(&c.to_toml(), Path::new("x.toml")).unwrap();
    assert_eq!(back.training.free_start, FreeStart::Previous);
    let dir = scratch("warm-ranks");
    let mut t = Trainer::with_data(persistent(1), synthetic_data(16, 3), &dir, false, 1).unwrap();
    let e = t
        .set_reducer(Box::new(super::split_tests::two_ranks_for_tests()))
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("not supported with several processes"),
        "{e}"
    );
    drop(t);
    std::fs::remove_dir_all(dir).unwrap();
}
