//! End-to-end tests of `fhn steady|simulate|check|bench-step` on inputs that used
//! to panic or to print a wrong result with exit status 0 (issue 9): each is now a clear error
//! (exit 1, "error: …" on stderr) or an honest report.

use std::path::Path;
mod common;

use common::{fhn, json, stderr, stdout, tmp};
use std::process::Output;

/// Writes a network file and returns its path as a string.
fn net(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

/// Exit status 1, an "error:" line that contains `want`, and no panic.
fn assert_clean_error(o: &Output, want: &str, what: &str) {
    let e = stderr(o);
    assert_eq!(o.status.code(), Some(1), "{what}: {e}");
    assert!(e.starts_with("error:"), "{what}: {e}");
    assert!(e.contains(want), "{what}: wanted '{want}' in {e}");
    assert!(!e.contains("panicked"), "{what}: {e}");
}

/// Two bistable Table I units (u = 0 is a saddle between u = ±0.27) and a current of 1e-9:
/// the start is already below the time-stepping tolerance, so Newton polishes the saddle.
const SADDLE: &str = "nodes = 2\nactivator_edges = [[0, 1, 1.0]]\n\
    inhibitor_edges = [[0, 1, 1.0]]\ncurrents = [[0, 1e-9]]\n";

/// ε = 0.1, α = 0.5: the only equilibrium is an unstable focus inside a limit cycle.
const CYCLE: &str = "nodes = 2\nactivator_edges = [[0, 1, 1.0]]\n\
    inhibitor_edges = [[0, 1, 1.0]]\ncurrents = [[0, 0.1]]\n[params]\neps = 0.1\nalpha = 0.5\n";

#[test]
fn non_finite_states_are_errors_not_nan_results() {
    let d = tmp("nonfinite");
    let f = net(
        &d,
        "huge.toml",
        "nodes = 2\nactivator_edges = [[0, 1, 1.0]]\nclamps = [[0, 1e200, 0.0]]\n",
    );
    let out = d.join("sim");
    let out = out.to_str().unwrap();
    for args in [
        vec!["steady", &f],
        vec!["simulate", &f, "--out", out],
        vec!["simulate", &f, "--method", "euler", "--out", out],
    ] {
        let o = fhn(&args);
        assert_clean_error(&o, "non-finite", &format!("{args:?}"));
        assert!(stderr(&o).contains("node 1"), "{}", stderr(&o));
        assert!(!stdout(&o).contains("NaN"), "{}", stdout(&o));
    }
}

#[test]
fn absurd_network_sizes_are_refused_before_allocating() {
    let d = tmp("sizes");
    for n in ["9223372036854775807", "1000000000"] {
        let f = net(&d, &format!("n{n}.toml"), &format!("nodes = {n}\n"));
        let o = fhn(&["steady", &f]);
        assert_clean_error(&o, "at most 1000000", n);
    }
    let o = fhn(&["check", "energy", "--random", "100000"]);
    assert_clean_error(&o, "--random", "check --random 100000");
    let o = fhn(&["simulate", "turing", "--nodes", "100000000"]);
    assert_clean_error(&o, "--nodes", "simulate turing --nodes 1e8");
}

#[test]
fn a_sparse_network_of_100000_nodes_still_simulates() {
    let d = tmp("big");
    let n = 100_000;
    let edges: Vec<String> = (1..n).map(|i| format!("[{}, {i}, 1.0]", i - 1)).collect();
    let text = format!(
        "nodes = {n}\nactivator_edges = [{e}]\ninhibitor_edges = [{e}]\nclamps = [[0, 0.3, 0.1]]\n",
        e = edges.join(",")
    );
    let f = net(&d, "path.toml", &text);
    let out = d.join("sim");
    let o = fhn(&[
        "simulate",
        &f,
        "--method",
        "euler",
        "--t-end",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("(10 Euler steps of 0.1)"),
        "{}",
        stdout(&o)
    );
    assert!(out.join("space_time.png").exists());
}

#[test]
fn non_finite_or_non_positive_numeric_options_are_refused() {
    let d = tmp("options");
    let out = d.join("o");
    let out = out.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["simulate", "examples/ring.toml", "--t-end", "nan"],
            "--t-end",
        ),
        (
            vec!["simulate", "examples/ring.toml", "--t-end", "-5"],
            "--t-end",
        ),
        (
            vec!["simulate", "examples/ring.toml", "--dt", "inf"],
            "--dt",
        ),
        (
            vec![
                "simulate",
                "examples/ring.toml",
                "--method",
                "euler",
                "--dt",
                "0",
            ],
            "--dt",
        ),
        (
            vec![
                "simulate",
                "examples/ring.toml",
                "--method",
                "euler",
                "--dt",
                "1e-300",
            ],
            "Euler steps",
        ),
        (
            vec![
                "simulate",
                "examples/ring.toml",
                "--method",
                "euler",
                "--t-end",
                "0.01",
            ],
            "no step",
        ),
        (vec!["simulate", "turing", "--t-end", "inf"], "--t-end"),
        (vec!["simulate", "turing", "--delta", "nan"], "--delta"),
        (vec!["simulate", "turing", "--noise", "-1"], "--noise"),
        (
            vec!["steady", "examples/ring.toml", "--tol", "nan"],
            "--tol",
        ),
        (
            vec!["steady", "examples/ring.toml", "--tol", "-1e-12"],
            "--tol",
        ),
        (vec!["check", "energy", "--random", "3"], "--random"),
        (vec!["check", "layered", "--scale", "inf"], "--scale"),
        (vec!["check", "layered", "--widths", "4,0,2"], "--widths"),
        (vec!["check", "layered", "--widths", "4"], "--widths"),
        (vec!["hamiltonian", "echo", "--eps", "0"], "--eps"),
        (
            vec!["hamiltonian", "echo", "--coupling", "nan"],
            "--coupling",
        ),
        (vec!["hamiltonian", "echo", "--max-depth", "0"], "depths"),
        (vec!["hamiltonian", "echo-train", "--eta", "-1"], "--eta"),
        (vec!["hamiltonian", "echo-train", "--width", "0"], "width"),
        (vec!["hamiltonian", "echo-train", "--epochs", "0"], "epochs"),
        (
            vec!["hamiltonian", "echo-train", "--lr-in", "-1"],
            "--lr-in",
        ),
        (
            vec!["hamiltonian", "echo-train", "--estimator", "eqprop-steady"],
            "--lr-in 0",
        ),
        (vec!["hamiltonian", "ebm", "--gain", "nan"], "--gain"),
        (vec!["hamiltonian", "ebm", "--gain", "-1"], "--gain"),
        (vec!["hamiltonian", "ebm", "--width", "100000"], "--width"),
        (
            vec!["hamiltonian", "ebm", "--depth", "100000000"],
            "--depth",
        ),
        (
            vec!["hamiltonian", "fhn-resnet", "--delta", "inf"],
            "--delta",
        ),
        (
            vec!["hamiltonian", "fhn-resnet", "--coupling", "nan"],
            "--coupling",
        ),
        (
            vec![
                "hamiltonian",
                "fhn-resnet",
                "--width",
                "1000",
                "--depth",
                "1000",
            ],
            "width² × depth",
        ),
    ];
    for (mut args, want) in cases {
        if args[0] == "simulate" || args[0] == "hamiltonian" {
            args.extend(["--out", out]);
        }
        let o = fhn(&args);
        assert_clean_error(&o, want, &format!("{args:?}"));
    }
}

