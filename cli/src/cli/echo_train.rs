//! `fhn hamiltonian echo-train`: the residual FHN network on MNIST through the echo, the adjoint
//! or EqProp on its steady state (docs/HAMILTONIAN.md §8.5).

use super::physics::positive;
use super::write_json;
use clap::{Args, ValueEnum};
use fhn_eqprop::data::{bundled_mnist_dir, load_mnist_dir};
use fhn_eqprop::hamiltonian::echo_model::{EchoConfig, EchoModel, EpochRecord, Estimator};
use fhn_eqprop::hamiltonian::echo_train::train;
use fhn_eqprop::hamiltonian::steady_train::train_steady;
use fhn_eqprop::plot::{line_plot, Series};
use fhn_eqprop::{Error, Result};
use std::io::Write;
use std::path::PathBuf;

/// Gradient estimator of `echo-train`.
#[derive(Clone, Copy, ValueEnum)]
pub enum EstimatorArg {
    /// Centered Hamiltonian echo.
    Echo,
    /// Explicit reverse-mode adjoint (the control).
    Adjoint,
    /// EqProp on the steady state of the same network (prediction from the steady state;
    /// Newton per example; fixed encoding).
    EqpropSteady,
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
    #[arg(long, allow_hyphen_values = true, default_value_t = 0.1)]
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
    /// Validation images (at most 100) on which each epoch compares the echo with EqProp on
    /// the steady state (Newton with the block sweep per image; 0: off).
    #[arg(long, default_value_t = 0)]
    steady_probe: usize,
    /// Centered nudge β of `--estimator eqprop-steady`.
    #[arg(long, allow_hyphen_values = true, default_value_t = 1e-3)]
    beta: f64,
    /// Evaluate on the first N validation and test images only (0: all).
    #[arg(long, default_value_t = 0)]
    eval_limit: usize,
    /// Saturation a of the input drive u⁰ = a·tanh(W_in x̂/a).
    #[arg(long, allow_hyphen_values = true, default_value_t = 0.5)]
    input_bound: f64,
    /// Run folder (config.json, metrics.jsonl, results.json, curves.png, model.safetensors:
    /// the parameters after the latest epoch).
    #[arg(long, default_value = "runs/echo")]
    out: PathBuf,
}

