use super::*;
use crate::eqprop::{cosine, implicit_gradient};
use crate::model::FhnParams;
use crate::network::{Cost, State};
use crate::solvers::{newton, steady_state};
use faer::Par;
use rand::SeedableRng;

pub(super) fn small(inhibitor_coupling: bool, leak: f64, seed: u64) -> LayeredNet<f64> {
    let model = LayeredModel {
        widths: vec![6, 5, 4, 3],
        kind: Kind::Fhn,
        fhn: FhnParams::table1(),
        inhibitor_coupling,
        leak,
    };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut net = LayeredNet::<f64>::random(model, 0.4, false, &mut rng).unwrap();
    if inhibitor_coupling {
        // Signed conductances in the inhibitor graph make v run away (the inhibitor ascends Φ):
        // coupled-inhibitor networks are tested with positive conductances.
        for w in net.weights.iter_mut() {
            *w = Mat::from_fn(w.nrows(), w.ncols(), |i, j| w[(i, j)].abs());
        }
    }
    for b in net.biases.iter_mut() {
        for (i, x) in b.iter_mut().enumerate() {
            *x = 0.05 * (i as f64 - 1.0);
        }
    }
    net
}

pub(super) fn inputs() -> Mat<f64> {
    Mat::from_fn(6, 2, |i, j| 0.2 + 0.1 * i as f64 - 0.3 * j as f64)
}

/// The layered state of example `b` in graph numbering (ground node last, if any).
fn to_graph_state(net: &LayeredNet<f64>, st: &BatchState<f64>, b: usize, n: usize) -> State {
    let mut s = State::zeros(n);
    let off = node_offsets(&net.model.widths);
    for l in 0..net.layers() {
        for k in 0..net.model.widths[l] {
            s.u[off[l] + k] = st.u[l][(k, b)];
            s.v[off[l] + k] = st.v[l][(k, b)];
        }
    }
    s
}

/// ∂/∂G from a graph-parameter vector: θ starts with the weights (column-major per layer),
/// and with inhibitor coupling the same conductances appear again in the inhibitor graph.
fn graph_weight_grad(
    net: &LayeredNet<f64>,
    graph: &crate::network::FhnNetwork,
    g: &[f64],
) -> Vec<f64> {
    let m: usize = net.weights.iter().map(|w| w.nrows() * w.ncols()).sum();
    let m1 = graph.activator.edges.len();
    (0..m)
        .map(|k| {
            g[k] + if net.model.inhibitor_coupling {
                g[m1 + k]
            } else {
                0.0
            }
        })
        .collect()
}

fn flatten(gr: &Grads<f64>) -> Vec<f64> {
    gr.w.iter()
        .flat_map(|w| entries(w).collect::<Vec<_>>())
        .collect()
}

#[test]
fn forces_equal_graph_gradient_at_random_states() {
    for (coupling, leak) in [(true, 0.5), (false, 0.0)] {
        let net = small(coupling, leak, 1);
        let mut st = net.init_state(inputs());
        for l in 1..net.layers() {
            st.u[l] = Mat::from_fn(st.u[l].nrows(), 2, |i, j| {
                ((i * 7 + j * 3 + l) as f64).sin()
            });
            st.v[l] = Mat::from_fn(st.v[l].nrows(), 2, |i, j| {
                ((i * 5 + j + 2 * l) as f64).cos() * 0.5
            });
        }
        let mut ws = net.workspace(2);
        net.prepare_input(&st, &mut ws, Par::Seq);
        net.forces(&st, &mut ws, None, Par::Seq);
        for b in 0..2 {
            let x: Vec<f64> = (0..6).map(|i| st.u[0][(i, b)]).collect();
            let g = net.as_graph(&x).unwrap();
            let gs = to_graph_state(&net, &st, b, g.n());
            let (gu, gv) = g.gradient(&gs, None);
            let off = node_offsets(&net.model.widths);
            for l in 1..net.layers() {
                for k in 0..net.model.widths[l] {
                    let i = off[l] + k;
                    assert!(
                        (ws.gu[l][(k, b)] - gu[i]).abs() < 1e-13,
                        "u layer {l} node {k}"
                    );
                    assert!(
                        (ws.gv[l][(k, b)] - gv[i]).abs() < 1e-13,
                        "v layer {l} node {k}"
                    );
                }
            }
            // ∂Φ/∂G agrees with the graph's local co-content, example by example.
            let mut one = net.init_state(Mat::from_fn(6, 1, |i, _| x[i]));
            for l in 1..net.layers() {
                one.u[l] = Mat::from_fn(st.u[l].nrows(), 1, |i, _| st.u[l][(i, b)]);
                one.v[l] = Mat::from_fn(st.v[l].nrows(), 1, |i, _| st.v[l][(i, b)]);
            }
            let mut acc = Grads::zeros_like(&net);
            let mut ws1 = net.workspace(1);
            net.accumulate_param_grad(&one, &mut ws1, 1.0, &mut acc, Par::Seq);
            let pg = graph_weight_grad(&net, &g, &g.param_gradient(&gs));
            let mine = flatten(&acc);
            for (a, c) in mine.iter().zip(&pg) {
                assert!((a - c).abs() < 1e-13);
            }
        }
    }
}

