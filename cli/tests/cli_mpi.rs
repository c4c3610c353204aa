//! Data-parallel training over MPI (feature `mpi`; `.ci/run` installs Open MPI): `mpirun -np 2`
//! with one thread per process computes the bits of one process with two threads, resumes
//! like one process, stops every process on a divergence with one message, and a killed rank
//! ends the job with the last checkpoint intact.
#![cfg(feature = "mpi")]

mod common;
use common::{fhn, metrics_without_timing, stderr, tmp};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `mpirun` with `n` processes of `fhn args…` (oversubscribed: CI machines have 2 cores).
fn mpirun(n: usize) -> Command {
    let mut c = Command::new("mpirun");
    c.args([
        "--oversubscribe",
        "-np",
        &n.to_string(),
        env!("CARGO_BIN_EXE_fhn"),
    ])
    .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
    .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    .env("OMPI_MCA_rmaps_base_oversubscribe", "1")
    .current_dir(common::root(""));
    c
}

fn run_mpi(n: usize, args: &[&str]) -> Output {
    mpirun(n)
        .args(args)
        .output()
        .expect("run mpirun (Open MPI: scripts/install_mpi.sh)")
}

fn train_args<'a>(out: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        "train",
        "--preset",
        "tiny",
        "--threads",
        "1",
        "--out",
        out.to_str().unwrap(),
    ];
    a.extend_from_slice(extra);
    a
}