/// `fhn hamiltonian echo-train`.
pub fn echo_train(a: EchoTrainArgs) -> Result<()> {
    positive("--eta", a.eta)?;
    positive("--lr", a.lr)?;
    if !(a.lr_in >= 0.0 && a.lr_in.is_finite()) {
        return Err(Error::Invalid(format!(
            "--lr-in must be finite and ≥ 0, got {}",
            a.lr_in
        )));
    }
    positive("--lr-out", a.lr_out)?;
    positive("--input-gain", a.input_gain)?;
    positive("--delta", a.delta)?;
    positive("--coupling-bound", a.coupling_bound)?;
    positive("--input-bound", a.input_bound)?;
    positive("--eps", a.eps)?;
    if !(1..=1024).contains(&a.width)
        || !(1..=200).contains(&a.depth)
        || a.batch == 0
        || a.epochs == 0
    {
        return Err(Error::Invalid(
            "need 1 ≤ width ≤ 1024, 1 ≤ depth ≤ 200, batch ≥ 1, epochs ≥ 1".into(),
        ));
    }
    if matches!(a.estimator, EstimatorArg::EqpropSteady) && (a.lr_in != 0.0 || a.steady_probe > 0) {
        return Err(Error::Invalid(
            "--estimator eqprop-steady keeps the encoding fixed and has no echo to compare: \
             use --lr-in 0 and no --steady-probe"
                .into(),
        ));
    }
    let cfg = EchoConfig {
        width: a.width,
        depth: a.depth,
        estimator: match a.estimator {
            EstimatorArg::Echo => Estimator::Echo,
            EstimatorArg::Adjoint => Estimator::Adjoint,
            EstimatorArg::EqpropSteady => Estimator::SteadyEqProp,
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
        input_bound: a.input_bound,
        steady_probe: a.steady_probe,
        fhn: [a.delta, a.eps, 1.08, 0.0],
        ..EchoConfig::default()
    };
    positive("--beta", a.beta)?;
    let mut data = load_mnist_dir(&bundled_mnist_dir(), 10_000)?;
    if a.eval_limit > 0 {
        data.val = data.val.slice(0..a.eval_limit.min(data.val.len()));
        data.test = data.test.slice(0..a.eval_limit.min(data.test.len()));
    }
    let steady = matches!(a.estimator, EstimatorArg::EqpropSteady);
    let mut model = EchoModel::new(&cfg, data.pixels(), data.classes())?;
    std::fs::create_dir_all(&a.out).map_err(|e| Error::Io {
        path: a.out.clone(),
        source: e,
    })?;
    let name = match a.estimator {
        EstimatorArg::Echo => "echo",
        EstimatorArg::Adjoint => "adjoint",
        EstimatorArg::EqpropSteady => "eqprop-steady",
    };
    let run = serde_json::json!({"estimator": name, "beta": a.beta, "eval_limit": a.eval_limit, "model": cfg});
    write_json(&a.out.join("config.json"), &run)?;
    let metrics = a.out.join("metrics.jsonl");
    let mut log = std::fs::File::create(&metrics).map_err(|e| Error::Io {
        path: metrics.clone(),
        source: e,
    })?;
    outln!(
        "residual FHN network {}×{} on MNIST, {} gradients, η = {}",
        a.width,
        a.depth,
        name,
        a.eta
    );
    let model_path = a.out.join("model.safetensors");
    let mut report = |r: &EpochRecord, m: &EchoModel| -> Result<()> {
        fhn_eqprop::io::write_atomic(&model_path, &m.to_safetensors()?)?;
        let line = serde_json::to_string(r).map_err(|e| Error::Invalid(e.to_string()))?;
        writeln!(log, "{line}").map_err(|e| Error::Io {
            path: metrics.clone(),
            source: e,
        })?;
        let echo = if r.echo_vs_adjoint.is_empty() {
            format!(", {} examples skipped (no steady state)", r.skipped)
        } else {
            let worst = r.echo_vs_adjoint.iter().copied().fold(1.0, f64::min);
            format!(
                ", echo·adjoint cosine ≥ {worst:.6}, max|u| {:.2}",
                r.probe_max_u
            )
        };
        outln!(
            "  epoch {}: train {:.2}% (loss {:.3}), val {:.2}%, test {:.2}%, {:.1} s{echo}",
            r.epoch,
            100.0 * r.train_error,
            r.train_loss,
            100.0 * r.val_error,
            100.0 * r.test_error,
            r.seconds
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
    };
    let mut records = Vec::new();
    let mut keep = |r: &EpochRecord, m: &EchoModel| {
        records.push(r.clone());
        report(r, m)
    };
    let outcome = if steady {
        let splits = [&data.train, &data.val, &data.test];
        train_steady(&mut model, &cfg, splits, a.beta, usize::MAX, &mut keep).map(|_| ())
    } else {
        train(
            &mut model,
            &cfg,
            &data.train,
            &data.val,
            &data.test,
            &mut keep,
        )
        .map(|_| ())
    };
    // The summary and curves of the epochs that ran, also when training stopped (an escape).
    let Some(best) = records
        .iter()
        .min_by(|x, y| x.val_error.total_cmp(&y.val_error))
    else {
        return outcome;
    };
    let summary = serde_json::json!({
        "stopped_by": outcome.as_ref().err().map(|e| e.to_string()),
        "estimator": name,
        "width": a.width, "depth": a.depth, "epochs": records.len(),
        "best_epoch": best.epoch, "best_val_error": best.val_error,
        "test_error_at_best": best.test_error,
        "final_test_error": records.last().map(|r| r.test_error),
        "seconds_per_epoch": records.iter().map(|r| r.seconds).sum::<f64>() / records.len() as f64,
    });
    write_json(&a.out.join("results.json"), &summary)?;
    let curve = |f: fn(&EpochRecord) -> f64, label: &str| Series {
        label: label.into(),
        points: records
            .iter()
            .map(|r| (r.epoch as f64, 100.0 * f(r)))
            .collect(),
    };
    line_plot(
        &a.out.join("curves.png"),
        &format!("residual FHN {}×{}, {name}", a.width, a.depth),
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
    outcome
}
