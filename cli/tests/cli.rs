//! End-to-end tests of the `fhn` binary: bad input gives a clear error and a non-zero exit;
//! training is deterministic, resumable, and `fhn eval` reproduces the logged error.

use std::path::Path;
mod common;

use common::{fhn, metrics_without_timing, stderr, tmp};
use std::process::Command;

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
    assert_eq!(v["steps"].as_u64(), Some(60));
    // --steps / --solver replace the checkpoint's evaluation settings: one Jacobi step leaves
    // the state far from equilibrium; in 10 iterations red-black sweeps get far closer to it
    // than Jacobi steps.
    let eval_with = |extra: &[&str]| {
        let ck = a.join("checkpoint.safetensors");
        let mut args = vec!["eval", ck.to_str().unwrap(), "--json", "--threads", "1"];
        args.extend_from_slice(extra);
        let o = fhn(&args);
        assert!(o.status.success(), "{extra:?}: {}", stderr(&o));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
    };
    let res = |v: &serde_json::Value| v["residual"].as_f64().unwrap();
    let one = eval_with(&["--steps", "1"]);
    assert_eq!(one["steps"].as_u64(), Some(1));
    assert!(res(&one) > 10.0 * res(&v), "{one} {v}");
    let jacobi = eval_with(&["--steps", "10"]);
    let sweeps = eval_with(&["--steps", "10", "--solver", "redblack"]);
    assert_eq!(sweeps["solver"], "redblack");
    assert!(res(&sweeps) < 1e-2 * res(&jacobi), "{sweeps} {jacobi}");
    let o = fhn(&[
        "eval",
        a.join("checkpoint.safetensors").to_str().unwrap(),
        "--solver",
        "rk4",
    ]);
    assert!(!o.status.success());
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

/// Writes an MNIST-format directory of pseudo-random `side`×`side` images: 10 000 + `n`
/// training images (the presets hold out 10 000 for validation) and `n` test images.
fn idx_dir(dir: &Path, side: u32, n: u32) {
    use std::io::Write;
    std::fs::create_dir_all(dir).unwrap();
    for (prefix, n) in [("train", 10_000 + n), ("t10k", n)] {
        let gz = |name: &str, bytes: &[u8]| {
            let f = std::fs::File::create(dir.join(format!("{prefix}-{name}"))).unwrap();
            let mut e = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
            e.write_all(bytes).unwrap();
            e.finish().unwrap();
        };
        let mut img = [0x803u32, n, side, side]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect::<Vec<u8>>();
        img.extend((0..n * side * side).map(|i| (i * 7919 % 251) as u8));
        gz("images-idx3-ubyte.gz", &img);
        let mut lab = [0x801u32, n]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect::<Vec<u8>>();
        lab.extend((0..n).map(|i| (i % 10) as u8));
        gz("labels-idx1-ubyte.gz", &lab);
    }
}