#[test]
fn bench_step_with_a_large_batch_works_or_says_why() {
    let common = ["--batches", "1", "--reps", "1", "--warmup", "0"];
    let o = fhn(&[
        &["bench-step", "--preset", "tiny", "--batch", "10000"],
        &common[..],
    ]
    .concat());
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(json(&o)["batch"], 10000);
    let o = fhn(&[
        &["bench-step", "--preset", "tiny", "--batch", "100000"],
        &common[..],
    ]
    .concat());
    assert_clean_error(&o, "--batch", "bench-step --batch 100000");
}

#[test]
fn steady_warns_about_a_saddle_and_require_stable_fails() {
    let d = tmp("saddle");
    let f = net(&d, "saddle.toml", SADDLE);
    let o = fhn(&["steady", &f, "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("warning: the steady state is not stable"),
        "{}",
        stderr(&o)
    );
    let v = json(&o);
    assert_eq!(v["stable"], false, "{v}");
    assert!(v["max_growth_rate"].as_f64().unwrap() > 0.1, "{v}");
    assert_eq!(v["time_stepping_converged"], true, "{v}");
    assert!(!v["warnings"].as_array().unwrap().is_empty(), "{v}");
    let o = fhn(&["steady", &f]);
    assert!(stdout(&o).contains("stability: UNSTABLE"), "{}", stdout(&o));
    let o = fhn(&["steady", &f, "--require-stable"]);
    assert_clean_error(&o, "unstable steady state", "--require-stable on a saddle");
    assert!(stdout(&o).is_empty(), "{}", stdout(&o));
    // A stable state: no warning, and --require-stable passes.
    let o = fhn(&["steady", "examples/ring.toml", "--json", "--require-stable"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["stable"], true, "{v}");
    assert_eq!(v["time_stepping_converged"], true, "{v}");
}

#[test]
fn steady_says_when_time_stepping_oscillates_instead_of_settling() {
    let d = tmp("cycle");
    let f = net(&d, "cycle.toml", CYCLE);
    let o = fhn(&["steady", &f, "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("time stepping did not settle"), "{e}");
    assert!(e.contains("not stable"), "{e}");
    let v = json(&o);
    assert_eq!(v["time_stepping_converged"], false, "{v}");
    assert_eq!(v["stable"], false, "{v}");
    assert!(
        v["time_stepping"]["residual"].as_f64().unwrap() > 1e-3,
        "{v}"
    );
    let o = fhn(&["steady", &f, "--require-stable"]);
    assert_clean_error(&o, "did not settle", "--require-stable on a limit cycle");
}

#[test]
fn check_adjoint_says_when_the_closed_form_does_not_apply() {
    let d = tmp("alpha0");
    // α = 0 and the inhibitor component {1, 2, 3} holds no clamp: (d_v/ε)L₂ + αI is singular.
    let f = net(
        &d,
        "alpha0.toml",
        "nodes = 4\nactivator_edges = [[0, 1, 1.0], [1, 2, 1.0], [2, 3, 1.0]]\n\
         inhibitor_edges = [[1, 2, 1.0], [2, 3, 1.0]]\ncurrents = [[1, 0.2], [2, -0.3]]\n\
         clamps = [[0, 0.5, 0.1]]\n[params]\nalpha = 0.0\n",
    );
    let o = fhn(&["check", "adjoint", &f]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("closed form (eq. 10) does not apply"), "{out}");
    assert!(!out.contains("NaN"), "{out}");
    let v = json(&fhn(&["check", "adjoint", &f, "--json"]));
    assert!(v["asymmetry_closed_form"].is_null(), "{v}");
    assert!(
        v["asymmetry_hessian_inverse"].as_f64().unwrap() <= 1e-12,
        "{v}"
    );
    assert!(v["hessian_inverse_vs_fd"].as_f64().unwrap() <= 1e-6, "{v}");
}

#[test]
fn check_gradient_reports_a_failed_beta_and_goes_on() {
    let d = tmp("gradient");
    // A target of 1e5 drives the nudged outputs to |u| ≈ 20–50 at β ≥ 1e-2, where ∂Φ cannot
    // reach the absolute tolerance 1e-13 in floating point: those Newton solves fail.
    let ring = std::fs::read_to_string(common::root("examples/ring.toml")).unwrap();
    let text = ring.replace("outputs = [[5, 0.7], [10, -0.4]]", "outputs = [[5, 1e5]]");
    assert_ne!(text, ring);
    let f = net(&d, "far.toml", &text);
    let o = fhn(&["check", "gradient", &f]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("1e-1 FAILED: Newton"), "{out}");
    assert!(out.contains("log-log slopes"), "{out}");
    let v = json(&fhn(&["check", "gradient", &f, "--json"]));
    let failed: Vec<f64> = v["failed_betas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_f64().unwrap())
        .collect();
    assert!(failed.contains(&0.1), "{v}");
    let rows = v["sweep"].as_array().unwrap();
    assert_eq!(rows.len(), 4, "{v}");
    assert!(rows.iter().any(|r| r["failed"].is_null()), "{v}");
}

#[test]
fn simulate_euler_prints_the_real_step_count() {
    let d = tmp("euler");
    let out = d.join("o");
    let o = fhn(&[
        "simulate",
        "examples/ring.toml",
        "--method",
        "euler",
        "--dt",
        "0.1",
        "--t-end",
        "400",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("to t = 400 (4000 Euler steps of 0.1)"),
        "{}",
        stdout(&o)
    );
}
