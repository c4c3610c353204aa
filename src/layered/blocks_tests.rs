//! Red-black sweeps against the time-stepping solvers: the same equilibria, fewer iterations.

use super::*;
use crate::layered::{LayeredModel, Phase, Solver};
use crate::model::FhnParams;
use faer::Mat;
use rand::SeedableRng;

/// A phase of at most 100 000 iterations to `tol` (step 0.5 where a step applies).
fn phase(nudge: Option<Nudge<'_, f64>>, tol: f64, solver: Solver) -> Phase<'_, f64> {
    Phase {
        nudge,
        dt: 0.5,
        max_steps: 100_000,
        tol,
        solver,
    }
}

/// Relaxes `start` to `tol` with the `reference` solver and with red-black sweeps; both must
/// reach it. Returns the two states and the iterations each took.
fn reference_and_sweeps(
    net: &LayeredNet<f64>,
    ws: &mut Workspace<f64>,
    start: &BatchState<f64>,
    nudge: Option<Nudge<'_, f64>>,
    tol: f64,
    reference: Solver,
) -> (BatchState<f64>, BatchState<f64>, usize, usize) {
    let (mut a, mut b) = (start.clone(), start.clone());
    let steps = net
        .relax(&mut a, ws, phase(nudge, tol, reference), Par::Seq)
        .unwrap();
    let sweeps = net
        .relax(&mut b, ws, phase(nudge, tol, Solver::RedBlack), Par::Seq)
        .unwrap();
    let gain = nudge.map_or(0.0, |n| n.gain);
    assert!(
        net.residual(&a, ws, nudge, Par::Seq) <= tol,
        "{reference:?}, β {gain}: {steps} steps"
    );
    assert!(
        net.residual(&b, ws, nudge, Par::Seq) <= tol,
        "red-black, β {gain}: {sweeps} sweeps"
    );
    (a, b, steps, sweeps)
}

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
            phase(None, 1e-12, Solver::Jacobi),
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
            let start = if nudge.is_some() {
                free.clone()
            } else {
                net.init_state(x.clone())
            };
            let (a, b, steps, sweeps) =
                reference_and_sweeps(&net, &mut ws, &start, nudge, 1e-11, Solver::Jacobi);
            let beta = nudge.map_or(0.0, |n| n.gain);
            for (p, q) in flat(&a).into_iter().zip(flat(&b)) {
                assert!((p - q).abs() < 1e-9, "eps {eps}, β {beta}: {p} vs {q}");
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
/// β_n = ±0.6 — in far fewer iterations, with units at both bounds; states outside [0, 1] are
/// projected before the first sweep; with β_n = −1 and −1.5 (a unit's energy linear or
/// concave) the sweeps still end at an equilibrium, every output at an end of [0, 1].
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
    let mut free = net.init_state(x.clone());
    net.prepare_input(&free, &mut ws, Par::Seq);
    // One sweep from a layer outside [0, 1] equals one from its projection.
    let (mut out, mut edge) = (free.clone(), free.clone());
    out.u[2].fill(3.0);
    edge.u[2].fill(1.0);
    net.block_sweep(&mut out, &mut ws, None, Par::Seq);
    net.block_sweep(&mut edge, &mut ws, None, Par::Seq);
    assert_eq!(flat(&out), flat(&edge));
    net.relax(
        &mut free,
        &mut ws,
        phase(None, 1e-12, Solver::Euler),
        Par::Seq,
    )
    .unwrap();
    let (mut at_zero, mut at_one) = (false, false);
    for gain in [0.0, 0.6, -0.6] {
        let nudge = (gain != 0.0).then_some(Nudge { target: &y, gain });
        // Nudged phases start from the free equilibrium, the free phase from zero.
        let start = if gain == 0.0 {
            net.init_state(x.clone())
        } else {
            free.clone()
        };
        let (a, b, steps, sweeps) =
            reference_and_sweeps(&net, &mut ws, &start, nudge, 1e-12, Solver::Euler);
        for (p, q) in flat(&a).into_iter().zip(flat(&b)) {
            assert!((p - q).abs() < 1e-9, "β {gain}: {p} vs {q}");
            at_zero |= q == 0.0;
            at_one |= q == 1.0;
        }
        assert!(
            3 * sweeps < steps,
            "β {gain}: {sweeps} sweeps, {steps} steps"
        );
    }
    assert!(at_zero && at_one, "the clip is untested at one bound");
    for gain in [-1.0, -1.5] {
        let nudge = Some(Nudge { target: &y, gain });
        let mut b = free.clone();
        net.relax(
            &mut b,
            &mut ws,
            phase(nudge, 1e-12, Solver::RedBlack),
            Par::Seq,
        )
        .unwrap();
        assert!(
            net.residual(&b, &mut ws, nudge, Par::Seq) <= 1e-12,
            "β {gain}"
        );
        let out = super::super::elementwise::entries(&b.u[3]).collect::<Vec<_>>();
        assert!(out.iter().all(|&u| u == 0.0 || u == 1.0), "{out:?}");
    }
}

/// The Hopfield unit minimiser case by case (energy `½a u² − r u` on [0, 1], a = 1 + β_n,
/// r = I + b + β_n y): the clipped solve for a > 0; for a < 0 the end on the current value's
/// side of the maximum r/a; for a = 0 the end the linear energy falls toward.
#[test]
fn hopfield_unit_minimiser() {
    use super::super::energy::{Energy, Hopfield};
    let e = |drive, bn: f64, y, cur| Energy::<f64>::exact(&Hopfield, drive, 0.0, 0.1, (bn, y), cur);
    assert_eq!(e(0.3, 0.0, 0.0, 0.0), 0.4);
    assert!((e(0.3, 1.0, 1.0, 0.0) - 0.7).abs() < 1e-15);
    assert_eq!(e(2.0, 0.0, 0.0, 0.5), 1.0);
    assert_eq!(e(-2.0, 0.0, 0.0, 0.5), 0.0);
    // β_n = −1.5: a = −0.5, r = 0.4 − 1.5 y. With y = 0.5 the maximum r/a = 0.7 lies inside:
    // both ends are minima (E(0) = 0 < E(1) = 0.1), and the sweep keeps cur's side.
    assert_eq!(e(0.3, -1.5, 0.5, 0.9), 1.0);
    assert_eq!(e(0.3, -1.5, 0.5, 0.5), 0.0);
    // With y = 0 the maximum r/a = −0.8 lies left of [0, 1]: only 1 is a minimum.
    assert_eq!(e(0.3, -1.5, 0.0, 0.2), 1.0);
    // β_n = −1: a linear energy −r u, r = 0.4 − y.
    assert_eq!(e(0.3, -1.0, 0.0, 0.0), 1.0);
    assert_eq!(e(0.3, -1.0, 1.0, 1.0), 0.0);
}
