use super::*;
use crate::layered::Kind;

fn plan(text: &str) -> Result<Sweep> {
    Sweep::parse(text, Path::new("/tmp/fhn-sweep-test/s.toml"))
}

#[test]
fn a_grid_times_seeds_plans_every_combination_with_its_changes() {
    let s = plan(
        r#"
        base = "tiny"
        out = "/tmp/fhn-sweep-test/out"
        seeds = [1, 2]
        [grid]
        "training.epochs" = [1, 3]
        "model.widths" = [[784, 16, 10], [784, 8, 10]]
        "#,
    )
    .unwrap();
    assert_eq!(s.name, "s");
    assert_eq!(s.runs.len(), 8);
    let r = &s.runs[3];
    // Keys in sorted order: model.widths, then training.epochs.
    assert_eq!(r.label, "widths=784-16-10,epochs=3");
    assert_eq!(r.seed, 2);
    assert_eq!(r.config.seed, 2);
    assert_eq!(r.config.training.epochs, 3);
    assert_eq!(r.config.model.widths, vec![784, 16, 10]);
    assert_eq!(r.config.name, r.label);
    assert_eq!(
        r.dir,
        Path::new("/tmp/fhn-sweep-test/out/widths=784-16-10,epochs=3-s2")
    );
    // What is not changed stays the base's.
    assert_eq!(
        r.config.training.beta,
        TrainConfig::preset("tiny").unwrap().training.beta
    );
    let dirs: std::collections::BTreeSet<_> = s.runs.iter().map(|r| &r.dir).collect();
    assert_eq!(dirs.len(), 8, "every run has its own folder");
}

#[test]
fn a_list_of_variants_combines_with_the_grid() {
    let s = plan(
        r#"
        base = "tiny"
        [grid]
        "training.epochs" = [1, 2]
        [[runs]]
        label = "slow"
        "training.beta" = 0.25
        [[runs]]
        "training.beta" = 0.5
        [[runs]]
        label = "h"
        base = "hopfield"
        "#,
    )
    .unwrap();
    let labels: Vec<_> = s.runs.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "slow,epochs=1",
            "slow,epochs=2",
            "run1,epochs=1",
            "run1,epochs=2",
            "h,epochs=1",
            "h,epochs=2"
        ]
    );
    // A run with its own base takes everything else from it.
    let h = &s.runs[5].config;
    assert_eq!(h.model.kind, crate::layered::Kind::Hopfield);
    assert_eq!(
        h.training.lrs,
        TrainConfig::preset("hopfield").unwrap().training.lrs
    );
    assert_eq!(h.training.epochs, 2);
    assert_eq!(s.runs[0].config.training.beta, 0.25);
    assert_eq!(s.runs[3].config.training.beta, 0.5);
    assert_eq!(s.runs[3].config.training.epochs, 2);
    assert_eq!(s.out, Path::new("runs/sweeps/s"));
}

#[test]
fn bad_sweeps_are_refused_before_any_run() {
    for (text, says) in [
        ("base = \"tiny\"\nbogus = 1", "bogus"),
        ("base = \"nope.toml\"", "nope.toml"),
        (
            "base = \"tiny\"\n[grid]\n\"training.epochs\" = 3",
            "non-empty array",
        ),
        (
            "base = \"tiny\"\n[grid]\n\"training.epochs\" = []",
            "non-empty array",
        ),
        ("base = \"tiny\"\n[grid]\n\"training.nope\" = [1]", "nope"),
        (
            "base = \"tiny\"\n[grid]\n\"nowhere.x\" = [1]",
            "no table 'nowhere'",
        ),
        (
            "base = \"tiny\"\n[grid]\n\"training.epochs\" = [\"x\"]",
            "epochs=x",
        ),
        // A deeper network needs its learning rates too: vary both in a [[runs]] list.
        (
            "base = \"tiny\"\n[grid]\n\"model.widths\" = [[784, 8, 8, 10]]",
            "training.lrs",
        ),
        (
            "base = \"tiny\"\n[grid]\n\"training.batch_size\" = [0]",
            "batch_size",
        ),
        ("base = \"tiny\"\nseeds = [1, 1]", "share"),
        (
            "base = \"tiny\"\n[[runs]]\nlabel = 3",
            "label must be a string",
        ),
    ] {
        let e = plan(text).unwrap_err().to_string();
        assert!(e.contains(says) && e.contains("s.toml"), "{text}: {e}");
    }
}

fn summary(name: &str, seed: u64, epochs: usize, test: f64) -> RunSummary {
    RunSummary {
        name: name.into(),
        seed,
        epochs,
        best_epoch: epochs,
        best_val_error: test,
        test_error_at_best: test,
        final_test_error: test,
        train_seconds: 10.0 * seed as f64,
        examples_per_second: 1.0,
        threads: 1,
        device: "cpu".into(),
        widths: vec![784, 32, 10],
    }
}

