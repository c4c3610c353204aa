//! `fhn bench-step`: the unit of work of the side-by-side benchmark against the PyTorch
//! reference (bench/reference/), and the dump for the cross-check of one training step.

use super::job::Job;
use super::print_json;
use super::train::setup_threads;
use clap::Args;
use faer::{Mat, Par};
use fhn_eqprop::backend::DeviceKind;
use fhn_eqprop::layered::Grads;
use fhn_eqprop::train::checkpoint::{self, save_matrices};
use fhn_eqprop::train::config::TrainConfig;
use fhn_eqprop::train::{load_data, BatchStats, Trainer};
use fhn_eqprop::{Error, Result};
use serde_json::json;
use std::path::PathBuf;

/// Arguments of `fhn bench-step`.
#[derive(Args)]
pub struct BenchStepArgs {
    /// Built-in preset (paper, quick, best, hopfield, tiny).
    #[arg(long, default_value = "paper", conflicts_with = "config")]
    preset: String,
    /// TOML configuration file instead of a preset.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Minibatch size (overrides the configuration; at most 60 000, the MNIST training set).
    #[arg(long)]
    batch: Option<usize>,
    /// Threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Cross-check mode: one step on the first examples; writes config.toml, before.safetensors,
    /// batch.safetensors (x: B × n_0, target: B × n_L) and after.safetensors into DIR.
    #[arg(long)]
    dump: Option<PathBuf>,
    /// Timing mode: minibatches per sample.
    #[arg(long, default_value_t = 8)]
    batches: usize,
    /// Timing mode: samples (each one timing of `batches` steps).
    #[arg(long, default_value_t = 5)]
    reps: usize,
    /// Timing mode: untimed warm-up steps.
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    /// Instead: measure the f32 GEMM peak (1024³ on the CPU with `--threads`; 8192³ cuBLAS
    /// with `--device cuda`, TF32 when FHN_CUDA_TF32=1), median of 9.
    #[arg(long)]
    gemm_peak: bool,
    /// Where the steps run (see `fhn train --device`).
    #[arg(long, default_value = "cpu", value_parser = super::device_kind())]
    device: DeviceKind,
    /// Instead: run `--batches` steps from the same weights on the sharded CPU trainer and on
    /// `--device`, and report how far apart the weights and the updates end.
    #[arg(long)]
    check: bool,
}

/// Largest `--batch` of `bench-step`: the MNIST training set.
const MAX_BATCH: usize = 60_000;

/// f32 GFLOP/s of faer's 1024 × 1024 × 1024 product (median of 9 after one warm-up).
fn gemm_peak(threads: usize) -> f64 {
    use faer::linalg::matmul::matmul;
    use faer::Accum;
    let par = if threads <= 1 {
        Par::Seq
    } else {
        Par::rayon(threads)
    };
    let n = 1024;
    let a = Mat::<f32>::from_fn(n, n, |i, j| ((i * 7 + j * 3) % 11) as f32 * 0.1);
    let b = Mat::<f32>::from_fn(n, n, |i, j| ((i * 5 + j) % 13) as f32 * 0.1);
    let mut c = Mat::<f32>::zeros(n, n);
    let mut times: Vec<f64> = (0..10)
        .map(|_| {
            let t = std::time::Instant::now();
            matmul(c.as_mut(), Accum::Replace, &a, &b, 1.0, par);
            t.elapsed().as_secs_f64()
        })
        .skip(1)
        .collect();
    times.sort_by(f64::total_cmp);
    2.0 * (n * n * n) as f64 / times[times.len() / 2] / 1e9
}

/// `fhn bench-step` (under `mpirun -np N`: the data-parallel step of N processes, with the
/// cost of its gradient reductions).
pub fn bench_step(a: BenchStepArgs) -> Result<()> {
    let job = Job::start()?;
    let result = bench_in(&job, a);
    job.finish(result)
}

