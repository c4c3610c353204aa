//! Tests of the configuration: presets, schedules, refusals.

use super::*;
use proptest::strategy::Strategy;

#[test]
fn presets_validate_and_round_trip_through_toml() {
    for p in PRESETS {
        let c = TrainConfig::preset(p).unwrap();
        let back = TrainConfig::from_toml(&c.to_toml(), Path::new("x.toml")).unwrap();
        assert_eq!(c, back);
    }
    assert!(TrainConfig::preset("nope").is_err());
}

/// Every shipped configuration file (configs/*.toml; sweeps have their own format and tests)
/// loads and validates, so a renamed or removed field cannot leave one stale.
#[test]
fn shipped_configs_load_and_validate() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    let mut loaded = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let c = TrainConfig::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            c.validate().unwrap();
            loaded += 1;
        }
    }
    assert!(
        loaded >= 4,
        "only {loaded} configs found in {}",
        dir.display()
    );
}

/// The `deep` preset is the recipe whose runs the results report (configs/deep-shift1.toml);
/// deep-cosine-wd-40 is its second version (no shift) and deep-v1 its first, so neither the
/// preset nor a file can drift from the runs.
#[test]
fn the_deep_preset_is_its_config_file() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    for (file, version) in [
        ("deep-shift1.toml", 3),
        ("deep-cosine-wd-40.toml", 2),
        ("deep-v1.toml", 1),
    ] {
        let mut c = TrainConfig::load(&dir.join(file)).unwrap();
        c.name = "deep".into();
        let mut preset = TrainConfig::preset("deep").unwrap();
        if version < 3 {
            preset.data.shift = 0;
        }
        if version < 2 {
            let t = &mut preset.training;
            (t.epochs, t.dt, t.free_steps, t.nudge_steps, t.eval_steps) = (30, 0.5, 150, 50, 150);
            (t.lr_schedule, t.weight_decay) = (Schedule::Exponential, 0.0);
        }
        assert_eq!(c, preset, "{file}");
    }
}

#[test]
fn learning_rate_schedules_follow_their_formulas() {
    let mut t = TrainConfig::preset("quick").unwrap().training;
    t.epochs = 4;
    t.lr_decay = 0.8;
    assert_eq!(t.lr_scale_after(1, 0.5), 0.4);
    t.lr_schedule = Schedule::Cosine;
    let s: Vec<f64> = (1..=5).map(|e| t.lr_scale_after(e, 1.0)).collect();
    let want = [
        0.853_553_390_593_273_7,
        0.5,
        0.146_446_609_406_726_3,
        0.0,
        0.0,
    ];
    for (a, b) in s.iter().zip(want) {
        assert!((a - b).abs() < 1e-12, "{s:?}");
    }
    let mut c = TrainConfig::preset("quick").unwrap();
    c.training.weight_decay = -1e-4;
    assert!(c
        .validate()
        .unwrap_err()
        .to_string()
        .contains("weight_decay"));
    let c = TrainConfig::preset("quick").unwrap().to_toml();
    let c = c
        .replace("lr_schedule = \"exponential\"", "lr_schedule = \"cosine\"")
        .replace("weight_decay = 0.0", "weight_decay = 0.0005");
    let back = TrainConfig::from_toml(&c, Path::new("x.toml")).unwrap();
    assert_eq!(back.training.lr_schedule, Schedule::Cosine);
    assert_eq!(back.training.weight_decay, 5e-4);
}