/// Relaxes the layered net (f64, small Euler steps) to a residual below 1e-13.
fn relax_to_steady(
    net: &LayeredNet<f64>,
    st: &mut BatchState<f64>,
    ws: &mut Workspace<f64>,
    nudge: Option<Nudge<f64>>,
) -> f64 {
    net.prepare_input(st, ws, Par::Seq);
    let mut r = f64::MAX;
    for _ in 0..2000 {
        net.relax(
            st,
            ws,
            Phase {
                nudge,
                dt: 0.05,
                max_steps: 100,
                tol: 0.0,
                solver: Solver::Euler,
            },
            Par::Seq,
        )
        .unwrap();
        r = net.residual(st, ws, nudge, Par::Seq);
        if r < 1e-13 {
            break;
        }
    }
    r
}

#[test]
fn steady_state_and_eqprop_gradient_equal_the_graph_implementation() {
    let net = small(true, 0.5, 2);
    let x = inputs();
    let target = Mat::from_fn(3, 2, |i, j| if i == j { 0.5 } else { -0.3 });
    let beta = 0.01;
    let mut ws = net.workspace(2);
    let mut free = net.init_state(x.clone());
    assert!(relax_to_steady(&net, &mut free, &mut ws, None) < 1e-13);
    let mut grads = Grads::zeros_like(&net);
    for (sign, b) in [(1.0, beta), (-1.0, -beta)] {
        let mut s = free.clone();
        let nudge = Some(Nudge {
            target: &target,
            gain: b,
        });
        assert!(relax_to_steady(&net, &mut s, &mut ws, nudge) < 1e-13);
        net.accumulate_param_grad(&s, &mut ws, sign / (2.0 * beta), &mut grads, Par::Seq);
    }
    let mut graph_grad = vec![0.0; flatten(&grads).len()];
    let off = node_offsets(&net.model.widths);
    for b in 0..2 {
        let xb: Vec<f64> = (0..6).map(|i| x[(i, b)]).collect();
        let g = net.as_graph(&xb).unwrap();
        let mut s = g.initial_state();
        steady_state(&g, &mut s, None, 1e-13).unwrap();
        let mine = to_graph_state(&net, &free, b, g.n());
        let diff =
            s.u.iter()
                .chain(&s.v)
                .zip(mine.u.iter().chain(&mine.v))
                .fold(0.0f64, |m, (a, c)| m.max((a - c).abs()));
        let scale = s.u.iter().fold(0.0f64, |m, a| m.max(a.abs()));
        assert!(diff / scale <= 1e-9, "steady states differ by {diff}");
        let cost = Cost {
            outputs: (0..3).map(|k| off[3] + k).collect(),
            targets: (0..3).map(|k| target[(k, b)]).collect(),
        };
        let (mut sp, mut sm) = (s.clone(), s.clone());
        newton(&g, &mut sp, Some((&cost, beta)), 1e-13, 50).unwrap();
        newton(&g, &mut sm, Some((&cost, -beta)), 1e-13, 50).unwrap();
        let (gp, gm) = (g.param_gradient(&sp), g.param_gradient(&sm));
        let (gp, gm) = (
            graph_weight_grad(&net, &g, &gp),
            graph_weight_grad(&net, &g, &gm),
        );
        for (k, acc) in graph_grad.iter_mut().enumerate() {
            *acc += (gp[k] - gm[k]) / (2.0 * beta);
        }
        // (b) EqProp at small β equals the exact implicit gradient.
        let exact = graph_weight_grad(&net, &g, &implicit_gradient(&g, &s, &cost));
        let mut one = Grads::zeros_like(&net);
        let mut ws1 = net.workspace(1);
        let xcol = Mat::from_fn(6, 1, |i, _| xb[i]);
        let tcol = Mat::from_fn(3, 1, |i, _| target[(i, b)]);
        let mut f1 = net.init_state(xcol.clone());
        relax_to_steady(&net, &mut f1, &mut ws1, None);
        for (sign, bb) in [(1.0, 1e-3), (-1.0, -1e-3)] {
            let mut s1 = f1.clone();
            relax_to_steady(
                &net,
                &mut s1,
                &mut ws1,
                Some(Nudge {
                    target: &tcol,
                    gain: bb,
                }),
            );
            net.accumulate_param_grad(&s1, &mut ws1, sign / 2e-3, &mut one, Par::Seq);
        }
        assert!(
            cosine(&flatten(&one), &exact) >= 0.9999,
            "cosine {}",
            cosine(&flatten(&one), &exact)
        );
    }
    let mine = flatten(&grads);
    let err = crate::eqprop::relative_error(&mine, &graph_grad);
    assert!(
        err <= 1e-9,
        "layered vs graph EqProp gradient: relative difference {err}"
    );
}

