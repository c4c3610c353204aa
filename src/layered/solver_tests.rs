//! Solver tests of the layered network: Newton, Anderson and Jacobi reach the same exact
//! equilibria, the estimate's difference form, the single-example GEMV path, divergence.

use super::tests::{inputs, small};
use super::*;
use crate::error::Error;
use faer::Par;
use rand::SeedableRng;

#[test]
fn newton_solver_reaches_exact_equilibria_in_free_and_nudged_phases() {
    let net = small(false, 1.0, 5);
    let target = Mat::from_fn(3, 2, |i, j| if i == j { 0.4 } else { -0.4 });
    let mut ws = net.workspace(2);
    for nudge in [
        None,
        Some(Nudge {
            target: &target,
            gain: 0.5,
        }),
    ] {
        let mut st = net.init_state(inputs());
        net.prepare_input(&st, &mut ws, Par::Seq);
        net.relax(
            &mut st,
            &mut ws,
            Phase {
                nudge,
                dt: 0.5,
                max_steps: 200,
                tol: 0.0,
                solver: Solver::Newton,
            },
            Par::Seq,
        )
        .unwrap();
        let r = net.residual(&st, &mut ws, nudge, Par::Seq);
        assert!(r <= 1e-10, "residual {r}");
    }
}

/// Random states for layers 1..L (the input layer is shared, as in two EqProp phases).
fn random_state(net: &LayeredNet<f64>, x: &Mat<f64>, seed: u64) -> BatchState<f64> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut st = net.init_state(x.clone());
    for l in 1..net.layers() {
        for m in [&mut st.u[l], &mut st.v[l]] {
            *m = Mat::from_fn(m.nrows(), m.ncols(), |_, _| rng.gen_range(-0.3..1.2));
        }
    }
    st
}

#[test]
fn difference_form_of_the_estimate_equals_two_co_content_sums() {
    for (kind, coupled) in [
        (Kind::Fhn, false),
        (Kind::Fhn, true),
        (Kind::Hopfield, false),
    ] {
        let mut net = small(coupled, 0.5, 9);
        net.model.kind = kind;
        let (plus, minus) = (
            random_state(&net, &inputs(), 1),
            random_state(&net, &inputs(), 2),
        );
        let mut ws = net.workspace(2);
        let mut two = Grads::zeros_like(&net);
        net.accumulate_param_grad(&plus, &mut ws, 0.7, &mut two, Par::Seq);
        net.accumulate_param_grad(&minus, &mut ws, -0.7, &mut two, Par::Seq);
        let mut diff = Grads::zeros_like(&net);
        net.accumulate_param_grad_difference(&plus, &minus, &mut ws, 0.7, &mut diff, Par::Seq);
        for (a, b) in two.w.iter().zip(&diff.w) {
            let err = (a - b).norm_max() / a.norm_max();
            assert!(err < 1e-13, "{kind:?} coupled {coupled}: weights {err:e}");
        }
        for (a, b) in two.b.iter().zip(&diff.b) {
            for (x, y) in a.iter().zip(b) {
                assert!((x - y).abs() < 1e-13, "{kind:?}: bias {x} vs {y}");
            }
        }
    }
}

#[test]
fn anderson_reaches_the_newton_equilibrium_in_fewer_steps_than_jacobi() {
    let net = small(false, 1.0, 5);
    let target = Mat::from_fn(3, 2, |i, j| if i == j { 0.4 } else { -0.4 });
    let nudge = Some(Nudge {
        target: &target,
        gain: 0.5,
    });
    let mut ws = net.workspace(2);
    // Anderson is a local accelerator: both solvers start from the same 60 Jacobi steps
    // (far from equilibrium this small random net is strongly nonlinear; docs/PERFORMANCE.md).
    let mut run = |solver: Solver, tol: f64| {
        let mut st = net.init_state(inputs());
        net.prepare_input(&st, &mut ws, Par::Seq);
        net.relax(
            &mut st,
            &mut ws,
            Phase {
                nudge,
                dt: 0.5,
                max_steps: 60,
                tol: 0.0,
                solver: Solver::Jacobi,
            },
            Par::Seq,
        )
        .unwrap();
        let steps = net
            .relax(
                &mut st,
                &mut ws,
                Phase {
                    nudge,
                    dt: 0.5,
                    max_steps: 5000,
                    tol,
                    solver,
                },
                Par::Seq,
            )
            .unwrap();
        let r = net.residual(&st, &mut ws, nudge, Par::Seq);
        (st, steps, r)
    };
    let (exact, _, r_newton) = run(Solver::Newton, 0.0);
    assert!(r_newton <= 1e-10);
    let (_, jacobi_steps, r_jacobi) = run(Solver::Jacobi, 1e-10);
    let (acc, anderson_steps, r_anderson) = run(Solver::Anderson, 1e-10);
    assert!(
        r_jacobi <= 1e-10 && r_anderson <= 1e-10,
        "{r_jacobi} {r_anderson}"
    );
    eprintln!("to 1e-10: Jacobi {jacobi_steps} steps, Anderson {anderson_steps}");
    // Both stop at the tolerance, well inside the budget of 5000 steps.
    assert!(
        jacobi_steps < 4000,
        "Jacobi ran {jacobi_steps} of 5000 steps"
    );
    assert!(
        3 * anderson_steps < jacobi_steps,
        "Anderson {anderson_steps} vs Jacobi {jacobi_steps} steps"
    );
    for l in 1..net.layers() {
        let d = (&acc.u[l] - &exact.u[l]).norm_max() + (&acc.v[l] - &exact.v[l]).norm_max();
        assert!(d < 1e-8, "layer {l}: {d:e}");
    }
}

