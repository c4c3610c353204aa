//! The backend engine (`--device host`, the code path of `--device cuda`) against the sharded
//! CPU trainer: the same steps from the same weights must give the same weights, momentum,
//! metrics; a wrong sign, a missing term or a stale diagonal in the engine shows up here.

use super::config::TrainConfig;
use super::tests::{scratch, small_config, synthetic_data};
use super::*;
use crate::backend::DeviceKind;

fn distance(before: &LayeredNet<f32>, a: &LayeredNet<f32>, b: &LayeredNet<f32>) -> (f64, f64) {
    let d = crate::backend::compare(before, a, b);
    (d.weights_max_rel, d.update_rel)
}

fn trainer(cfg: &TrainConfig, name: &str, kind: DeviceKind) -> Trainer {
    let mut t =
        Trainer::with_data(cfg.clone(), synthetic_data(16, 3), &scratch(name), false, 1).unwrap();
    t.use_device(kind).unwrap();
    t
}

fn configs() -> Vec<(&'static str, TrainConfig)> {
    let ours = small_config();
    let mut coupled = small_config();
    coupled.model.inhibitor_coupling = true;
    coupled.model.fhn.d_v = 0.7;
    let mut deep = small_config();
    deep.model.widths = vec![16, 6, 5, 3];
    deep.training.lrs = vec![0.3, 0.1, 0.05];
    let mut euler = small_config();
    euler.training.solver = crate::layered::Solver::Euler;
    euler.training.dt = 0.1;
    euler.training.centered = false;
    euler.training.momentum = 0.9;
    euler.model.leak = 1.0;
    euler.training.lrs = vec![0.05, 0.02];
    // L2 decay large enough that a missing or wrong-signed term moves the update by far more
    // than the tolerance (λ‖W‖ against ‖g‖), with momentum so the decay also enters m.
    let mut decay = deep.clone();
    decay.training.weight_decay = 0.05;
    decay.training.momentum = 0.5;
    vec![
        ("ours", ours),
        ("coupled", coupled),
        ("deep", deep),
        ("euler-momentum", euler),
        ("deep-decay", decay),
    ]
}

#[test]
fn engine_steps_equal_the_sharded_trainer() {
    for (name, cfg) in configs() {
        let mut cpu = trainer(&cfg, &format!("eng-cpu-{name}"), DeviceKind::Cpu);
        let mut host = trainer(&cfg, &format!("eng-host-{name}"), DeviceKind::Host);
        let before = cpu.net.clone();
        for idx in [[3, 1, 4, 1, 5], [9, 2, 6, 5, 3], [5, 8, 9, 7, 9]] {
            cpu.step_on(&idx).unwrap_or_else(|e| panic!("{name}: {e}"));
            host.step_on(&idx).unwrap();
        }
        let (worst, update) = distance(&before, &cpu.net, &host.net);
        assert!(
            worst < 1e-5 && update < 1e-4,
            "{name}: weights {worst:.2e}, update {update:.2e}"
        );
        let moved = distance(&before, &before, &cpu.net).0;
        assert!(
            moved > 1e-3,
            "{name}: the steps must change the weights ({moved:.2e})"
        );
        let (m1, m2) = (&cpu.state.first, &host.state.first);
        for (a, b) in m1.w.iter().zip(&m2.w) {
            let d = (0..a.ncols())
                .flat_map(|j| (0..a.nrows()).map(move |i| (i, j)))
                .fold(0.0f32, |m, (i, j)| m.max((a[(i, j)] - b[(i, j)]).abs()));
            assert!(d < 1e-5, "{name}: momentum differs by {d:.2e}");
        }
    }
}

#[test]
fn an_engine_epoch_has_the_sharded_trainers_metrics() {
    for shift in [0, 1] {
        engine_epochs_match(shift);
    }
}

/// Two epochs on both; with `shift` > 0 each epoch's images differ, so an engine that kept the
/// first epoch's upload would part from the CPU trainer in the second.
fn engine_epochs_match(shift: usize) {
    let mut cfg = small_config();
    cfg.training.epochs = 2;
    cfg.data.shift = shift;
    let mut cpu = trainer(&cfg, &format!("eng-epoch-cpu-{shift}"), DeviceKind::Cpu);
    let mut host = trainer(&cfg, &format!("eng-epoch-host-{shift}"), DeviceKind::Host);
    for _ in 0..2 {
        let (a, b) = (cpu.run_epoch().unwrap(), host.run_epoch().unwrap());
        assert_eq!(
            (a.train_error, a.val_error, a.test_error),
            (b.train_error, b.val_error, b.test_error)
        );
        for (x, y) in [
            (a.train_cost, b.train_cost),
            (a.val_cost, b.val_cost),
            (a.free_residual, b.free_residual),
        ] {
            assert!((x - y).abs() <= 1e-4 * x.abs().max(1e-3), "{x} vs {y}");
        }
        for (x, y) in a.update_ratios.iter().zip(&b.update_ratios) {
            assert!((x - y).abs() <= 1e-3 * x, "ratios {x} vs {y}");
        }
        assert_eq!(a.relax_steps, b.relax_steps);
    }
    // The run folder is the same: a checkpoint the CPU trainer can resume.
    assert!(host.dir.join("checkpoint.safetensors").exists());
}

#[test]
fn the_engine_refuses_what_it_does_not_run() {
    let mut cfg = small_config();
    cfg.training.solver = crate::layered::Solver::Anderson;
    let mut t =
        Trainer::with_data(cfg, synthetic_data(16, 3), &scratch("eng-refuse"), false, 1).unwrap();
    let Err(e) = t.use_device(DeviceKind::Host) else {
        panic!("anderson is refused")
    };
    assert!(e.to_string().contains("euler or jacobi"), "{e}");
    // Fixed step counts only: a tolerance of the nudged phases alone is refused too.
    let mut tol = small_config();
    tol.training.nudge_tolerance = Some(1e-3);
    let mut t =
        Trainer::with_data(tol, synthetic_data(16, 3), &scratch("eng-tol"), false, 1).unwrap();
    let Err(e) = t.use_device(DeviceKind::Host) else {
        panic!("a nudge tolerance is refused")
    };
    assert!(e.to_string().contains("nudged 0.001"), "{e}");
    // Adam is the CPU trainer's: the engine refuses it and the trainer stays on the CPU.
    let mut adam = small_config();
    adam.training.optimizer = super::config::OptimizerKind::Adam;
    let mut t =
        Trainer::with_data(adam, synthetic_data(16, 3), &scratch("eng-adam"), false, 1).unwrap();
    let Err(e) = t.use_device(DeviceKind::Host) else {
        panic!("adam is refused")
    };
    assert!(e.to_string().contains("heavy-ball"), "{e}");
    t.step_on(&[0, 1, 2]).unwrap();
    assert_eq!(t.state.steps, 1, "the CPU trainer's Adam ran the step");
}