#[test]
fn bad_configs_are_rejected_with_a_location() {
    let mut c = TrainConfig::preset("paper").unwrap();
    c.training.lrs.pop();
    let e = TrainConfig::from_toml(&c.to_toml(), Path::new("bad.toml"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("bad.toml") && e.contains("lrs"), "{e}");
    let text = TrainConfig::preset("paper")
        .unwrap()
        .to_toml()
        .replace("epochs = 30", "epochs = \"many\"");
    let e = TrainConfig::from_toml(&text, Path::new("bad.toml"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("bad.toml:"), "{e}");
    // The exact gradient of an FHN network needs its graph view (a dynamic inhibitor);
    // Hopfield networks have their own (the active-set solve).
    let mut h = TrainConfig::preset("hopfield").unwrap();
    h.training.probe_examples = 4;
    assert!(h.validate().is_ok());
    let mut f = TrainConfig::preset("quick").unwrap();
    f.model.fhn.eps = 0.0;
    f.training.probe_examples = 4;
    assert!(f
        .validate()
        .unwrap_err()
        .to_string()
        .contains("probe_examples"));
    let mut r = TrainConfig::preset("quick").unwrap();
    r.training.solver = Solver::RedBlack;
    assert!(r.validate().is_ok());
    r.model.inhibitor_coupling = true;
    assert!(r.validate().unwrap_err().to_string().contains("redblack"));
    // The nudged phases' tolerance: absent from a config that leaves it unset (such configs
    // are written as before), written when set, and checked like `tolerance`.
    let mut n = TrainConfig::preset("quick").unwrap();
    assert!(!n.to_toml().contains("nudge_tolerance"));
    n.training.nudge_tolerance = Some(0.0);
    let back = TrainConfig::from_toml(&n.to_toml(), Path::new("n.toml")).unwrap();
    assert_eq!(back.training.nudge_tolerance, Some(0.0));
    n.training.nudge_tolerance = Some(-1e-3);
    assert!(n
        .validate()
        .unwrap_err()
        .to_string()
        .contains("nudge_tolerance"));
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config::with_cases(300))]

    /// Arbitrary text never panics the parser; it is a configuration or an error.
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        let _ = TrainConfig::from_toml(&text, Path::new("x.toml"));
    }

    /// A valid configuration with one value replaced by an arbitrary TOML value.
    #[test]
    fn arbitrary_values_never_panic(
        line in 0usize..80,
        value in proptest::prop_oneof![
            proptest::num::f64::ANY.prop_map(|x| x.to_string()),
            proptest::num::i64::ANY.prop_map(|x| x.to_string()),
            proptest::num::u64::ANY.prop_map(|x| x.to_string()),
            "\\PC{0,12}".prop_map(|s| format!("{s:?}")),
            proptest::collection::vec(0usize..2_000_000_000, 0..5).prop_map(|v| format!("{v:?}")),
        ]
    ) {
        let base = TrainConfig::preset("quick").unwrap().to_toml();
        let text: String = base
            .lines()
            .enumerate()
            .map(|(i, l)| match l.split_once(" = ") {
                Some((k, _)) if i == line => format!("{k} = {value}\n"),
                _ => format!("{l}\n"),
            })
            .collect();
        if let Ok(c) = TrainConfig::from_toml(&text, Path::new("x.toml")) {
            c.validate().unwrap();
        }
    }
}

#[test]
fn adam_is_configured_explicitly_and_checked() {
    let mut c = TrainConfig::preset("quick").unwrap();
    assert_eq!(c.training.optimizer, OptimizerKind::HeavyBall);
    let heavy_ball = c.to_toml();
    c.training.adam_betas = [0.8, 0.99];
    c.training.momentum = 0.9;
    let toml = c
        .to_toml()
        .replace("optimizer = \"heavy-ball\"", "optimizer = \"adam\"");
    // Heavy-ball momentum together with Adam is refused rather than ignored.
    let e = TrainConfig::from_toml(&toml, Path::new("x.toml"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("momentum = 0"), "{e}");
    let toml = toml.replace("momentum = 0.9", "momentum = 0.0");
    let back = TrainConfig::from_toml(&toml, Path::new("x.toml")).unwrap();
    assert_eq!(back.training.optimizer, OptimizerKind::Adam);
    assert_eq!(back.training.adam_betas, [0.8, 0.99]);
    c.training.optimizer = OptimizerKind::Adam;
    c.training.momentum = 0.0;
    c.validate().unwrap();
    for (betas, eps) in [
        ([0.9, 1.0], 1e-8),
        ([-0.1, 0.999], 1e-8),
        ([0.9, 0.999], 0.0),
    ] {
        c.training.adam_betas = betas;
        c.training.adam_eps = eps;
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("adam_betas"), "{e}");
    }
    // A configuration written before the fields existed is heavy ball with the usual betas.
    let start = heavy_ball.find("optimizer =").unwrap();
    let end = heavy_ball.find("lr_decay =").unwrap();
    let old = format!("{}{}", &heavy_ball[..start], &heavy_ball[end..]);
    assert!(!old.contains("adam"));
    let old = TrainConfig::from_toml(&old, Path::new("old.toml")).unwrap();
    assert_eq!(old, TrainConfig::preset("quick").unwrap());
}