#[test]
fn two_ranks_of_one_thread_give_the_bits_of_one_process_with_two_threads_and_resume_alike() {
    let d = tmp("mpi-bits");
    let (one, two, resumed) = (d.join("one"), d.join("two"), d.join("resumed"));
    let o = fhn(&[
        "train",
        "--preset",
        "tiny",
        "--threads",
        "2",
        "--epochs",
        "2",
        "--out",
        one.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run_mpi(2, &train_args(&two, &["--epochs", "2"]));
    assert!(o.status.success(), "{}", stderr(&o));
    // Interrupted after one epoch and resumed, still over two ranks.
    let o = run_mpi(2, &train_args(&resumed, &["--epochs", "1"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run_mpi(2, &train_args(&resumed, &["--epochs", "2", "--resume"]));
    assert!(o.status.success(), "{}", stderr(&o));

    let m = metrics_without_timing(&one);
    assert_eq!(m.len(), 2);
    assert_eq!(
        m,
        metrics_without_timing(&two),
        "2 ranks × 1 thread vs 1 × 2"
    );
    assert_eq!(m, metrics_without_timing(&resumed), "resumed over 2 ranks");
    let ckpt = |dir: &Path| std::fs::read(dir.join("checkpoint.safetensors")).unwrap();
    assert!(ckpt(&one) == ckpt(&two), "the checkpoints differ");
    let log = std::fs::read_to_string(two.join("log.txt")).unwrap();
    assert!(log.contains("2 processes × 1 thread(s)"), "{log}");
    // Only rank 0 wrote: one log line per epoch, one summary on stdout.
    assert_eq!(log.matches("epoch   2:").count(), 1, "{log}");
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn a_diverging_job_stops_every_rank_with_one_message() {
    let d = tmp("mpi-diverge");
    let base = String::from_utf8(fhn(&["train", "--preset", "tiny", "--print-config"]).stdout)
        .unwrap()
        .replace("solver = \"jacobi\"", "solver = \"euler\"")
        .replace("dt = 0.5", "dt = 50.0");
    let p = d.join("c.toml");
    std::fs::write(&p, base).unwrap();
    let out = d.join("r");
    let o = run_mpi(
        2,
        &[
            "train",
            "--config",
            p.to_str().unwrap(),
            "--threads",
            "1",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(!o.status.success());
    let err = stderr(&o);
    assert_eq!(err.matches("error: distributed:").count(), 1, "{err}");
    assert!(err.contains("divergence"), "{err}");
    let log = std::fs::read_to_string(out.join("log.txt")).unwrap();
    assert!(
        log.contains("stopped: distributed:") && log.contains("no checkpoint was written"),
        "{log}"
    );
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn refusals_are_reported_once_and_end_every_rank() {
    let d = tmp("mpi-refuse");
    let out = d.join("r");
    // Rank 0 cannot start the run (the folder holds one): every rank stops.
    let o = fhn(&[
        "train",
        "--preset",
        "tiny",
        "--epochs",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run_mpi(2, &train_args(&out, &["--epochs", "1"]));
    assert!(!o.status.success());
    let err = stderr(&o);
    assert_eq!(err.matches("already holds a run").count(), 1, "{err}");
    // More processes than examples per minibatch.
    let p = d.join("b2.toml");
    let cfg =
        String::from_utf8(fhn(&["train", "--preset", "tiny", "--print-config"]).stdout).unwrap();
    let cfg = cfg.replace("batch_size = 32", "batch_size = 2");
    assert!(cfg.contains("batch_size = 2\n"), "{cfg}");
    std::fs::write(&p, cfg).unwrap();
    let o = run_mpi(
        3,
        &[
            "train",
            "--config",
            p.to_str().unwrap(),
            "--threads",
            "1",
            "--out",
            d.join("b").to_str().unwrap(),
        ],
    );
    assert!(!o.status.success());
    assert_eq!(
        stderr(&o).matches("training.batch_size ≥ 3").count(),
        1,
        "{}",
        stderr(&o)
    );
    // The device engines train in one process.
    let o = run_mpi(2, &train_args(&d.join("h"), &["--device", "host"]));
    assert!(!o.status.success());
    assert_eq!(
        stderr(&o).matches("trains in one process").count(),
        1,
        "{}",
        stderr(&o)
    );
    let _ = std::fs::remove_dir_all(d);
}

/// The process whose command line names `marker` and whose MPI rank is `rank`.
fn rank_pid(marker: &str, rank: usize) -> Option<u32> {
    let want = format!("OMPI_COMM_WORLD_RANK={rank}");
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
        let env = std::fs::read(e.path().join("environ")).ok()?;
        let (cmd, env) = (String::from_utf8_lossy(&cmd), String::from_utf8_lossy(&env));
        let is_rank = env.split('\0').any(|v| v == want);
        (cmd.contains(marker) && cmd.contains("train") && is_rank).then_some(pid)
    })
}

#[test]
fn a_killed_rank_ends_the_job_with_the_last_checkpoint_intact_and_it_resumes() {
    let d = tmp("mpi-kill");
    let out = d.join("r");
    let job = mpirun(2)
        .args(train_args(&out, &["--epochs", "1000"]))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run mpirun");
    let ckpt = out.join("checkpoint.safetensors");
    let start = Instant::now();
    while !ckpt.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no checkpoint after 120 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = rank_pid(out.to_str().unwrap(), 1).expect("rank 1's process");
    let killed = Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let o = job.wait_with_output().unwrap();
    assert!(!o.status.success(), "the job must fail when a rank dies");
    let err = stderr(&o);
    assert!(
        err.contains("signal 9"),
        "mpirun names the dead rank: {err}"
    );
    // The checkpoint on disk is whole and resumable.
    let o = fhn(&["eval", ckpt.to_str().unwrap(), "--json", "--threads", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let epoch = serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()["epoch"]
        .as_u64()
        .unwrap();
    assert!((1..1000).contains(&epoch));
    let next = (epoch + 1).to_string();
    let o = run_mpi(2, &train_args(&out, &["--epochs", &next, "--resume"]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(metrics_without_timing(&out).len() as u64, epoch + 1);
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn two_ranks_share_a_sweep_and_train_each_run_once() {
    let d = tmp("mpi-sweep");
    let out = d.join("out");
    let o = run_mpi(
        2,
        &[
            "sweep",
            "configs/sweeps/tiny.toml",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert_eq!(err.matches(" starts in ").count(), 4, "{err}");
    assert!(
        err.contains("rank 0: run 0/4") && err.contains("rank 1: run 1/4"),
        "{err}"
    );
    let table = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(
        table.matches("| 2/2 |").count(),
        2,
        "printed once, by rank 0: {table}"
    );
    let _ = std::fs::remove_dir_all(d);
}