#[test]
fn the_table_counts_finished_failed_and_unfinished_runs_per_variant() {
    let root = std::env::temp_dir().join(format!("fhn-sweep-table-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let text = format!(
        "base = \"tiny\"\nout = \"{}\"\nseeds = [1, 2, 3]\n[grid]\n\"training.epochs\" = [2, 4]\n",
        root.display()
    );
    let s = plan(&text).unwrap();
    let write = |i: usize, epochs: usize, test: f64| {
        let r = &s.runs[i];
        std::fs::create_dir_all(&r.dir).unwrap();
        let body = serde_json::to_vec(&summary(&r.label, r.seed, epochs, test)).unwrap();
        std::fs::write(r.dir.join("results.json"), body).unwrap();
    };
    write(0, 2, 0.10);
    write(1, 2, 0.20);
    write(3, 1, 0.50); // one epoch of four (a shorter earlier run): not finished
    s.mark_failed(4, "divergence: simulated").unwrap();
    assert!(matches!(s.status(2), RunStatus::New));
    assert!(
        matches!(s.status(3), RunStatus::New),
        "no metrics.jsonl yet"
    );
    assert!(matches!(s.status(4), RunStatus::Failed { ref error } if error.contains("simulated")));
    let t = s.write_table().unwrap();
    assert_eq!(t.variants.len(), 2);
    let (a, b) = (&t.variants[0], &t.variants[1]);
    assert_eq!((a.seeds, a.finished, a.failed), (3, 2, 0));
    assert!((a.test_error_mean.unwrap() - 0.15).abs() < 1e-12);
    // Sample standard deviation of 0.10 and 0.20: √(2 · 0.05² / 1).
    assert!((a.test_error_sd.unwrap() - 0.005f64.sqrt()).abs() < 1e-12);
    assert_eq!(a.train_seconds_mean, Some(15.0));
    assert_eq!((b.seeds, b.finished, b.failed), (3, 0, 1));
    assert_eq!(b.test_error_mean, None);
    let md = std::fs::read_to_string(root.join("sweep.md")).unwrap();
    assert!(
        md.contains("| epochs=2 | fhn | 1 | 2/3 | 15.00 ± 7.07 | 10.00, 20.00 | 15.0 |"),
        "{md}"
    );
    assert!(
        md.contains("| epochs=4 | fhn | 1 | 0/3, 1 failed | – |"),
        "{md}"
    );
    assert!(root.join("sweep.json").exists());
    assert!(
        !root.join("depth.png").exists(),
        "one depth: no depth figure"
    );
    std::fs::remove_dir_all(root).unwrap();
}

#[test]
fn the_depth_figure_has_one_line_per_model_and_refuses_ambiguous_depths() {
    let root = std::env::temp_dir().join(format!("fhn-sweep-depth-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let variant = |label: &str, base: &str, widths: &str, lrs: &str| {
        format!("[[runs]]\nlabel = \"{label}\"\nbase = \"{base}\"\n\"model.widths\" = {widths}\n\"training.lrs\" = {lrs}\n")
    };
    let text = format!(
        "base = \"tiny\"\nout = \"{}\"\n{}{}{}",
        root.display(),
        variant("f2", "tiny", "[784, 8, 8, 10]", "[0.1, 0.1, 0.1]"),
        variant("f1", "tiny", "[784, 8, 10]", "[0.1, 0.1]"),
        variant("h1", "hopfield", "[784, 8, 10]", "[0.1, 0.1]"),
    );
    let s = plan(&text).unwrap();
    let finish = |i: usize, test: f64| {
        let r = &s.runs[i];
        std::fs::create_dir_all(&r.dir).unwrap();
        let epochs = r.config.training.epochs;
        let body = serde_json::to_vec(&summary(&r.label, r.seed, epochs, test)).unwrap();
        std::fs::write(r.dir.join("results.json"), body).unwrap();
    };
    finish(1, 0.04);
    finish(2, 0.03);
    assert!(
        s.table().depth_series().is_none(),
        "only one depth finished"
    );
    finish(0, 0.05);
    let t = s.write_table().unwrap();
    let depths: Vec<_> = t
        .variants
        .iter()
        .map(|v| (v.model, v.hidden_layers))
        .collect();
    assert_eq!(
        depths,
        [(Kind::Fhn, 2), (Kind::Fhn, 1), (Kind::Hopfield, 1)]
    );
    let series = t.depth_series().unwrap();
    let lines: Vec<_> = series
        .iter()
        .map(|s| (s.label.as_str(), s.points.clone()))
        .collect();
    assert_eq!(
        lines,
        [
            ("fhn", vec![(1.0, 4.0), (2.0, 5.0)]),
            ("hopfield", vec![(1.0, 3.0)])
        ],
        "sorted by depth, in percent"
    );
    assert!(root.join("depth.png").exists());
    // Two FHN variants at one depth: the line would have to pick one, so there is none.
    let mut t = t;
    t.variants[0].hidden_layers = 1;
    assert!(t.depth_series().is_none());
    std::fs::remove_dir_all(root).unwrap();
}