#[test]
fn hopfield_relaxes_to_a_fixed_point_with_matching_gradient() {
    // One hidden layer, and two (a middle layer feels both neighbours through ρ).
    hopfield_fixed_point_and_gradient(vec![6, 5, 3]);
    hopfield_fixed_point_and_gradient(vec![6, 5, 4, 3]);
}

/// A Hopfield architecture with these widths (the FHN parameters are unused).
pub(super) fn hopfield_model(widths: Vec<usize>) -> LayeredModel {
    LayeredModel {
        widths,
        kind: Kind::Hopfield,
        fhn: FhnParams::table1(),
        inhibitor_coupling: false,
        leak: 0.0,
    }
}

fn hopfield_fixed_point_and_gradient(widths: Vec<usize>) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let model = hopfield_model(widths);
    let mut net = LayeredNet::<f64>::random(model, 0.5, false, &mut rng).unwrap();
    for (l, b) in net.biases.iter_mut().enumerate() {
        b.iter_mut()
            .enumerate()
            .for_each(|(k, x)| *x = 0.15 * (k as f64 - 1.5) + 0.1 * l as f64);
    }
    let mut ws = net.workspace(2);
    let mut st = net.init_state(inputs());
    net.prepare_input(&st, &mut ws, Par::Seq);
    // Away from the fixed point the residual says so (it is what the tolerance test reads).
    let r0 = net.residual(&st, &mut ws, None, Par::Seq);
    assert!(r0 > 1e-2, "initial Hopfield residual {r0}");
    net.relax(
        &mut st,
        &mut ws,
        Phase {
            nudge: None,
            dt: 0.5,
            max_steps: 200,
            tol: 0.0,
            solver: Solver::Euler,
        },
        Par::Seq,
    )
    .unwrap();
    let r = net.residual(&st, &mut ws, None, Par::Seq);
    assert!(r < 1e-10, "Hopfield residual {r}");
    // ∂E/∂W by finite differences of E at the fixed state.
    let energy = |n: &LayeredNet<f64>| energy_at(n, &st);
    // The fixed point is stationary for E (with biases): ∂E/∂u = 0 at every unit inside (0, 1).
    let mut interior = 0;
    for l in 1..net.layers() {
        for b in 0..2 {
            for k in 0..net.model.widths[l] {
                let u = st.u[l][(k, b)];
                if u <= 1e-3 || u >= 1.0 - 1e-3 {
                    continue;
                }
                let shifted = |d: f64| {
                    let mut s = st.clone();
                    s.u[l][(k, b)] += d;
                    energy_at(&net, &s)
                };
                let de = (shifted(1e-6) - shifted(-1e-6)) / 2e-6;
                assert!(de.abs() < 1e-6, "∂E/∂u at layer {l}, unit {k}: {de}");
                interior += 1;
            }
        }
    }
    assert!(interior > 0, "no unit inside (0, 1)");
    let mut acc = Grads::zeros_like(&net);
    net.accumulate_param_grad(&st, &mut ws, 1.0, &mut acc, Par::Seq);
    // Each weight matrix, at its entry of largest gradient (an entry between two clipped units
    // would compare 0 with 0).
    for l in 0..net.weights.len() {
        let g = &acc.w[l];
        let (k, j) = (0..g.nrows())
            .flat_map(|k| (0..g.ncols()).map(move |j| (k, j)))
            .max_by(|a, b| g[*a].abs().total_cmp(&g[*b].abs()))
            .unwrap();
        let mut n2 = net.clone();
        n2.weights[l][(k, j)] += 1e-6;
        let fd = (energy(&n2) - energy(&net)) / 1e-6;
        assert!(fd.abs() > 1e-3, "weights {l}: no active pair ({fd})");
        assert!(
            (fd - g[(k, j)]).abs() < 1e-6,
            "weights {l}: {fd} vs {}",
            g[(k, j)]
        );
    }
}

/// The Hopfield energy E of `n` at state `st` (two examples), written out term by term.
fn energy_at(n: &LayeredNet<f64>, st: &BatchState<f64>) -> f64 {
    let rho = |x: f64| x.clamp(0.0, 1.0);
    let mut e = 0.0;
    for l in 1..n.layers() {
        e += entries(&st.u[l]).map(|x| 0.5 * x * x).sum::<f64>();
        for b in 0..2 {
            e -= (0..n.model.widths[l])
                .map(|k| n.biases[l - 1][k] * rho(st.u[l][(k, b)]))
                .sum::<f64>();
        }
    }
    for (l, w) in n.weights.iter().enumerate() {
        for b in 0..2 {
            for k in 0..w.nrows() {
                for j in 0..w.ncols() {
                    e -= w[(k, j)] * rho(st.u[l + 1][(k, b)]) * rho(st.u[l][(j, b)]);
                }
            }
        }
    }
    e
}
