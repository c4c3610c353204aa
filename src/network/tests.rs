//! Finite-difference and validation tests of the graph model.

use super::*;
use crate::graph::Graph;
use rand::{Rng, SeedableRng};

pub use super::random_network;

fn random_state(net: &FhnNetwork, seed: u64) -> State {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut s = State {
        u: (0..net.n()).map(|_| rng.gen_range(-1.0..1.0)).collect(),
        v: (0..net.n()).map(|_| rng.gen_range(-1.0..1.0)).collect(),
    };
    net.apply_clamps(&mut s);
    s
}

/// Check 1: the dynamics equal ∓∂Φ by finite differences, and f = Q∇F (relative ≤ 1e-7).
#[test]
fn gradient_matches_finite_differences_of_phi() {
    let net = random_network(20, 3);
    let s = random_state(&net, 4);
    let cost = Cost {
        outputs: vec![5, 7],
        targets: vec![0.3, -0.2],
    };
    let r = check_energy(&net, &s, Some((&cost, 0.7)));
    assert!(r.gradient_error <= 1e-7, "{r:?}");
    assert!(r.reaction_error <= 1e-7, "{r:?}");
    assert!(r.velocity_error <= 1e-14, "{r:?}");
}

#[test]
fn hessian_matches_finite_differences_and_is_symmetric() {
    let net = random_network(15, 5);
    let s = random_state(&net, 6);
    let h = net.hessian_dense(&s, None);
    assert!((&h - h.transpose()).norm_max() == 0.0);
    let x0 = net.gather(&s.u, &s.v);
    let eps = 1e-6;
    for k in 0..x0.len() {
        let mut xp = x0.clone();
        xp[k] += eps;
        let mut xm = x0.clone();
        xm[k] -= eps;
        let grad_at = |x: &[f64]| {
            let (mut u, mut v) = net.scatter(x);
            let mut st = State {
                u: std::mem::take(&mut u),
                v: std::mem::take(&mut v),
            };
            net.apply_clamps(&mut st);
            let (gu, gv) = net.gradient(&st, None);
            net.gather(&gu, &gv)
        };
        let (gp, gm) = (grad_at(&xp), grad_at(&xm));
        for r in 0..x0.len() {
            let fd = (gp[r] - gm[r]) / (2.0 * eps);
            assert!(
                (fd - h[(r, k)]).abs() < 1e-6,
                "H[{r},{k}] {} vs {fd}",
                h[(r, k)]
            );
        }
    }
    let sp = net.hessian_sparse(&s, None).to_dense();
    assert!((&sp - &h).norm_max() < 1e-15);
}

#[test]
fn param_gradient_matches_finite_differences() {
    let net = random_network(10, 8);
    let s = random_state(&net, 9);
    let an = net.param_gradient(&s);
    let th = net.params_vec();
    for k in 0..th.len() {
        let (mut tp, mut tm) = (th.clone(), th.clone());
        tp[k] += 1e-6;
        tm[k] -= 1e-6;
        let fd = (net.with_params(&tp).potential(&s, None)
            - net.with_params(&tm).potential(&s, None))
            / 2e-6;
        assert!(
            (fd - an[k]).abs() < 1e-7 * (1.0 + an[k].abs()),
            "θ{k}: {fd} vs {}",
            an[k]
        );
    }
}

#[test]
fn rejects_bad_networks() {
    let p = FhnParams::table1();
    let g = Graph::path(3, 1.0);
    let err = FhnNetwork::new(p, g.clone(), g.clone(), vec![0.0; 2], vec![]).unwrap_err();
    assert!(err.to_string().contains("size mismatch"));
    let clamp = Clamp {
        node: 5,
        u: 0.0,
        v: 0.0,
    };
    let err = FhnNetwork::new(p, g.clone(), g.clone(), vec![0.0; 3], vec![clamp]).unwrap_err();
    assert!(err.to_string().contains("outside"));
    let err = FhnNetwork::new(p, Graph::empty(0), Graph::empty(0), vec![], vec![]).unwrap_err();
    assert!(err.to_string().contains("no nodes"));
}