fn bench_in(job: &Job, a: BenchStepArgs) -> Result<()> {
    let mut cfg = match &a.config {
        Some(p) => TrainConfig::load(p)?,
        None => TrainConfig::preset(&a.preset)?,
    };
    if let Some(b) = a.batch {
        cfg.training.batch_size = b;
    }
    let b = cfg.training.batch_size;
    if b == 0 || b > MAX_BATCH {
        return Err(Error::Invalid(format!(
            "--batch (or training.batch_size) must be in 1..={MAX_BATCH} (the MNIST training set), got {b}"
        )));
    }
    if a.threads == 0 || a.batches == 0 || a.reps == 0 {
        return Err(Error::Invalid(
            "--threads, --batches, --reps must be ≥ 1".into(),
        ));
    }
    // Only the first examples are used: skip decoding work we do not need (at least one
    // minibatch; timing mode cycles through them).
    let batch = cfg.training.batch_size;
    cfg.data.train_limit = batch.saturating_mul(a.batches).min(8192).max(batch);
    cfg.data.eval_limit = 1;
    cfg.validate()?;
    setup_threads(a.threads);
    if job.place().1 > 1
        && (a.gemm_peak || a.check || a.dump.is_some() || a.device != DeviceKind::Cpu)
    {
        return Err(Error::Invalid(
            "--gemm-peak, --check, --dump and --device host|cuda run in one process: only the CPU \
             step's timing spreads over MPI processes"
                .into(),
        ));
    }
    if a.gemm_peak {
        return match a.device {
            DeviceKind::Cuda => cuda_gemm_peak(),
            _ => print_json(&json!({"threads": a.threads, "gemm_gflops": gemm_peak(a.threads)})),
        };
    }
    if a.check {
        return check_device(cfg, &a);
    }
    if let Some(dir) = &a.dump {
        // The dump uses the first `batch` training examples: they must exist.
        let available = load_data(&cfg)?.train.len();
        if batch > available {
            return Err(Error::Invalid(format!(
                "--dump needs {batch} training examples, the data set has {available}"
            )));
        }
        let mut t = Trainer::new(cfg, dir, false, a.threads)?;
        checkpoint::save(&dir.join("before.safetensors"), &t.snapshot())?;
        let idx: Vec<usize> = (0..batch).collect();
        let (x, target) = t.step_on(&idx)?;
        let (x, target) = (x.transpose().to_owned(), target.transpose().to_owned());
        save_matrices(
            &dir.join("batch.safetensors"),
            &[("x", &x), ("target", &target)],
        )?;
        checkpoint::save(&dir.join("after.safetensors"), &t.snapshot())?;
        return print_json(&json!({"dump": dir, "batch": batch}));
    }
    let dir = std::env::temp_dir().join(format!("fhn-bench-step-{}", std::process::id()));
    let mut t = Trainer::new(cfg, &dir, false, a.threads)?;
    t.use_device(a.device)?;
    let (rank, ranks) = job.place();
    let reduce_only = if ranks > 1 {
        // Every rank starts from the same seed, hence the same weights.
        t.set_reducer(job.reducer())?;
        Some(time_reduction(job, &t.net)?)
    } else {
        None
    };
    t.time_steps(a.warmup)?;
    let before = t.traffic();
    let samples: Vec<f64> = (0..a.reps)
        .map(|_| {
            t.time_steps(a.batches)
                .map(|(s, _)| (a.batches * batch) as f64 / s)
        })
        .collect::<Result<_>>()?;
    let traffic = t.traffic();
    let steps_seconds: f64 = samples
        .iter()
        .map(|eps| (a.batches * batch) as f64 / eps)
        .sum();
    let flops = t.time_steps(0)?.1;
    let _ = std::fs::remove_dir_all(&dir);
    if rank > 0 {
        return Ok(());
    }
    let mut report = json!({
        "impl": "rust",
        "device": a.device.engine_name(),
        "batch": batch,
        "threads": a.threads,
        "processes": ranks,
        "examples_per_second": samples,
        "flops_per_example": flops,
    });
    if let Some(pure) = reduce_only {
        let n = (traffic.reductions - before.reductions).max(1) as f64;
        report["reduction"] = json!({
            "floats": Grads::zeros_like(&t.net).len(),
            "bytes_sent_per_update": (traffic.bytes_sent - before.bytes_sent) as f64 / n,
            "seconds_per_update_in_step": (traffic.seconds - before.seconds) / n,
            "share_of_step_time": (traffic.seconds - before.seconds) / steps_seconds,
            "seconds_per_update_alone": pure,
        });
    }
    print_json(&report)
}

