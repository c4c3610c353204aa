//! `fhn sweep`: runs every planned run once, resumes unfinished ones, skips failed ones until
//! told, runs one run per Slurm array task, and gathers the table.

mod common;
use common::{fhn, stderr, stdout, tmp};
use std::path::Path;
use std::process::Command;

fn sweep(file: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "sweep",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    fhn(&args)
}

/// A sweep of the tiny preset: variants `a` (`epochs` epochs) and `b` (learning rates ÷ 4),
/// seeds 1 and 2, and optionally `bad` (Euler with dt = 50: diverges).
fn write_sweep(path: &Path, epochs: usize, with_bad: bool) {
    let mut s = format!(
        "base = \"tiny\"\nseeds = [1, 2]\n[[runs]]\nlabel = \"a\"\n\"training.epochs\" = {epochs}\n\
         [[runs]]\nlabel = \"b\"\n\"training.epochs\" = 1\n\"training.lrs\" = [0.05, 0.0125]\n"
    );
    if with_bad {
        s += "[[runs]]\nlabel = \"bad\"\n\"training.epochs\" = 1\n\"training.solver\" = \"euler\"\n\"training.dt\" = 50.0\n";
    }
    std::fs::write(path, s).unwrap();
}

#[test]
fn a_sweep_runs_each_run_once_resumes_and_skips_failed_runs() {
    let d = tmp("sweep");
    let (file, out) = (d.join("s.toml"), d.join("out"));
    write_sweep(&file, 1, true);
    let o = sweep(&file, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert_eq!(err.matches(" starts in ").count(), 6, "{err}");
    assert!(err.contains("run 4/6 failed: divergence"), "{err}");
    let table = stdout(&o);
    assert!(
        table.contains("| a | fhn | 1 | 2/2 |") && table.contains("| b | fhn | 1 | 2/2 |"),
        "{table}"
    );
    assert!(
        table.contains("| bad | fhn | 1 | 0/2, 2 failed | – |"),
        "{table}"
    );
    assert!(out.join("sweep.png").exists() && out.join("bad-s1/failed.txt").exists());

    // Variant a now wants two epochs: it resumes; b is done; bad stays failed until told.
    write_sweep(&file, 2, true);
    let o = sweep(&file, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert_eq!(err.matches(" resumes in ").count(), 2, "{err}");
    assert_eq!(err.matches(" starts in ").count(), 0, "{err}");
    let metrics = std::fs::read_to_string(out.join("a-s1/metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 2);
    // The resumed run equals a run of two epochs straight through.
    let straight = d.join("straight");
    let o = fhn(&[
        "train",
        "--preset",
        "tiny",
        "--threads",
        "1",
        "--epochs",
        "2",
        "--seed",
        "1",
        "--out",
        straight.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let ckpt = |p: &Path| std::fs::read(p.join("checkpoint.safetensors")).unwrap();
    let (resumed, direct) = (
        fhn_ckpt_weights(&ckpt(&out.join("a-s1"))),
        fhn_ckpt_weights(&ckpt(&straight)),
    );
    assert_eq!(resumed, direct);

    let o = sweep(&file, &out, &["--list"]);
    let list = stdout(&o);
    assert_eq!(list.matches("finished").count(), 4, "{list}");
    assert_eq!(list.matches("failed (").count(), 2, "{list}");
    let _ = std::fs::remove_dir_all(d);
}

/// The weight tensors of a checkpoint file (its metadata names the run, which differs).
fn fhn_ckpt_weights(bytes: &[u8]) -> Vec<u8> {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    bytes[8 + n..].to_vec()
}

#[test]
fn a_slurm_array_task_runs_its_own_run_only() {
    let d = tmp("sweep-slurm");
    let (file, out) = (d.join("s.toml"), d.join("out"));
    write_sweep(&file, 1, false);
    let task = |k: &str| {
        Command::new(env!("CARGO_BIN_EXE_fhn"))
            .args([
                "sweep",
                file.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ])
            .env("SLURM_ARRAY_TASK_ID", k)
            .current_dir(common::root(""))
            .output()
            .unwrap()
    };
    let o = task("2");
    assert!(o.status.success(), "{}", stderr(&o));
    let list = stdout(&sweep(&file, &out, &["--list"]));
    let status: Vec<bool> = list.lines().map(|l| l.contains("finished")).collect();
    assert_eq!(status, [false, false, true, false], "{list}");
    let o = task("4");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("the sweep has 4 runs (--array=0-3)"),
        "{}",
        stderr(&o)
    );
    let o = task("x");
    assert!(stderr(&o).contains("not a run index"), "{}", stderr(&o));
    let md = std::fs::read_to_string(out.join("sweep.md")).unwrap();
    assert!(md.contains("| b | fhn | 1 | 1/2 |"), "{md}");
    let _ = std::fs::remove_dir_all(d);
}

/// Started by an MPI launcher without the `mpi` feature, every process would do the whole job:
/// refused with the way out.
#[cfg(not(feature = "mpi"))]
#[test]
fn an_mpi_launch_of_a_binary_without_mpi_is_refused() {
    let o = Command::new(env!("CARGO_BIN_EXE_fhn"))
        .args(["train", "--preset", "tiny", "--out", "/nonexistent/never"])
        .env("OMPI_COMM_WORLD_SIZE", "2")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--features mpi"), "{}", stderr(&o));
}

#[test]
fn a_sweep_runs_on_the_device_it_is_given() {
    let d = tmp("sweep-device");
    let (file, out) = (d.join("s.toml"), d.join("out"));
    std::fs::write(&file, "base = \"tiny\"\n").unwrap();
    let o = sweep(&file, &out, &["--device", "host"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("tiny-s1/results.json")).unwrap()).unwrap();
    assert!(r["device"].as_str().unwrap().contains("host"), "{r}");
    let _ = std::fs::remove_dir_all(d);
}
