//! Red-black sweeps against the time-stepping solvers: the same equilibria, fewer iterations.

use super::*;
use crate::layered::{LayeredModel, Phase, Solver};
use crate::model::FhnParams;
use faer::Mat;
use rand::SeedableRng;

/// Red-black sweeps reach the equilibrium Jacobi steps reach (free and nudged, with a
/// dynamic inhibitor and with ε = 0), to 1e-9, in far fewer sweeps than steps. (Leak 3 keeps
/// p > 0: one equilibrium; bistable units may settle on another branch than Jacobi's.)
#[test]
fn sweeps_reach_the_jacobi_equilibrium_in_fewer_iterations() {
    for eps in [0.85, 0.0] {
        let mut fhn = FhnParams::table1();
        fhn.eps = eps;
        let model = LayeredModel {
            widths: vec![12, 10, 9, 8, 4],
            kind: Kind::Fhn,
            fhn,
            inhibitor_coupling: false,
            leak: 3.0,
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let mut net = LayeredNet::<f64>::random(model, 0.5, true, &mut rng).unwrap();
        net.biases[1][2] = 0.3;
        let x = Mat::from_fn(12, 3, |i, j| ((i * 7 + j * 3) % 5) as f64 * 0.6);
        let y = Mat::from_fn(4, 3, |i, j| if i == j { 0.5 } else { -0.5 });
        // Nudged phases start from the free equilibrium, as in training (with β < 0 the
        // output units can be bistable: the phase must stay on the free state's branch).
        let mut ws = net.workspace(3);
        let mut free = net.init_state(x.clone());
        net.prepare_input(&free, &mut ws, Par::Seq);
        net.relax(
            &mut free,
            &mut ws,
            Phase {
                nudge: None,
                dt: 0.5,
                max_steps: 100_000,
                tol: 1e-12,
                solver: Solver::Jacobi,
            },
            Par::Seq,
        )
        .unwrap();
        for nudge in [
            None,
            Some(Nudge {
                target: &y,
                gain: 0.7,
            }),
            Some(Nudge {
                target: &y,
                gain: -0.7,
            }),
        ] {
            let mut a = if nudge.is_some() {
                free.clone()
            } else {
                net.init_state(x.clone())
            };
            let mut b = a.clone();
            let steps = net
                .relax(
                    &mut a,
                    &mut ws,
                    Phase {
                        nudge,
                        dt: 0.5,
                        max_steps: 100_000,
                        tol: 1e-11,
                        solver: Solver::Jacobi,
                    },
                    Par::Seq,
                )
                .unwrap();
            let sweeps = net
                .relax(
                    &mut b,
                    &mut ws,
                    Phase {
                        nudge,
                        dt: 0.5,
                        max_steps: 100_000,
                        tol: 1e-11,
                        solver: Solver::RedBlack,
                    },
                    Par::Seq,
                )
                .unwrap();
            assert!(net.residual(&b, &mut ws, nudge, Par::Seq) <= 1e-11);
            assert!(
                net.residual(&a, &mut ws, nudge, Par::Seq) <= 1e-11,
                "jacobi: {steps} steps"
            );
            for l in 1..5 {
                for (p, q) in a.u[l]
                    .col_iter()
                    .flat_map(|c| c.iter().copied().collect::<Vec<_>>())
                    .zip(
                        b.u[l]
                            .col_iter()
                            .flat_map(|c| c.iter().copied().collect::<Vec<_>>()),
                    )
                {
                    let beta = nudge.map_or(0.0, |n| n.gain);
                    assert!(
                        (p - q).abs() < 1e-9,
                        "eps {eps}, β {beta}, layer {l}: {p} vs {q}"
                    );
                }
            }
            assert!(
                3 * sweeps < steps,
                "eps {eps}: {sweeps} sweeps vs {steps} Jacobi steps"
            );
        }
    }
}

#[test]
fn unsupported_networks_are_refused() {
    let mut model = LayeredModel {
        widths: vec![3, 2],
        kind: Kind::Fhn,
        fhn: FhnParams::table1(),
        inhibitor_coupling: true,
        leak: 0.0,
    };
    assert!(model.block_sweep_supported().is_err());
    model.inhibitor_coupling = false;
    model.fhn.alpha = 0.0;
    assert!(model.block_sweep_supported().is_err());
    model.fhn.alpha = 1.08;
    assert!(model.block_sweep_supported().is_ok());
    model.kind = Kind::Hopfield;
    model.inhibitor_coupling = true;
    assert!(model.block_sweep_supported().is_ok());
}

/// All entries of the hidden and output layers, in order.
fn flat<T: Real>(st: &BatchState<T>) -> Vec<T> {
    st.u[1..]
        .iter()
        .flat_map(super::super::elementwise::entries)
        .collect()
}

/// Hopfield networks: each sweep sets a unit to `clip((I + b + β_n y)/(1 + β_n), 0, 1)`, the
/// projected-gradient fixed point that Euler steps (clipped to [0, 1]) reach — free and with
/// β_n = ±0.6 — in far fewer iterations; with β_n = −1.5 (the unit's energy concave) every
/// the sweeps still end at an equilibrium, each output at the better end of [0, 1].
#[test]
fn hopfield_sweeps_reach_the_euler_equilibrium() {
    let model = LayeredModel {
        widths: vec![12, 10, 9, 4],
        kind: Kind::Hopfield,
        fhn: FhnParams::table1(),
        inhibitor_coupling: false,
        leak: 0.0,
    };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
    let mut net = LayeredNet::<f64>::random(model, 0.6, true, &mut rng).unwrap();
    for (l, b) in net.biases.iter_mut().enumerate() {
        b.iter_mut()
            .enumerate()
            .for_each(|(k, x)| *x = 0.1 * (k + l) as f64 % 0.7);
    }
    let x = Mat::from_fn(12, 3, |i, j| ((i * 7 + j * 3) % 5) as f64 / 4.0);
    let y = Mat::from_fn(4, 3, |i, j| if i == j { 1.0 } else { 0.0 });
    let mut ws = net.workspace(3);
    let phase = |nudge, solver| Phase {
        nudge,
        dt: 0.5,
        max_steps: 100_000,
        tol: 1e-12,
        solver,
    };
    let mut free = net.init_state(x.clone());
    net.prepare_input(&free, &mut ws, Par::Seq);
    net.relax(&mut free, &mut ws, phase(None, Solver::Euler), Par::Seq)
        .unwrap();
    let mut clamped_some = false;
    for gain in [0.0, 0.6, -0.6] {
        let nudge = (gain != 0.0).then_some(Nudge { target: &y, gain });
        // Nudged phases start from the free equilibrium, the free phase from zero (and, for
        // the sweeps, from outside [0, 1]: the sweep projects the state first).
        let start = if gain == 0.0 {
            net.init_state(x.clone())
        } else {
            free.clone()
        };
        let (mut a, mut b) = (start.clone(), start);
        if gain == 0.0 {
            b.u[2].fill(3.0);
        }
        let steps = net
            .relax(&mut a, &mut ws, phase(nudge, Solver::Euler), Par::Seq)
            .unwrap();
        let sweeps = net
            .relax(&mut b, &mut ws, phase(nudge, Solver::RedBlack), Par::Seq)
            .unwrap();
        assert!(
            net.residual(&b, &mut ws, nudge, Par::Seq) <= 1e-12,
            "β {gain}"
        );
        for (p, q) in flat(&a).into_iter().zip(flat(&b)) {
            assert!((p - q).abs() < 1e-9, "β {gain}: {p} vs {q}");
            clamped_some |= q == 0.0 || q == 1.0;
        }
        assert!(
            3 * sweeps < steps,
            "β {gain}: {sweeps} sweeps, {steps} steps"
        );
    }
    assert!(clamped_some, "no unit at a bound: the clip is untested");
    let nudge = Some(Nudge {
        target: &y,
        gain: -1.5,
    });
    let mut b = free.clone();
    net.relax(&mut b, &mut ws, phase(nudge, Solver::RedBlack), Par::Seq)
        .unwrap();
    assert!(net.residual(&b, &mut ws, nudge, Par::Seq) <= 1e-12);
    let out = super::super::elementwise::entries(&b.u[3]).collect::<Vec<_>>();
    assert!(out.iter().all(|&u| u == 0.0 || u == 1.0), "{out:?}");
}