/// Median wall time of one gradient reduction alone (no step around it, after a barrier).
fn time_reduction(job: &Job, net: &fhn_eqprop::layered::LayeredNet<f32>) -> Result<f64> {
    let mut r = job.reducer();
    let mut g = Grads::zeros_like(net);
    let mut times = Vec::new();
    for _ in 0..21 {
        job.barrier();
        let t = std::time::Instant::now();
        r.reduce(Ok(BatchStats::default()), &mut g)?;
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// cuBLAS SGEMM 8192³ GFLOP/s on GPU 0.
fn cuda_gemm_peak() -> Result<()> {
    #[cfg(feature = "cuda")]
    {
        let gpu = fhn_eqprop::backend::Cuda::new(0)?;
        let tf32 = std::env::var("FHN_CUDA_TF32").is_ok_and(|v| v == "1");
        use fhn_eqprop::backend::Backend;
        print_json(
            &json!({"device": gpu.describe(), "n": 8192, "tf32": tf32, "gemm_gflops": gpu.gemm_peak(8192)?}),
        )
    }
    #[cfg(not(feature = "cuda"))]
    Err(Error::Device("this binary was built without CUDA support: rebuild with `cargo build --release --features cuda`".into()))
}

/// `--check`: the same steps on the sharded CPU trainer (one thread) and on `--device`.
fn check_device(cfg: TrainConfig, a: &BenchStepArgs) -> Result<()> {
    let batch = cfg.training.batch_size;
    let tmp = std::env::temp_dir().join(format!("fhn-check-{}", std::process::id()));
    let mut cpu = Trainer::new(cfg.clone(), &tmp.join("cpu"), false, 1)?;
    let mut dev = Trainer::new(cfg.clone(), &tmp.join("dev"), false, 1)?;
    dev.use_device(a.device)?;
    // Yardsticks: the CPU trainer with two shards (the gradient summed in another order), and
    // from weights moved by one unit in the last place (how much f32 rounding alone can move
    // the result of these phases).
    let mut cpu2 = Trainer::new(cfg.clone(), &tmp.join("cpu2"), false, 2)?;
    let mut ulp = Trainer::new(cfg.clone(), &tmp.join("ulp"), false, 1)?;
    for w in ulp.net.weights.iter_mut() {
        for j in 0..w.ncols() {
            for i in 0..w.nrows() {
                let x = w[(i, j)];
                w[(i, j)] = if (i + j) % 2 == 0 {
                    x.next_up()
                } else {
                    x.next_down()
                };
            }
        }
    }
    let before = cpu.net.clone();
    let n = load_data(&cfg)?.train.len();
    for k in 0..a.batches {
        let idx: Vec<usize> = (0..batch).map(|i| (k * batch + i) % n).collect();
        cpu.step_on(&idx)?;
        dev.step_on(&idx)?;
        cpu2.step_on(&idx)?;
        ulp.step_on(&idx)?;
    }
    let _ = std::fs::remove_dir_all(&tmp);
    let d = fhn_eqprop::backend::compare(&before, &cpu.net, &dev.net);
    let y = fhn_eqprop::backend::compare(&before, &cpu.net, &cpu2.net);
    let z = fhn_eqprop::backend::compare(&before, &cpu.net, &ulp.net);
    print_json(&json!({
        "check": a.device.engine_name(), "preset": cfg.name, "batch": batch, "steps": a.batches,
        "weights_rel": d.weights_rel, "weights_max_rel": d.weights_max_rel, "update_rel": d.update_rel,
        "update_rel_per_layer": d.update_rel_per_layer,
        "weights_max_rel_per_layer": d.weights_max_rel_per_layer, "pass_1e-5": d.weights_rel <= 1e-5,
        "cpu_two_shards": {"weights_rel": y.weights_rel, "weights_max_rel": y.weights_max_rel, "update_rel": y.update_rel,
            "weights_max_rel_per_layer": y.weights_max_rel_per_layer},
        "cpu_one_ulp": {"weights_rel": z.weights_rel, "weights_max_rel": z.weights_max_rel, "update_rel": z.update_rel,
            "update_rel_per_layer": z.update_rel_per_layer},
    }))
}
