//! `fhn train` and `fhn eval`.

use super::job::Job;
use super::print_json;
use clap::Args;
use fhn_eqprop::backend::DeviceKind;
use fhn_eqprop::data::Dataset;
use fhn_eqprop::train::checkpoint;
use fhn_eqprop::train::config::{TrainConfig, PRESETS};
use fhn_eqprop::train::{evaluate, load_data, load_dataset, RunSummary, Trainer};
use fhn_eqprop::{Error, Result};
use serde_json::json;
use std::path::{Path, PathBuf};

/// Arguments of `fhn train`.
#[derive(Args)]
pub struct TrainArgs {
    /// Built-in preset (docs/TRAINING.md).
    #[arg(long, default_value = "quick", conflicts_with = "config",
          value_parser = clap::builder::PossibleValuesParser::new(PRESETS))]
    preset: String,
    /// TOML configuration file (every hyperparameter; see configs/).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Run folder (default runs/<name>-s<seed>, also with --resume).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Continue from the run folder's checkpoint.
    #[arg(long)]
    resume: bool,
    /// Threads (GEMM parallelism); results are identical for the same seed and thread count.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Override the seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Override the number of epochs.
    #[arg(long)]
    epochs: Option<usize>,
    /// Use a different MNIST-format directory (e.g. /usr/share/datasets/fashion-mnist).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Print the effective configuration as TOML and exit.
    #[arg(long)]
    print_config: bool,
    /// Where the steps run: cpu (sharded trainer), host (backend engine on the CPU, the GPU
    /// path's reference), cuda (NVIDIA GPU; binary built with `--features cuda`).
    #[arg(long, default_value = "cpu", value_parser = super::device_kind())]
    device: DeviceKind,
}

/// Sizes the global rayon pool (GEMM parallelism).
pub fn setup_threads(threads: usize) {
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build_global();
}

/// `fhn train` (under `mpirun -np N`, data-parallel over N processes: [`train_job`]).
pub fn train(a: TrainArgs) -> Result<()> {
    let job = Job::start()?;
    let result = train_in(&job, a);
    job.finish(result)
}

fn train_in(job: &Job, a: TrainArgs) -> Result<()> {
    let mut cfg = match &a.config {
        Some(p) => TrainConfig::load(p)?,
        None => TrainConfig::preset(&a.preset)?,
    };
    if let Some(s) = a.seed {
        cfg.seed = s;
    }
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("runs/{}-s{}", cfg.name, cfg.seed)));
    let ckpt = out.join("checkpoint.safetensors");
    if a.resume && a.config.is_none() && ckpt.exists() {
        // A preset names only the default; the run continues under its own configuration.
        cfg = checkpoint::load(&ckpt)?.config;
    }
    if let Some(e) = a.epochs {
        cfg.training.epochs = e;
    }
    let resumed = a.resume && ckpt.exists();
    let data = match &a.data {
        Some(d) => {
            cfg.data.dir = Some(d.clone());
            let data = load_dataset(&cfg)?;
            if a.config.is_none() && !resumed {
                // A preset's input and output widths follow the data set.
                cfg.fit_to(&data);
            }
            Some(data)
        }
        None => None,
    };
    cfg.validate()?;
    if a.print_config {
        outln!("{}", cfg.to_toml().trim_end());
        return Ok(());
    }
    if a.threads == 0 {
        return Err(Error::Invalid("--threads must be ≥ 1".into()));
    }
    setup_threads(a.threads);
    let data = match data {
        Some(d) => d,
        None => load_data(&cfg)?,
    };
    if job.place().1 > 1 {
        return train_job(job, cfg, data, &out, &a);
    }
    let mut t = Trainer::with_data(cfg, data, &out, a.resume, a.threads)?;
    t.use_device(a.device)?;
    t.echo_log();
    let s = t.fit(a.threads)?;
    print_summary(&s, &out);
    Ok(())
}

/// Data-parallel training: rank 0 opens (or resumes) the run folder and shares its start; every
/// rank trains its part of each minibatch and applies the same update; rank 0 writes.
fn train_job(job: &Job, cfg: TrainConfig, data: Dataset, out: &Path, a: &TrainArgs) -> Result<()> {
    if a.device != DeviceKind::Cpu {
        // Every rank sees this: rank 0 alone reports it.
        return Err(Error::Distributed(
            "--device host|cuda trains in one process: data-parallel training (mpirun) runs the CPU trainer".into(),
        ));
    }
    if !job.is_leader() {
        let start = job.share_start(None)?;
        if start.config != cfg {
            return Err(Error::Invalid(format!(
                "this process's configuration differs from rank 0's (other files or arguments?); \
                 rank 0 trains {}",
                start.config.name
            )));
        }
        let mut t = Trainer::follower(start, data, a.threads)?;
        t.set_reducer(job.reducer())?;
        return t.follow();
    }
    let started = Trainer::with_data(cfg, data, out, a.resume, a.threads)
        .and_then(|mut t| t.set_reducer(job.reducer()).map(|_| t));
    let mut t = match started {
        Ok(t) => {
            job.share_start(Some(Ok(t.snapshot())))?;
            t
        }
        Err(e) => {
            // The others learn why there is no run, and stop with it.
            let _ = job.share_start(Some(Err(e.to_string())));
            return Err(Error::Distributed(format!("rank 0: {e}")));
        }
    };
    t.echo_log();
    let s = t.fit(a.threads)?;
    print_summary(&s, out);
    Ok(())
}

