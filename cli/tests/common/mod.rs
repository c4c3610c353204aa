//! Helpers shared by the end-to-end tests: run `fhn`, a scratch folder, its output as text.
#![allow(dead_code)] // each test binary uses its own subset

use std::path::PathBuf;
use std::process::{Command, Output};

/// Runs the `fhn` binary from the repository root.
pub fn fhn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fhn"))
        .args(args)
        .current_dir(root(""))
        .output()
        .expect("run fhn")
}

/// A path relative to the repository root (the tests run in `cli/`).
pub fn root(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
}

/// An empty scratch folder unique to this process and `name`.
pub fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("fhn-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// Standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// Standard output parsed as JSON (panics with the text when it is not).
pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

/// metrics.jsonl of a run folder without the wall-clock fields (comparable across runs).
pub fn metrics_without_timing(dir: &std::path::Path) -> Vec<serde_json::Value> {
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
