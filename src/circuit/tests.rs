//! The circuit against ngspice (tests that need it skip outside CI when it is missing) and the
//! parts that do not need it: the raw-file reader, the deck, the hardware variants.

use super::compare::*;
use super::hardware::{mismatch, negative_count, passive, quantise};
use super::layered::{layered_circuit, LayerNames};
use super::netlist::{count, netlist, Analyses, Indexed, NodeNames, Nudge};
use super::ngspice::parse_raw;
use crate::eqprop::{cosine, eqprop_gradient, implicit_gradient, relative_error};
use crate::layered::{Kind, LayeredModel, LayeredNet};
use crate::model::FhnParams;
use crate::netfile;
use crate::network::tests::random_network;
use crate::network::{FhnNetwork, State};
use crate::solvers::{dopri45, AdaptiveOptions};
use crate::stability::max_growth_rate;
use rand::SeedableRng;
use std::path::PathBuf;

fn example(name: &str) -> netfile::NetworkSpec {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name);
    netfile::load(&p).unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("fhn-circuit-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Our steady state vs ngspice's operating point started from it (.nodeset), and ngspice's
/// operating point from zero, which is the same state when `unique` and otherwise at least
/// another critical point of Φ (returned).
fn op_agrees(net: &FhnNetwork, name: &str, unique: bool) -> (State, State) {
    let ours = model_steady(net, None).unwrap();
    let (sp, run) = operating_point(net, &Indexed, None, Some(&ours), &scratch(name)).unwrap();
    let rel = relative_difference(&flat(&sp), &flat(&ours));
    assert!(
        rel <= 1e-6,
        "{name} from our state: relative difference {rel:.2e}"
    );
    assert!(
        run.max_memory_mb.is_some() && run.elapsed_seconds.is_some(),
        "{run:?}"
    );
    let (zero, _) = operating_point(net, &Indexed, None, None, &scratch(name)).unwrap();
    let rel = relative_difference(&flat(&zero), &flat(&ours));
    if unique {
        assert!(
            rel <= 1e-6,
            "{name} from zero: relative difference {rel:.2e}"
        );
    }
    let residual = net.residual(&zero, None);
    assert!(
        residual <= 1e-10,
        "{name}: ngspice's point is no steady state ({residual:.1e})"
    );
    (ours, zero)
}

#[test]
fn operating_point_equals_steady_state_on_ring_and_random_network() {
    if !ngspice_for_tests() {
        return;
    }
    op_agrees(&example("ring.toml").network, "ring", true);
    let net = random_network(60, 3);
    assert!(net.activator.edges.iter().filter(|e| e.g < 0.0).count() >= 10);
    let (ours, zero) = op_agrees(&net, "random60", false);
    assert!(
        max_growth_rate(&net, &ours).unwrap() < 0.0,
        "ours is stable"
    );
    // Newton from zero (ngspice) finds another critical point of this multistable network: an
    // unstable one, which time stepping (ours) never settles on.
    assert!(relative_difference(&flat(&zero), &flat(&ours)) > 0.1);
    assert!(max_growth_rate(&net, &zero).unwrap() > 0.0);
}

/// Reference trajectory: our adaptive integrator at tight tolerances, sampled at `times`.
fn dopri_at(net: &FhnNetwork, times: &[f64]) -> Vec<State> {
    let opts = AdaptiveOptions {
        rtol: 1e-10,
        atol: 1e-12,
        stop_residual: 0.0,
        max_steps: 1_000_000,
    };
    let (mut s, mut t) = (net.initial_state(), 0.0);
    times
        .iter()
        .map(|&tk| {
            dopri45(net, &mut s, None, tk - t, opts, |_, _| {}).unwrap();
            t = tk;
            s.clone()
        })
        .collect()
}

/// ngspice's trajectory linearly interpolated at `tk`.
fn at_time(times: &[f64], states: &[State], tk: f64) -> State {
    let i = times.partition_point(|&t| t < tk).clamp(1, times.len() - 1);
    let w = (tk - times[i - 1]) / (times[i] - times[i - 1]);
    let mix = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x + w * (y - x)).collect();
    State {
        u: mix(&states[i - 1].u, &states[i].u),
        v: mix(&states[i - 1].v, &states[i].v),
    }
}

