//! `fhn hamiltonian echo` (the echo's verification study) and `fhn hamiltonian echo-train`
//! (training the residual FHN network with Hamiltonian Echo Backpropagation).

use super::physics::positive;
use super::{print_json, write_json};
use clap::{Args, ValueEnum};
use fhn_eqprop::data::{bundled_mnist_dir, load_mnist_dir};
use fhn_eqprop::hamiltonian::echo_study::{echo_study, EchoReport, StudyConfig};
use fhn_eqprop::hamiltonian::echo_train::{train, EchoConfig, EchoModel, Estimator};
use fhn_eqprop::plot::{line_plot, Series};
use fhn_eqprop::{Error, Result};
use std::io::Write;
use std::path::PathBuf;

/// Arguments of `fhn hamiltonian echo`.
#[derive(Args)]
pub struct EchoArgs {
    /// Width m.
    #[arg(long, default_value_t = 16)]
    width: usize,
    /// Largest depth of the sweep (1 to 200).
    #[arg(long, default_value_t = 40)]
    max_depth: usize,
    /// Depth of the η sweep.
    #[arg(long, default_value_t = 8)]
    eta_depth: usize,
    /// Couplings uniform in ±c/√m.
    #[arg(long, allow_hyphen_values = true, default_value_t = 1.0)]
    coupling: f64,
    /// Initial activators uniform in ±gain.
    #[arg(long, allow_hyphen_values = true, default_value_t = 0.1)]
    input_gain: f64,
    /// δ (d_u = δ²).
    #[arg(long, allow_hyphen_values = true, default_value_t = 2.0)]
    delta: f64,
    /// ε.
    #[arg(long, allow_hyphen_values = true, default_value_t = 0.01)]
    eps: f64,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output folder (echo_w<m>_c<c>.json, _eta.png, _depth.png).
    #[arg(long, default_value = "runs/hamiltonian")]
    out: PathBuf,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

/// `fhn hamiltonian echo`.
pub fn echo(a: EchoArgs) -> Result<()> {
    positive("--delta", a.delta)?;
    positive("--eps", a.eps)?;
    positive("--input-gain", a.input_gain)?;
    super::physics::finite("--coupling", a.coupling)?;
    if !(1..=256).contains(&a.width)
        || !(1..=200).contains(&a.max_depth)
        || !(1..=200).contains(&a.eta_depth)
    {
        return Err(Error::Invalid(
            "need 1 ≤ width ≤ 256 and depths in 1..=200".into(),
        ));
    }
    let cfg = StudyConfig {
        width: a.width,
        max_depth: a.max_depth,
        eta_depth: a.eta_depth,
        fhn: [a.delta, a.eps, 1.08, 0.0],
        coupling: a.coupling,
        input_gain: a.input_gain,
        batch: 4,
        eta: [1e-4, 1e-2],
        seed: a.seed,
    };
    let rep = echo_study(&cfg)?;
    let stem = a.out.join(format!("echo_w{}_c{}", a.width, a.coupling));
    let file = |s: &str| PathBuf::from(format!("{}{s}", stem.display()));
    write_json(&file(".json"), &rep)?;
    figures(&rep, &file("_eta.png"), &file("_depth.png"))?;
    if a.json {
        return print_json(&rep);
    }
    print_report(&rep);
    outln!("  figures and JSON: {}.*", stem.display());
    Ok(())
}

fn figures(rep: &EchoReport, eta_png: &std::path::Path, depth_png: &std::path::Path) -> Result<()> {
    let eta = |f: fn(&fhn_eqprop::hamiltonian::echo_study::EtaRow) -> f64, label: &str| Series {
        label: label.into(),
        points: rep.eta_rows.iter().map(|r| (r.eta.log10(), f(r))).collect(),
    };
    line_plot(
        eta_png,
        &format!("echo vs adjoint, depth {} (f64)", rep.config.eta_depth),
        "log10 η",
        "relative error",
        &[
            eta(|r| r.one_sided, "one-sided echo"),
            eta(|r| r.centered, "centered echo"),
        ],
        true,
    )?;
    let by_depth = |f: fn(&fhn_eqprop::hamiltonian::echo_study::DepthRow) -> Option<f64>,
                    label: &str| Series {
        label: label.into(),
        // Errors past 10 only say "not faithful" and would swamp the log axis.
        points: rep
            .depth_rows
            .iter()
            .filter_map(|r| f(r).filter(|&e| e <= 10.0).map(|e| (r.depth as f64, e)))
            .collect(),
    };
    let fwd = Series {
        label: "forward pass |u_f32 − u_f64| at that layer".into(),
        points: rep
            .forward_f32
            .per_layer
            .iter()
            .enumerate()
            .skip(1)
            .filter(|p| *p.1 <= 10.0)
            .map(|(i, &e)| (i as f64, e))
            .collect(),
    };
    line_plot(
        depth_png,
        &format!(
            "echo vs adjoint by depth, width {}, coupling {}",
            rep.config.width, rep.config.coupling
        ),
        "depth N",
        "relative error",
        &[
            by_depth(
                |r| r.f64_error,
                &format!("echo f64 (η = {:e})", rep.config.eta[0]),
            ),
            by_depth(
                |r| r.f32_error,
                &format!("echo f32 (η = {:e})", rep.config.eta[1]),
            ),
            fwd,
        ],
        true,
    )
}

fn print_report(rep: &EchoReport) {
    let c = &rep.config;
    outln!(
        "Hamiltonian echo on the residual FHN network, width {}, couplings ±{}/√m, δ = {}, ε = {}",
        c.width,
        c.coupling,
        c.fhn[0],
        c.fhn[1]
    );
    outln!(
        "  η sweep at depth {} (f64), relative error against the explicit adjoint:",
        c.eta_depth
    );
    outln!("  {:>8} {:>12} {:>12}", "η", "one-sided", "centered");
    for r in &rep.eta_rows {
        outln!(
            "  {:>8.0e} {:>12.3e} {:>12.3e}",
            r.eta,
            r.one_sided,
            r.centered
        );
    }
    outln!(
        "  slopes (η ≥ 1e-3): one-sided {:.3}, centered {:.3}",
        rep.slopes[0],
        rep.slopes[1]
    );
    outln!(
        "  depth sweep, centered echo (f64 η = {:e}, f32 η = {:e}):",
        c.eta[0],
        c.eta[1]
    );
    outln!(
        "  {:>5} {:>12} {:>12} {:>12} {:>12} {:>8}",
        "depth",
        "f64 error",
        "f64 cosine",
        "f32 error",
        "f32 cosine",
        "max|u|"
    );
    let f = |x: Option<f64>| x.map_or("escaped".to_string(), |v| format!("{v:.3e}"));
    for r in &rep.depth_rows {
        outln!(
            "  {:>5} {:>12} {:>12} {:>12} {:>12} {:>8}",
            r.depth,
            f(r.f64_error),
            f(r.f64_cosine),
            f(r.f32_error),
            f(r.f32_cosine),
            f(r.max_u)
        );
    }
    let g = |e: &fhn_eqprop::hamiltonian::ErrorCurve| {
        e.growth_factor.map_or("n/a".into(), |x| format!("{x:.3}"))
    };
    outln!(
        "  growth per layer: echo f64 {}, echo f32 {}, forward pass f32 {}; faithful (≤ 1e-3) to depth f64 {}, f32 {}",
        g(&rep.echo_f64), g(&rep.echo_f32), g(&rep.forward_f32), rep.echo_f64.faithful_depth, rep.echo_f32.faithful_depth
    );
    let s = &rep.steady;
    outln!(
        "  steady state ({}×{}): forward pass from its layers 0, 1 matches it to {:.1e}; EqProp vs implicit {:.1e}; echo·adjoint cosine {:.8}",
        s.shape[0], s.shape[1], s.forward_vs_steady, s.eqprop_vs_implicit, s.echo_vs_adjoint_cosine
    );
    outln!(
        "  per-layer cosine, initial-value gradient vs steady-state gradient: {}",
        s.ivp_vs_steady_cosine
            .iter()
            .map(|c| format!("{c:.3}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
}

/// Gradient estimator of `echo-train`.
#[derive(Clone, Copy, ValueEnum)]
pub enum EstimatorArg {
    /// Centered Hamiltonian echo.
    Echo,
    /// Explicit reverse-mode adjoint (the control).
    Adjoint,
}

/// Arguments of `fhn hamiltonian echo-train`.
#[derive(Args)]
pub struct EchoTrainArgs {
    /// Width m.
    #[arg(long, default_value_t = 64)]
    width: usize,
    /// Depth N (coupling layers).
    #[arg(long, default_value_t = 12)]
    depth: usize,
    /// Epochs.
    #[arg(long, default_value_t = 5)]
    epochs: usize,
    /// Gradient estimator.
    #[arg(long, value_enum, default_value = "echo")]
    estimator: EstimatorArg,
    /// Echo nudge η, relative to the largest ∂L/∂u of the batch.
    #[arg(long, allow_hyphen_values = true, default_value_t = 1e-6)]
    eta: f64,
    /// Learning rate of the couplings.
    #[arg(long, allow_hyphen_values = true, default_value_t = 0.003)]
    lr: f64,
    /// Learning rate of the input encoding (inputs are unit-norm images).
    #[arg(long, allow_hyphen_values = true, default_value_t = 0.003)]
    lr_in: f64,
    /// Learning rate of the readout.
    #[arg(long, allow_hyphen_values = true, default_value_t = 0.05)]
    lr_out: f64,
    /// Examples per batch.
    #[arg(long, default_value_t = 50)]
    batch: usize,
    /// Train on the first N training images only (0: all 50 000).
    #[arg(long, default_value_t = 0)]
    train_limit: usize,
    /// Standard deviation of the encoded input u⁰ = W_in x/‖x‖ at initialisation.
    #[arg(long, allow_hyphen_values = true, default_value_t = 0.1)]
    input_gain: f64,
    /// Initial couplings uniform in ±c/√m.
    #[arg(long, allow_hyphen_values = true, default_value_t = 0.1)]
    coupling_init: f64,
    /// Couplings kept in ±b/√m (projected gradient descent).
    #[arg(long, allow_hyphen_values = true, default_value_t = 0.25)]
    coupling_bound: f64,
    /// δ (d_u = δ²).
    #[arg(long, allow_hyphen_values = true, default_value_t = 2.0)]
    delta: f64,
    /// ε (the inhibitor's spatial growth rate is set by εα/d_v).
    #[arg(long, allow_hyphen_values = true, default_value_t = 0.01)]
    eps: f64,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Validation images on which each epoch compares the echo with EqProp on the steady
    /// state (dense Newton per image; 0: off).
    #[arg(long, default_value_t = 0)]
    steady_probe: usize,
    /// Run folder (config.json, metrics.jsonl, results.json, curves.png, model.safetensors:
    /// the parameters after the latest epoch).
    #[arg(long, default_value = "runs/echo")]
    out: PathBuf,
}

/// `fhn hamiltonian echo-train`.
pub fn echo_train(a: EchoTrainArgs) -> Result<()> {
    positive("--eta", a.eta)?;
    positive("--lr", a.lr)?;
    super::physics::finite("--lr-in", a.lr_in)?;
    positive("--lr-out", a.lr_out)?;
    positive("--input-gain", a.input_gain)?;
    positive("--delta", a.delta)?;
    positive("--coupling-bound", a.coupling_bound)?;
    positive("--eps", a.eps)?;
    if !(1..=1024).contains(&a.width) || !(1..=200).contains(&a.depth) || a.batch == 0 {
        return Err(Error::Invalid(
            "need 1 ≤ width ≤ 1024, 1 ≤ depth ≤ 200, batch ≥ 1".into(),
        ));
    }
    let cfg = EchoConfig {
        width: a.width,
        depth: a.depth,
        estimator: match a.estimator {
            EstimatorArg::Echo => Estimator::Echo,
            EstimatorArg::Adjoint => Estimator::Adjoint,
        },
        eta: a.eta,
        epochs: a.epochs,
        batch_size: a.batch,
        lrs: [a.lr, a.lr_in, a.lr_out],
        train_limit: a.train_limit,
        seed: a.seed,
        input_gain: a.input_gain,
        coupling_init: a.coupling_init,
        coupling_bound: a.coupling_bound,
        steady_probe: a.steady_probe,
        fhn: [a.delta, a.eps, 1.08, 0.0],
        ..EchoConfig::default()
    };
    let data = load_mnist_dir(&bundled_mnist_dir(), 10_000)?;
    let mut model = EchoModel::new(&cfg, data.pixels(), data.classes())?;
    std::fs::create_dir_all(&a.out).map_err(|e| Error::Io {
        path: a.out.clone(),
        source: e,
    })?;
    write_json(&a.out.join("config.json"), &cfg)?;
    let metrics = a.out.join("metrics.jsonl");
    let mut log = std::fs::File::create(&metrics).map_err(|e| Error::Io {
        path: metrics.clone(),
        source: e,
    })?;
    outln!(
        "residual FHN network {}×{} on MNIST, {:?} gradients, η = {}",
        a.width,
        a.depth,
        cfg.estimator,
        a.eta
    );
    let model_path = a.out.join("model.safetensors");
    let records = train(
        &mut model,
        &cfg,
        &data.train,
        &data.val,
        &data.test,
        |r, m| {
            fhn_eqprop::io::write_atomic(&model_path, &m.to_safetensors()?)?;
            let line = serde_json::to_string(r).map_err(|e| Error::Invalid(e.to_string()))?;
            writeln!(log, "{line}").map_err(|e| Error::Io {
                path: metrics.clone(),
                source: e,
            })?;
            let worst = r.echo_vs_adjoint.iter().copied().fold(1.0, f64::min);
            outln!(
            "  epoch {}: train {:.2}% (loss {:.3}), val {:.2}%, test {:.2}%, {:.1} s, echo·adjoint cosine ≥ {:.6}, max|u| {:.2}",
            r.epoch,
            100.0 * r.train_error,
            r.train_loss,
            100.0 * r.val_error,
            100.0 * r.test_error,
            r.seconds,
            worst,
            r.probe_max_u
        );
            match &r.echo_vs_steady {
                Some(Ok(c)) => outln!(
                    "    echo·EqProp(steady state) cosine per layer: {}",
                    c.iter()
                        .map(|x| format!("{x:.3}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
                Some(Err(e)) => outln!("    no steady-state comparison: {e}"),
                None => {}
            }
            Ok(())
        },
    )?;
    let best = records
        .iter()
        .min_by(|x, y| x.val_error.total_cmp(&y.val_error))
        .expect("at least one epoch");
    let summary = serde_json::json!({
        "estimator": format!("{:?}", cfg.estimator).to_lowercase(),
        "width": a.width, "depth": a.depth, "epochs": records.len(),
        "best_epoch": best.epoch, "best_val_error": best.val_error,
        "test_error_at_best": best.test_error,
        "final_test_error": records.last().map(|r| r.test_error),
        "seconds_per_epoch": records.iter().map(|r| r.seconds).sum::<f64>() / records.len() as f64,
    });
    write_json(&a.out.join("results.json"), &summary)?;
    let curve =
        |f: fn(&fhn_eqprop::hamiltonian::echo_train::EpochRecord) -> f64, label: &str| Series {
            label: label.into(),
            points: records
                .iter()
                .map(|r| (r.epoch as f64, 100.0 * f(r)))
                .collect(),
        };
    line_plot(
        &a.out.join("curves.png"),
        &format!("residual FHN {}×{}, {:?}", a.width, a.depth, cfg.estimator),
        "epoch",
        "error (%)",
        &[
            curve(|r| r.train_error, "train"),
            curve(|r| r.val_error, "validation"),
            curve(|r| r.test_error, "test"),
        ],
        true,
    )?;
    outln!(
        "  best validation {:.2}% at epoch {}: test {:.2}%; files in {}",
        100.0 * best.val_error,
        best.epoch,
        100.0 * best.test_error,
        a.out.display()
    );
    Ok(())
}
