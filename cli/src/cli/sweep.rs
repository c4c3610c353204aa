//! `fhn sweep SWEEP.toml`: the runs of a sweep (`fhn_eqprop::train::sweep`), each a run folder.
//! Alone, this process runs them one after another; under `mpirun -np N` (feature `mpi`) the
//! ranks share them; in a Slurm job array each task runs the run of its SLURM_ARRAY_TASK_ID.
//! Every process claims a run by its folder's lock, so processes started in any of these ways
//! never train the same run twice; started again, a sweep resumes its unfinished runs.

use super::job::Job;
use super::train::setup_threads;
use clap::Args;
use fhn_eqprop::backend::DeviceKind;
use fhn_eqprop::train::sweep::{RunStatus, Sweep};
use fhn_eqprop::train::{load_data, RunLock, Trainer};
use fhn_eqprop::{Error, Result};
use std::path::PathBuf;

/// Arguments of `fhn sweep`.
#[derive(Args)]
pub struct SweepArgs {
    /// The sweep file (TOML: base, seeds, [grid] and/or [[runs]]; docs/SCALING.md).
    file: PathBuf,
    /// Folder of the runs and the table (default: the file's `out`, else runs/sweeps/<name>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Threads per run.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Where each run's steps run (see `fhn train --device`; cuda: one GPU, one process).
    #[arg(long, default_value = "cpu", value_parser = super::device_kind())]
    device: DeviceKind,
    /// List the runs and where each stands; train nothing.
    #[arg(long)]
    list: bool,
    /// Only gather the finished runs into sweep.md, sweep.json and sweep.png.
    #[arg(long)]
    collect: bool,
}

/// The run a Slurm array task is for (SLURM_ARRAY_TASK_ID), if this is one.
fn array_task() -> Result<Option<usize>> {
    match std::env::var("SLURM_ARRAY_TASK_ID") {
        Ok(v) => {
            v.trim().parse().map(Some).map_err(|_| {
                Error::Invalid(format!("SLURM_ARRAY_TASK_ID is '{v}', not a run index"))
            })
        }
        Err(_) => Ok(None),
    }
}

/// `fhn sweep`.
pub fn sweep(a: SweepArgs) -> Result<()> {
    let job = Job::start()?;
    let result = sweep_in(&job, a);
    job.finish(result)
}

fn describe(s: &RunStatus) -> String {
    match s {
        RunStatus::New => "new".into(),
        RunStatus::Partial { epochs } => format!("{epochs} epoch(s) done"),
        RunStatus::Finished { summary } => format!(
            "finished: test {:.2}% at best validation epoch {}",
            100.0 * summary.test_error_at_best,
            summary.best_epoch
        ),
        RunStatus::Failed { error } => format!("failed ({error}); delete failed.txt to retry"),
    }
}

fn sweep_in(job: &Job, a: SweepArgs) -> Result<()> {
    if a.threads == 0 {
        return Err(Error::Invalid("--threads must be ≥ 1".into()));
    }
    let mut s = Sweep::load(&a.file)?;
    if let Some(out) = &a.out {
        for r in s.runs.iter_mut() {
            r.dir = out.join(r.dir.strip_prefix(&s.out).unwrap_or(&r.dir));
        }
        s.out = out.clone();
    }
    let (rank, ranks) = job.place();
    let n = s.runs.len();
    if a.list || a.collect {
        if job.is_leader() {
            if a.list {
                for i in 0..n {
                    let r = &s.runs[i];
                    outln!(
                        "{i:>4}  {} s{}  {}  {}",
                        r.label,
                        r.seed,
                        r.dir.display(),
                        describe(&s.status(i))
                    );
                }
            } else {
                outln!("{}", s.write_table()?.markdown().trim_end());
            }
        }
        return Ok(());
    }
    setup_threads(a.threads);
    let task = array_task()?;
    let order: Vec<usize> = match task {
        Some(k) if k >= n => {
            return Err(Error::Invalid(format!(
                "SLURM_ARRAY_TASK_ID={k}, but the sweep has {n} runs (--array=0-{})",
                n.saturating_sub(1)
            )))
        }
        Some(k) => vec![k],
        // Each rank starts at its own run and takes the next free one after each.
        None => (0..n).map(|i| (i + rank) % n).collect(),
    };
    let who = if ranks > 1 {
        format!("rank {rank}: ")
    } else {
        String::new()
    };
    let mut failed = Vec::new();
    for i in order {
        if matches!(
            s.status(i),
            RunStatus::Finished { .. } | RunStatus::Failed { .. }
        ) {
            continue;
        }
        let r = &s.runs[i];
        let Some(lock) = RunLock::try_acquire(&r.dir)? else {
            continue; // another process trains it
        };
        // It may have finished between the look and the lock.
        if matches!(
            s.status(i),
            RunStatus::Finished { .. } | RunStatus::Failed { .. }
        ) {
            continue;
        }
        let resume = r.dir.join("checkpoint.safetensors").exists();
        eprintln!(
            "{who}run {i}/{n} {} s{} {} in {}",
            r.label,
            r.seed,
            if resume { "resumes" } else { "starts" },
            r.dir.display()
        );
        let trainer = load_data(&r.config)
            .and_then(|data| Trainer::with_lock(r.config.clone(), data, lock, resume, a.threads))
            .and_then(|mut t| t.use_device(a.device).map(|_| t));
        // The trainer holds the run's lock until failed.txt is written: no other process can
        // take the failed run for an unfinished one in between.
        let (result, held) = match trainer {
            Ok(mut t) => (t.fit(a.threads).map(|_| ()), Some(t)),
            Err(e) => (Err(e), None),
        };
        match result {
            Ok(()) => eprintln!("{who}run {i}/{n} {}", describe(&s.status(i))),
            Err(e @ Error::Interrupted(_)) => return Err(e),
            Err(e) => {
                eprintln!("{who}run {i}/{n} failed: {e}");
                s.mark_failed(i, &e.to_string())?;
                failed.push(i);
            }
        }
        drop(held);
    }
    job.barrier();
    if job.is_leader() || task.is_some() {
        let t = s.write_table()?;
        if job.is_leader() && task.is_none() {
            outln!("{}", t.markdown().trim_end());
        }
    }
    match (task, failed.is_empty()) {
        (Some(k), false) => Err(Error::Invalid(format!(
            "run {k} failed (its failed.txt says why)"
        ))),
        _ => Ok(()),
    }
}