#[test]
fn transient_follows_the_adaptive_integrator() {
    if !ngspice_for_tests() {
        return;
    }
    let net = example("ring.toml").network;
    let (times, states, _) = transient(&net, &Indexed, 0.01, 10.0, 1e-7, &scratch("tran")).unwrap();
    let sample: Vec<f64> = (1..=10).map(|k| k as f64).collect();
    let reference = dopri_at(&net, &sample);
    for (tk, r) in sample.iter().zip(&reference) {
        let c = at_time(&times, &states, *tk);
        let d = relative_difference(&flat(&c), &flat(r));
        assert!(
            d < 1e-4,
            "t = {tk}: ngspice and dopri differ by {d:.2e} (relative)"
        );
    }
}

#[test]
fn oscillator_circuit_finds_the_unstable_point_and_the_same_limit_cycle() {
    if !ngspice_for_tests() {
        return;
    }
    let net = example("oscillator.toml").network;
    let (ours, _) = op_agrees(&net, "osc", true);
    assert!(
        max_growth_rate(&net, &ours).unwrap() > 0.0,
        "the operating point is unstable"
    );
    let (times, states, _) =
        transient(&net, &Indexed, 0.05, 300.0, 1e-6, &scratch("osc-tran")).unwrap();
    let u0: Vec<f64> = states.iter().map(|s| s.u[0]).collect();
    let (pc, ac) = period_amplitude(&times, &u0, 150.0).expect("the circuit oscillates");
    let grid: Vec<f64> = (1..=3000).map(|k| k as f64 * 0.1).collect();
    let reference = dopri_at(&net, &grid);
    let r0: Vec<f64> = reference.iter().map(|s| s.u[0]).collect();
    let (pm, am) = period_amplitude(&grid, &r0, 150.0).expect("the model oscillates");
    assert!(
        (pc - pm).abs() / pm < 2e-3,
        "period: circuit {pc}, model {pm}"
    );
    assert!(
        (ac - am).abs() / am < 2e-3,
        "amplitude: circuit {ac}, model {am}"
    );
    assert!(
        am > 0.5 && pm > 1.0,
        "a real oscillation: amplitude {am}, period {pm}"
    );
}

#[test]
fn eqprop_in_the_circuit_gives_the_models_gradient() {
    if !ngspice_for_tests() {
        return;
    }
    let spec = example("ring.toml");
    let (net, cost) = (spec.network, spec.cost.unwrap());
    let free = model_steady(&net, None).unwrap();
    let beta = 1e-3;
    let nudge = Nudge {
        cost: cost.clone(),
        conductance: beta,
    };
    let circuit = circuit_eqprop(&net, &Indexed, &nudge, &free, &scratch("eqprop")).unwrap();
    let model = eqprop_gradient(&net, &free, &cost, beta, true).unwrap();
    let rel = relative_error(&circuit, &model);
    assert!(rel <= 1e-6, "circuit vs model EqProp: {rel:.2e}");
    let exact = implicit_gradient(&net, &free, &cost);
    assert!(
        cosine(&circuit, &exact) > 0.99999,
        "{}",
        cosine(&circuit, &exact)
    );
    // The comparison can fail: targets of the wrong sign give another gradient.
    let mut wrong = nudge;
    wrong.cost.targets.iter_mut().for_each(|y| *y = -*y);
    let g = circuit_eqprop(&net, &Indexed, &wrong, &free, &scratch("eqprop-f")).unwrap();
    assert!(relative_error(&g, &model) > 0.1);
}

fn small_layered() -> LayeredNet<f64> {
    let model = LayeredModel {
        widths: vec![12, 7, 3],
        kind: Kind::Fhn,
        fhn: FhnParams::table1(),
        inhibitor_coupling: false,
        leak: 2.0,
    };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let mut net = LayeredNet::<f64>::random(model, 1.0, true, &mut rng).unwrap();
    net.biases[0][2] = 0.3;
    net
}