#[test]
fn single_example_fused_gemv_matches_the_batched_gemm_path() {
    // Widths above the 16-lane blocks so that both the blocked and the tail loops run.
    let mut net = small(true, 0.5, 4);
    net.model.widths = vec![6, 40, 37, 3];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(8);
    net = LayeredNet::random(net.model.clone(), 0.3, false, &mut rng).unwrap();
    let x2 = inputs();
    let two = random_state(&net, &x2, 3);
    let mut one = net.init_state(Mat::from_fn(6, 1, |i, _| x2[(i, 1)]));
    for l in 1..net.layers() {
        one.u[l] = Mat::from_fn(two.u[l].nrows(), 1, |i, _| two.u[l][(i, 1)]);
        one.v[l] = Mat::from_fn(two.v[l].nrows(), 1, |i, _| two.v[l][(i, 1)]);
    }
    let (mut ws1, mut ws2) = (net.workspace(1), net.workspace(2));
    net.prepare_input(&one, &mut ws1, Par::Seq);
    net.prepare_input(&two, &mut ws2, Par::Seq);
    net.forces(&one, &mut ws1, None, Par::Seq);
    net.forces(&two, &mut ws2, None, Par::Seq);
    for l in 1..net.layers() {
        for k in 0..net.model.widths[l] {
            for (a, b) in [(&ws1.gu, &ws2.gu), (&ws1.gv, &ws2.gv)] {
                let (x, y) = (a[l][(k, 0)], b[l][(k, 1)]);
                assert!((x - y).abs() < 1e-13, "layer {l} node {k}: {x} vs {y}");
            }
        }
    }
}

#[test]
fn a_diverging_phase_with_a_tolerance_is_an_error_not_a_converged_state() {
    // Euler with a huge step blows up; the residual test (tolerance > 0) must not take the
    // resulting NaN forces for a residual below the tolerance.
    // 5 steps: the divergence check of the last step (not only every 8th) must see it.
    for (tol, steps) in [(0.0, 200), (1e-3, 200), (0.0, 5)] {
        let net = small(false, 0.0, 3);
        let mut ws = net.workspace(2);
        let mut st = net.init_state(inputs());
        net.prepare_input(&st, &mut ws, Par::Seq);
        let r = net.relax(
            &mut st,
            &mut ws,
            Phase {
                nudge: None,
                dt: 50.0,
                max_steps: steps,
                tol,
                solver: Solver::Euler,
            },
            Par::Seq,
        );
        assert!(
            matches!(r, Err(Error::Diverged(_))),
            "tolerance {tol}, {steps} steps: {r:?}"
        );
    }
}

#[test]
fn an_euler_step_follows_the_time_constants() {
    // τ_u u_t = −∂Φ/∂u, τ_v v_t = ε ∂Φ/∂v (paper eq. 6) with τ_u, τ_v ≠ 1.
    let mut net = small(false, 0.5, 4);
    net.model.fhn.tau_u = 2.0;
    net.model.fhn.tau_v = 3.0;
    let x = inputs();
    let mut ws = net.workspace(2);
    let mut st = random_state(&net, &x, 5);
    net.prepare_input(&st, &mut ws, Par::Seq);
    net.forces(&st, &mut ws, None, Par::Seq);
    let (gu, gv) = (ws.gu.clone(), ws.gv.clone());
    let before = st.clone();
    let (dt, eps) = (0.1, net.model.fhn.eps);
    net.step(&mut st, &mut ws, None, dt, Solver::Euler, Par::Seq);
    for l in 1..net.layers() {
        for b in 0..2 {
            for k in 0..net.model.widths[l] {
                let u = before.u[l][(k, b)] - dt / 2.0 * gu[l][(k, b)];
                let v = before.v[l][(k, b)] + dt * eps / 3.0 * gv[l][(k, b)];
                assert!((st.u[l][(k, b)] - u).abs() < 1e-14, "u at layer {l}");
                assert!((st.v[l][(k, b)] - v).abs() < 1e-14, "v at layer {l}");
            }
        }
    }
}
