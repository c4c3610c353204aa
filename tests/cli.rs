//! End-to-end tests of the `fhn` binary: bad input gives a clear error and a non-zero exit;
//! training is deterministic, resumable, and `fhn eval` reproduces the logged error.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fhn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fhn"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run fhn")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("fhn-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[test]
fn bad_network_files_fail_cleanly_with_file_and_line() {
    let d = tmp("net");
    let cases = [
        (
            "loop.toml",
            "nodes = 3\nactivator_edges = [\n  [0, 1, 1.0],\n  [2, 2, 1.0],\n]\n",
            "loop.toml:4",
        ),
        (
            "unknown.toml",
            "nodes = 3\nactivator_edges = [[0, 5, 1.0]]\n",
            "outside",
        ),
        (
            "trunc.toml",
            "nodes = 3\nactivator_edges = [[0, 1, 1.0]",
            "trunc.toml:",
        ),
        ("empty.toml", "nodes = 0\n", "no nodes"),
        (
            "nan.toml",
            "nodes = 2\ncurrents = [[0, nan]]\n",
            "non-finite",
        ),
    ];
    for (name, text, want) in cases {
        let p = d.join(name);
        std::fs::write(&p, text).unwrap();
        let o = fhn(&["steady", p.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(1), "{name}");
        assert!(stderr(&o).contains(want), "{name}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"));
    }
    let o = fhn(&["steady", d.join("missing.toml").to_str().unwrap()]);
    assert!(stderr(&o).contains("missing.toml"));
}

#[test]
fn nonsense_arguments_are_rejected() {
    for args in [
        vec!["hamiltonian", "fhn-resnet", "--width", "0"],
        vec!["hamiltonian", "ebm", "--depth", "0"],
        vec!["simulate", "turing", "--nodes", "1"],
        vec!["train", "--preset", "nope"],
        vec!["eval", "/nonexistent/x.safetensors"],
    ] {
        let o = fhn(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).starts_with("error:"), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn check_adjoint_json_on_the_example() {
    let o = fhn(&["check", "adjoint", "examples/ring.toml", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["asymmetry_closed_form"].as_f64().unwrap() <= 1e-12);
    assert!(v["closed_vs_fd"].as_f64().unwrap() <= 1e-6);
    assert!(v["jacobian_asymmetry"].as_f64().unwrap() > 1e-3);
}

fn metrics_without_timing(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            let o = v.as_object_mut().unwrap();
            o.remove("train_seconds");
            o.remove("examples_per_second");
            v
        })
        .collect()
}

#[test]
fn training_is_deterministic_resumable_and_eval_reproduces() {
    let d = tmp("train");
    let (a, b) = (d.join("a"), d.join("b"));
    let run = |out: &Path, extra: &[&str]| {
        let mut args = vec![
            "train",
            "--preset",
            "tiny",
            "--threads",
            "1",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let o = fhn(&args);
        assert!(o.status.success(), "{}", stderr(&o));
    };
    run(&a, &["--epochs", "2"]);
    run(&b, &["--epochs", "1"]);
    run(&b, &["--epochs", "2", "--resume"]);
    let (ma, mb) = (metrics_without_timing(&a), metrics_without_timing(&b));
    assert_eq!(ma.len(), 2);
    assert_eq!(ma, mb, "a resumed run differs from an uninterrupted one");
    // A second run into a used folder is refused rather than overwriting it.
    let o = fhn(&["train", "--preset", "tiny", "--out", a.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    // fhn eval reproduces the logged test error of the checkpoint exactly.
    let o = fhn(&[
        "eval",
        a.join("checkpoint.safetensors").to_str().unwrap(),
        "--json",
        "--threads",
        "1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["error"].as_f64().unwrap(),
        ma[1]["test_error"].as_f64().unwrap()
    );
    assert!(
        a.join("curves.png").exists()
            && a.join("results.json").exists()
            && a.join("best.safetensors").exists()
    );
    // A corrupted checkpoint is reported, not loaded.
    let p = a.join("checkpoint.safetensors");
    let bytes = std::fs::read(&p).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    let o = fhn(&["eval", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("checkpoint.safetensors"));
}