fn print_summary(s: &RunSummary, out: &Path) {
    outln!(
        "{}: best epoch {} — validation {:.2}%, test {:.2}% (final test {:.2}%), {:.0} s, {:.0} examples/s; results in {}",
        s.name,
        s.best_epoch,
        100.0 * s.best_val_error,
        100.0 * s.test_error_at_best,
        100.0 * s.final_test_error,
        s.train_seconds,
        s.examples_per_second,
        out.display()
    );
}

/// Arguments of `fhn eval`.
#[derive(Args)]
pub struct EvalArgs {
    /// A checkpoint written by `fhn train` (.safetensors).
    checkpoint: PathBuf,
    /// Split to evaluate.
    #[arg(long, default_value = "test",
          value_parser = clap::builder::PossibleValuesParser::new(["test", "val", "validation"]))]
    split: String,
    /// Threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
    /// Where the free phase runs (see `fhn train --device`).
    #[arg(long, default_value = "cpu", value_parser = super::device_kind())]
    device: DeviceKind,
    /// Free-phase steps (default: the checkpoint's `training.eval_steps`): more steps tell
    /// whether the logged error depends on an unconverged evaluation.
    #[arg(long)]
    steps: Option<usize>,
    /// Relaxation scheme (default: the checkpoint's `training.solver`).
    #[arg(long, value_parser = ["euler", "jacobi", "anderson", "newton", "redblack"])]
    solver: Option<String>,
}

/// `fhn eval`.
pub fn eval(a: EvalArgs) -> Result<()> {
    setup_threads(a.threads);
    let mut c = checkpoint::load(&a.checkpoint)?;
    if let Some(steps) = a.steps {
        c.config.training.eval_steps = steps;
    }
    if let Some(solver) = &a.solver {
        c.config.training.solver = serde_json::from_value(json!(solver))
            .map_err(|e| Error::Invalid(format!("--solver: {e}")))?;
    }
    if a.steps.is_some() || a.solver.is_some() {
        c.config.validate()?;
    }
    let data = load_data(&c.config)?;
    let split = match a.split.as_str() {
        "test" => &data.test,
        "val" | "validation" => &data.val,
        other => {
            return Err(Error::Invalid(format!(
                "unknown split '{other}' (test, val)"
            )))
        }
    };
    let e = match a.device.engine(&c.config, &c.net, &c.optim.first)? {
        Some(mut d) => d.evaluate(&a.split, split)?,
        None => evaluate(&c.net, &c.config, split, a.threads)?,
    };
    if a.json {
        return print_json(
            &json!({"checkpoint": a.checkpoint, "epoch": c.epoch, "split": a.split, "error": e.error, "cost": e.cost, "residual": e.residual,
                    "steps": c.config.training.eval_steps, "solver": c.config.training.solver}),
        );
    }
    outln!(
        "{} (epoch {}): {} error {:.2}% ({} examples), cost {:.4}, free-phase residual {:.2e} ({}, {} steps)",
        a.checkpoint.display(),
        c.epoch,
        a.split,
        100.0 * e.error,
        split.len(),
        e.cost,
        e.residual,
        json!(c.config.training.solver).as_str().unwrap_or("?"),
        c.config.training.eval_steps
    );
    Ok(())
}

/// Arguments of `fhn probe`.
#[derive(Args)]
pub struct ProbeArgs {
    /// A checkpoint written by `fhn train` (.safetensors).
    checkpoint: PathBuf,
    /// Training examples in the probe batch (the first ones).
    #[arg(long, default_value_t = 8)]
    examples: usize,
    /// Also write the report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// `fhn probe`: per weight layer, the trainer's EqProp estimate against the exact gradient.
pub fn probe(a: ProbeArgs) -> Result<()> {
    let c = checkpoint::load(&a.checkpoint)?;
    let data = load_data(&c.config)?;
    if a.examples == 0 || a.examples > data.train.len() {
        return Err(Error::Invalid(format!(
            "--examples must be in 1..={}",
            data.train.len()
        )));
    }
    let idx: Vec<usize> = (0..a.examples).collect();
    let q = fhn_eqprop::train::probe::gradient_quality(&c.net, &c.config, &data.train, &idx)?;
    outln!(
        "{} (epoch {}), {} examples, equilibrium residual {:.1e}",
        a.checkpoint.display(),
        c.epoch,
        q.examples,
        q.equilibrium_residual
    );
    outln!(
        "{:>6} {:>10} {:>12} {:>12}",
        "layer",
        "cosine",
        "rel. error",
        "‖exact‖"
    );
    for l in 0..q.cosine.len() {
        outln!(
            "{l:>6} {:>10.4} {:>12.3e} {:>12.3e}",
            q.cosine[l],
            q.relative_error[l],
            q.exact_norm[l]
        );
    }
    if let Some(p) = &a.json {
        super::write_json(
            p,
            &json!({"checkpoint": a.checkpoint, "epoch": c.epoch, "preset": c.config.name, "quality": q}),
        )?;
    }
    Ok(())
}
