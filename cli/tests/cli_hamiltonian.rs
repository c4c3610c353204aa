//! End-to-end tests of `fhn hamiltonian ebm|echo|echo-train`: honest growth factors, the
//! echo's first- and second-order error slopes, and learning through the echo.

mod common;

use common::{fhn, json, stderr, stdout, tmp};

#[test]
fn hamiltonian_ebm_never_prints_a_nan_growth_factor() {
    let d = tmp("ebm");
    // f32 leaves the 1e-3 band after 3 layers here: too few points for a fit.
    let o = fhn(&[
        "hamiltonian",
        "ebm",
        "--width",
        "16",
        "--depth",
        "10",
        "--out",
        d.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(!out.contains("NaN"), "{out}");
    assert!(out.contains("growth factor n/a (only"), "{out}");
}

#[test]
fn hamiltonian_echo_reports_first_and_second_order_echoes_and_training_learns() {
    let dir = tmp("echo");
    let out = dir.to_str().unwrap();
    let o = fhn(&[
        "hamiltonian",
        "echo",
        "--width",
        "6",
        "--max-depth",
        "8",
        "--eta-depth",
        "5",
        "--out",
        out,
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = json(&o);
    let slope = |i: usize| r["slopes"][i].as_f64().unwrap();
    assert!(
        (slope(0) - 1.0).abs() < 0.05 && (slope(1) - 2.0).abs() < 0.05,
        "{}",
        r["slopes"]
    );
    let row = &r["depth_rows"][7];
    assert!(row["f64_cosine"].as_f64().unwrap() > 0.99999, "{row}");
    assert!(r["steady"]["forward_vs_steady"].as_f64().unwrap() < 1e-9);
    for f in [
        "echo_w6_c1.json",
        "echo_w6_c1_eta.png",
        "echo_w6_c1_depth.png",
    ] {
        assert!(dir.join(f).exists(), "{f}");
    }
    // Training through the echo: the training error falls and the echo agrees with the adjoint.
    let run = dir.join("train");
    let o = fhn(&[
        "hamiltonian",
        "echo-train",
        "--width",
        "16",
        "--depth",
        "6",
        "--epochs",
        "2",
        "--train-limit",
        "2000",
        "--lr-out",
        "0.05",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let err = |i: usize| lines[i]["train_error"].as_f64().unwrap();
    assert!(
        err(1) < err(0) && lines[1]["test_error"].as_f64().unwrap() < 0.6,
        "{lines:?}"
    );
    let worst = lines[1]["echo_vs_adjoint"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_f64().unwrap())
        .fold(1.0, f64::min);
    assert!(worst > 0.99999, "{worst}");
    for f in [
        "curves.png",
        "results.json",
        "model.safetensors",
        "config.json",
    ] {
        assert!(run.join(f).exists(), "{f}");
    }
    // EqProp on the steady state of the same network runs and reports its errors.
    let run = dir.join("steady");
    let o = fhn(&[
        "hamiltonian",
        "echo-train",
        "--width",
        "4",
        "--depth",
        "3",
        "--epochs",
        "1",
        "--train-limit",
        "40",
        "--eval-limit",
        "20",
        "--lr-in",
        "0",
        "--estimator",
        "eqprop-steady",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("results.json")).unwrap()).unwrap();
    assert_eq!(r["estimator"], "eqprop-steady");
    // One epoch of metrics, with a finite loss and the count of examples without a steady state.
    let line: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(run.join("metrics.jsonl"))
            .unwrap()
            .trim(),
    )
    .unwrap();
    assert!(line["train_loss"].as_f64().unwrap().is_finite(), "{line}");
    assert!(line["skipped"].as_u64().unwrap() < 40, "{line}");
}