#[test]
fn layered_network_circuit_outputs_match_and_names_map_back() {
    let net = small_layered();
    let x: Vec<f64> = (0..12).map(|k| (k as f64 * 0.7).sin()).collect();
    let c = layered_circuit(&net, &x).unwrap();
    let names = LayerNames::new(&net.model.widths);
    assert_eq!(names.name(0), "0_0");
    assert_eq!(names.name(12 + 3), "1_3");
    assert_eq!(names.name(12 + 7 + 2), "2_2");
    assert_eq!(names.name(22), "gnd");
    assert_eq!(names.locate(20), Some((2, 1)));
    assert!(layered_circuit(&net, &x[..5]).is_err());
    assert!(layered_circuit(&net, &[f64::NAN; 12]).is_err());
    if !ngspice_for_tests() {
        return;
    }
    let ours = model_steady(&c.net, None).unwrap();
    let (sp, _) = operating_point(&c.net, &c.names, None, None, &scratch("layered")).unwrap();
    let out = |s: &State| c.outputs.iter().map(|&o| s.u[o]).collect::<Vec<_>>();
    let rel = relative_difference(&out(&sp), &out(&ours));
    assert!(rel <= 1e-6, "outputs differ by {rel:.2e}");
}

#[test]
fn deck_has_the_elements_the_model_needs() {
    let spec = example("ring.toml");
    let net = spec.network;
    let nudge = Nudge {
        cost: spec.cost.unwrap(),
        conductance: -0.1,
    };
    let deck = netlist(&net, &Indexed, Some(&nudge), &Analyses::default(), "t").unwrap();
    let c = count(&net, Some(&nudge));
    let lines = |p: &str| deck.lines().filter(|l| l.starts_with(p)).count();
    // 11 free nodes: 2 capacitors, 1 cubic, 2 couplings each; node 0 clamped.
    assert_eq!(
        (lines("C"), lines("B"), lines("Gvu"), lines("Guv")),
        (22, 11, 11, 11)
    );
    assert_eq!(lines("Vu") + lines("Vv") + lines("Vy"), 2 + 2);
    assert_eq!(lines("Iu"), 2, "two non-zero input currents");
    // 13 positive activator edges, 12 inhibitor edges, 11 α branches: resistors; the
    // negative edge and the two negative nudge conductances: active elements.
    assert_eq!(lines("R"), 13 + 12 + 11);
    assert_eq!(lines("GN"), 3);
    assert_eq!(c.negative_conductances, 3);
    assert_eq!(
        c.total(),
        deck.lines()
            .filter(|l| !l.starts_with(['*', '.']) && !l.is_empty())
            .count()
    );
    // Resistor values are 1/(d_u g) exactly as Rust prints them.
    assert!(
        deck.contains(&format!("Ra0 u0 u1 {:e}", 1.0 / 0.5625)),
        "{deck}"
    );
    let bad = Analyses {
        nodeset: Some(State {
            u: vec![f64::NAN; 12],
            v: vec![0.0; 12],
        }),
        ..Analyses::default()
    };
    assert!(netlist(&net, &Indexed, None, &bad, "t").is_err());
    let bad_nudge = Nudge {
        conductance: f64::INFINITY,
        ..nudge
    };
    assert!(netlist(&net, &Indexed, Some(&bad_nudge), &Analyses::default(), "t").is_err());
}

#[test]
fn too_large_a_network_is_refused_with_its_element_count() {
    let model = LayeredModel {
        widths: vec![784, 4096, 1024, 10],
        kind: Kind::Fhn,
        fhn: FhnParams::table1(),
        inhibitor_coupling: false,
        leak: 2.0,
    };
    let net = LayeredNet::<f64>::zeros(model).unwrap();
    let e = layered_circuit(&net, &vec![0.0; 784])
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("7463120") && e.contains("conductances"), "{e}");
}