#[test]
fn data_that_does_not_fit_the_model_is_refused_and_a_preset_follows_the_data() {
    let d = tmp("shape");
    let base =
        String::from_utf8(fhn(&["train", "--preset", "tiny", "--print-config"]).stdout).unwrap();
    let cfg = d.join("tiny.toml");
    std::fs::write(&cfg, &base).unwrap();
    for (side, want) in [(30, "900 pixels"), (14, "196 pixels")] {
        let data = d.join(format!("d{side}"));
        idx_dir(&data, side, 40);
        let data = data.to_str().unwrap();
        // A configuration file is taken as written: data of another size are refused.
        let out = d.join(format!("run{side}"));
        let o = fhn(&[
            "train",
            "--config",
            cfg.to_str().unwrap(),
            "--data",
            data,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(1), "{side}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{side}: {}", stderr(&o));
        // A preset's input width follows the data.
        let o = fhn(&[
            "train",
            "--preset",
            "tiny",
            "--data",
            data,
            "--print-config",
        ]);
        assert!(o.status.success(), "{side}: {}", stderr(&o));
        let text = String::from_utf8_lossy(&o.stdout);
        let widths = format!("widths = [\n    {},\n    32,\n    10,\n]", side * side);
        assert!(text.contains(&widths), "{side}: {text}");
    }
}

#[test]
fn configurations_without_sense_are_refused() {
    let d = tmp("cfg");
    let base =
        String::from_utf8(fhn(&["train", "--preset", "tiny", "--print-config"]).stdout).unwrap();
    let cases = [
        ("0.2,", "-0.2,", "negative"),
        ("lr_decay = 0.9", "lr_decay = 0.0", "lr_decay"),
        ("scale = 1.0", "scale = 0.0", "init.scale"),
        ("free_steps = 60", "free_steps = 0", "free_steps"),
        ("nudge_steps = 20", "nudge_steps = 0", "nudge_steps"),
        ("validation = 10000", "validation = 0", "validation"),
        (
            "widths = [\n    784,\n    32,",
            "widths = [\n    784,\n    1000000000,",
            "refused before allocating",
        ),
    ];
    for (from, to, want) in cases {
        assert!(base.contains(from), "{from}");
        let p = d.join("c.toml");
        std::fs::write(&p, base.replacen(from, to, 1)).unwrap();
        let o = fhn(&[
            "train",
            "--config",
            p.to_str().unwrap(),
            "--out",
            d.join("r").to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(1), "{to}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{to}: {}", stderr(&o));
    }
    let help = String::from_utf8(fhn(&["train", "--help"]).stdout).unwrap();
    assert!(
        help.contains("quick, paper, paper-converged, best, fast, deep, hopfield, tiny"),
        "{help}"
    );
    let help = String::from_utf8(fhn(&["eval", "--help"]).stdout).unwrap();
    assert!(help.contains("test, val"), "{help}");
}

#[test]
fn training_outlives_a_closed_stdout_and_resume_finds_the_default_folder() {
    use std::process::Stdio;
    let d = tmp("pipe");
    let run = |args: &[&str]| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_fhn"))
            .args(args)
            .current_dir(&d)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // the reader went away (`| head -0`)
        child.wait_with_output().unwrap()
    };
    let o = run(&["train", "--preset", "tiny", "--threads", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"));
    let folder = d.join("runs/tiny-s1");
    assert!(folder.join("results.json").exists() && folder.join("curves.png").exists());
    let o = run(&[
        "train",
        "--preset",
        "tiny",
        "--threads",
        "1",
        "--epochs",
        "2",
        "--resume",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(metrics_without_timing(&folder).len(), 2);
    let o = run(&["simulate", "turing", "--out", d.join("t").to_str().unwrap()]);
    assert!(
        o.status.success() && !stderr(&o).contains("panicked"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_diverging_run_says_which_checkpoint_is_on_disk() {
    let d = tmp("diverge");
    let base = String::from_utf8(fhn(&["train", "--preset", "tiny", "--print-config"]).stdout)
        .unwrap()
        .replace("solver = \"jacobi\"", "solver = \"euler\"")
        .replace("dt = 0.5", "dt = 50.0");
    let p = d.join("c.toml");
    std::fs::write(&p, base).unwrap();
    let out = d.join("r");
    let o = fhn(&[
        "train",
        "--config",
        p.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let log = std::fs::read_to_string(out.join("log.txt")).unwrap();
    assert!(
        log.contains("divergence") && log.contains("no checkpoint was written"),
        "{log}"
    );
    assert!(!std::fs::read_dir(&out).unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .ends_with(".tmp")));
}

/// `--device host` trains with the backend engine: metrics close to the CPU trainer's (one
/// thread; f32 rounding differs, and over 62 updates the runs drift apart as much as two CPU
/// runs from weights one ulp apart do, `fhn bench-step --check`), a results.json naming the device, and `fhn eval --device host` reproduces the test
/// error. `--device cuda` without a GPU (or without the feature) is a clear error, exit 1.
#[test]
fn the_host_engine_trains_like_the_cpu_trainer_and_cuda_fails_cleanly() {
    let d = tmp("device");
    let (cpu, host) = (d.join("cpu"), d.join("host"));
    for (out, dev) in [(&cpu, "cpu"), (&host, "host")] {
        let o = fhn(&[
            "train",
            "--preset",
            "tiny",
            "--threads",
            "1",
            "--device",
            dev,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{dev}: {}", stderr(&o));
    }
    let (a, b) = (metrics_without_timing(&cpu), metrics_without_timing(&host));
    for key in ["train_error", "val_error", "test_error"] {
        let (x, y) = (a[0][key].as_f64().unwrap(), b[0][key].as_f64().unwrap());
        assert!((x - y).abs() < 0.03 && y < 0.6, "{key}: cpu {x}, host {y}");
    }
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(host.join("results.json")).unwrap()).unwrap();
    assert!(r["device"].as_str().unwrap().starts_with("host"), "{r}");
    let ckpt = host.join("checkpoint.safetensors");
    let o = fhn(&["eval", ckpt.to_str().unwrap(), "--json", "--device", "host"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["error"], b[0]["test_error"]);
    let o = fhn(&[
        "train",
        "--preset",
        "tiny",
        "--device",
        "cuda",
        "--out",
        d.join("gpu").to_str().unwrap(),
    ]);
    if o.status.success() {
        return; // a machine with a GPU and a `cuda` build
    }
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("device:") && !e.contains("panicked"), "{e}");
}