/// A raw file as ngspice writes it: two plots.
fn raw_bytes() -> Vec<u8> {
    let mut b = Vec::new();
    let head = |b: &mut Vec<u8>, name: &str, vars: &[&str], points: usize| {
        let mut h = format!("Title: t\nPlotname: {name}\nFlags: real\nNo. Variables: {}\nNo. Points: {points}   \nVariables:\n", vars.len());
        for (i, v) in vars.iter().enumerate() {
            h.push_str(&format!("\t{i}\t{v}\tvoltage\n"));
        }
        h.push_str("Binary:\n");
        b.extend_from_slice(h.as_bytes());
    };
    head(&mut b, "Operating Point", &["v(u0)", "V(V0)"], 1);
    for x in [0.25f64, -1.5] {
        b.extend_from_slice(&x.to_le_bytes());
    }
    head(&mut b, "Transient Analysis", &["time", "v(u0)"], 2);
    for x in [0.0f64, 1.0, 0.5, 2.0] {
        b.extend_from_slice(&x.to_le_bytes());
    }
    b
}

#[test]
fn raw_file_reader_reads_plots_and_refuses_damaged_files() {
    let b = raw_bytes();
    let plots = parse_raw(&b).unwrap();
    assert_eq!(plots.len(), 2);
    assert_eq!(plots[0].column("v(v0)").unwrap(), vec![-1.5]);
    assert_eq!(plots[1].column("time").unwrap(), vec![0.0, 0.5]);
    assert_eq!(plots[1].column("v(u0)").unwrap(), vec![1.0, 2.0]);
    assert!(plots[1].column("v(u9)").is_err());
    for cut in [5, 60, b.len() - 3] {
        assert!(parse_raw(&b[..cut]).is_err(), "cut at {cut}");
    }
    let complex = String::from_utf8_lossy(&b).replace("Flags: real", "Flags: complex");
    assert!(parse_raw(complex.as_bytes()).is_err());
}

fn entries(m: &faer::Mat<f32>) -> Vec<f32> {
    (0..m.ncols())
        .flat_map(|j| (0..m.nrows()).map(move |i| m[(i, j)]))
        .collect()
}

#[test]
fn hardware_variants_do_what_they_say() {
    let model = small_layered().model;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    let net = LayeredNet::<f32>::random(model, 1.0, true, &mut rng).unwrap();
    let w = entries(&net.weights[0]);
    let m = w.iter().fold(0f32, |a, x| a.max(x.abs()));
    for x in entries(&quantise(&net, 2).weights[0]) {
        assert!(
            x == 0.0 || (x.abs() - m).abs() < 1e-6,
            "{x} not in {{0, ±{m}}}"
        );
    }
    let step = m / 127.0;
    let q8 = entries(&quantise(&net, 8).weights[0]);
    let err = w
        .iter()
        .zip(&q8)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(
        err <= 0.5 * step + 1e-6 && err > 0.0,
        "{err} vs step {step}"
    );
    assert_eq!(mismatch(&net, 0.0, 1).weights, net.weights);
    assert_ne!(
        mismatch(&net, 0.05, 1).weights,
        mismatch(&net, 0.05, 2).weights
    );
    let shift = entries(&mismatch(&net, 0.05, 1).weights[0]);
    let rel: f32 = w
        .iter()
        .zip(&shift)
        .map(|(a, b)| ((b - a) / a).powi(2))
        .sum::<f32>()
        / w.len() as f32;
    assert!(
        (rel.sqrt() - 0.05).abs() < 0.01,
        "mismatch rms {}",
        rel.sqrt()
    );
    assert_eq!(negative_count(&passive(&net)), 0);
    let negatives = w.iter().filter(|x| **x < 0.0).count();
    assert!(negatives > 10 && negative_count(&net) >= negatives);
}

#[test]
fn a_cost_on_a_layered_circuit_nudges_towards_the_label() {
    let net = small_layered();
    let c = layered_circuit(&net, &[0.1; 12]).unwrap();
    let n = c.nudge(1, 0.5, -0.5, 0.5, 0.2);
    assert_eq!(n.cost.outputs, vec![19, 20, 21]);
    assert_eq!(n.cost.targets, vec![-0.5, 0.5, -0.5]);
    assert!((n.conductance - 0.2).abs() < 1e-15);
}
