//! Tests of the echo: the layer map against the graph model, the inverse, the explicit adjoint
//! against finite differences, the echo against the adjoint, and the steady-state problem.

use super::backprop::adjoint_gradient;
use super::echo::{cast, flat, to_f64, EchoNet, Gradient, Layers};
use super::steady::steady_gradients;
use crate::eqprop::{cosine, loglog_slope, relative_error};
use crate::model::FhnParams;
use crate::network::State;
use faer::Mat;
use rand::{Rng, SeedableRng};

fn random_mat(rows: usize, cols: usize, scale: f64, rng: &mut impl Rng) -> Mat<f64> {
    Mat::from_fn(rows, cols, |_, _| scale * (2.0 * rng.gen::<f64>() - 1.0))
}

/// A width-`m`, depth-`n` network with couplings of size `g`, and a batch of `b` inputs.
fn setup(m: usize, n: usize, g: f64, b: usize, seed: u64) -> (EchoNet, [Mat<f64>; 4], Mat<f64>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let coupling = (0..n)
        .map(|_| random_mat(m, m, g / (m as f64).sqrt(), &mut rng))
        .collect();
    let net = EchoNet::new(FhnParams::parra_rivas(1.0, 0.1, 1.08, 0.05), coupling).unwrap();
    let x = [0.25, 0.05, 0.05, 0.01].map(|s| random_mat(m, b, s, &mut rng));
    let y = random_mat(m, b, 0.5, &mut rng);
    (net, x, y)
}

fn run(net: &EchoNet, x: &[Mat<f64>; 4]) -> Layers<f64> {
    net.forward(&x[0], &x[1], &x[2], &x[3]).unwrap()
}

/// L = ½‖u^N − y‖² summed over the batch, and ∂L/∂u^N.
fn loss(l: &Layers<f64>, y: &Mat<f64>) -> (f64, Mat<f64>) {
    let d = l.u.last().unwrap() - y;
    (0.5 * d.squared_norm_l2(), d)
}

fn echo_grad(
    net: &EchoNet,
    fwd: &Layers<f64>,
    dl: &Mat<f64>,
    eta: f64,
    centered: bool,
) -> Gradient {
    let plus = net.echo(fwd, dl, eta).unwrap();
    let minus = centered.then(|| net.echo(fwd, dl, -eta).unwrap());
    net.echo_gradient(fwd, &plus, minus.as_ref(), eta)
}

#[test]
fn forward_pass_is_a_steady_state_of_the_graph_model_in_its_interior() {
    let (net, x, _) = setup(5, 6, 0.3, 1, 1);
    let fwd = run(&net, &x);
    let graph = net.as_graph(None).unwrap();
    let s = fwd.column_state(0);
    let (gu, gv) = graph.gradient(&s, None);
    let (m, n) = (5, 6);
    let interior = m..n * m;
    let worst = interior
        .clone()
        .map(|i| gu[i].abs().max(gv[i].abs()))
        .fold(0.0, f64::max);
    assert!(worst < 1e-12, "interior residual {worst:e}");
    // The ends are not steady (free ends would need zero flux): the map is an initial-value one.
    let ends = (0..m)
        .chain(n * m..(n + 1) * m)
        .map(|i| gu[i].abs())
        .fold(0.0, f64::max);
    assert!(ends > 1e-3, "{ends:e}");
}

#[test]
fn the_reversed_pass_returns_to_the_input_and_is_the_mirrored_forward_map() {
    let (net, x, _) = setup(6, 8, 0.3, 3, 2);
    let fwd = run(&net, &x);
    let n = net.depth();
    let back = net
        .reverse((&fwd.u[n], &fwd.v[n]), (&fwd.u[n - 1], &fwd.v[n - 1]))
        .unwrap();
    for i in 0..=n {
        let e = (&back.u[i] - &fwd.u[i]).norm_max() + (&back.v[i] - &fwd.v[i]).norm_max();
        assert!(e < 1e-12 && fwd.u[i].norm_max() < 1.0, "layer {i}: {e:e}");
    }
    // Mirroring twice is the identity; a network with a wrong transpose does not return.
    assert_eq!(net.mirrored().mirrored().coupling, net.coupling);
    let mut wrong = net.mirrored();
    wrong.coupling = net.coupling.iter().rev().cloned().collect();
    let (u, v) = (&fwd.u[n], &fwd.v[n]);
    let (p, q) = (&fwd.u[n - 1] - u, &fwd.v[n - 1] - v);
    let bad = wrong.forward(u, v, &p, &q).unwrap().reversed();
    assert!((&bad.u[0] - &fwd.u[0]).norm_max() > 1e-4);
}

fn fd_check(net: &EchoNet, x: &[Mat<f64>; 4], y: &Mat<f64>, g: &Gradient) -> f64 {
    let f = |net: &EchoNet, x: &[Mat<f64>; 4]| loss(&run(net, x), y).0;
    let h = 1e-6;
    let mut worst: f64 = 0.0;
    let m = net.width();
    for (layer, (k, j)) in [(0, (1, 2)), (2, (0, 0)), (net.depth() - 1, (3, 1))] {
        let (mut a, mut b) = (net.clone(), net.clone());
        a.coupling[layer][(k, j)] += h;
        b.coupling[layer][(k, j)] -= h;
        let fd = (f(&a, x) - f(&b, x)) / (2.0 * h);
        worst = worst.max((fd - g.coupling[layer][(k, j)]).abs() / fd.abs().max(1e-3));
    }
    // Inputs: u⁰ at fixed u¹ means u⁰ += h and p⁰ −= h; u¹ at fixed u⁰ means p⁰ += h.
    for (which, grad) in [(0, &g.u0), (1, &g.u1), (2, &g.v0), (3, &g.v1)] {
        let r = m - 1;
        let shift = |sign: f64| {
            let mut z = x.clone();
            let (pos, mom) = if which < 2 { (0, 2) } else { (1, 3) };
            if which % 2 == 0 {
                z[pos][(r, 0)] += sign * h;
                z[mom][(r, 0)] -= sign * h;
            } else {
                z[mom][(r, 0)] += sign * h;
            }
            f(net, &z)
        };
        let fd = (shift(1.0) - shift(-1.0)) / (2.0 * h);
        worst = worst.max((fd - grad[(r, 0)]).abs() / fd.abs().max(1e-3));
    }
    worst
}

#[test]
fn the_explicit_adjoint_matches_finite_differences() {
    let (net, x, y) = setup(5, 5, 0.3, 2, 3);
    let fwd = run(&net, &x);
    let g = adjoint_gradient(&net, &fwd, &loss(&fwd, &y).1).unwrap();
    let worst = fd_check(&net, &x, &y, &g);
    assert!(worst < 1e-6, "worst relative error {worst:e}");
}

#[test]
fn the_echo_is_the_adjoint_with_first_and_second_order_errors_in_eta() {
    let (net, x, y) = setup(6, 7, 0.3, 4, 4);
    let fwd = run(&net, &x);
    let dl = loss(&fwd, &y).1;
    let exact = adjoint_gradient(&net, &fwd, &dl).unwrap().flat();
    let centered = echo_grad(&net, &fwd, &dl, 1e-4, true).flat();
    assert!(
        cosine(&centered, &exact) >= 0.99999,
        "{}",
        cosine(&centered, &exact)
    );
    assert!(relative_error(&centered, &exact) < 1e-6);
    let etas = [1e-2, 5e-3, 2.5e-3];
    let err = |c: bool| -> Vec<f64> {
        let e = etas
            .iter()
            .map(|&eta| relative_error(&echo_grad(&net, &fwd, &dl, eta, c).flat(), &exact));
        e.collect()
    };
    let (one, two) = (
        loglog_slope(&etas, &err(false)),
        loglog_slope(&etas, &err(true)),
    );
    assert!(
        (one - 1.0).abs() < 0.1 && (two - 2.0).abs() < 0.1,
        "slopes {one} {two}"
    );
    // A sign error anywhere in the nudge shows up as an anti-aligned gradient.
    let flipped = echo_grad(&net, &fwd, &(&dl * faer::Scale(-1.0)), 1e-4, true).flat();
    assert!(cosine(&flipped, &exact) < -0.99999);
}

#[test]
fn the_echo_in_f32_tracks_the_f64_adjoint_at_shallow_depth() {
    let (net, x, y) = setup(6, 4, 0.3, 4, 5);
    let fwd = run(&net, &x);
    let dl = loss(&fwd, &y).1;
    let exact = adjoint_gradient(&net, &fwd, &dl).unwrap().flat();
    let cast = cast::<f32>;
    let f32_fwd = net
        .forward(&cast(&x[0]), &cast(&x[1]), &cast(&x[2]), &cast(&x[3]))
        .unwrap();
    let dl32 = cast(&(to_f64(f32_fwd.u.last().unwrap()) - &y));
    let plus = net.echo(&f32_fwd, &dl32, 1e-2).unwrap();
    let minus = net.echo(&f32_fwd, &dl32, -1e-2).unwrap();
    let g = net
        .echo_gradient(&f32_fwd, &plus, Some(&minus), 1e-2)
        .flat();
    assert!(cosine(&g, &exact) > 0.999, "{}", cosine(&g, &exact));
}

#[test]
fn the_steady_state_reproduces_the_forward_pass_but_its_gradient_differs() {
    let (net, x, y) = setup(3, 4, 0.2, 1, 6);
    let (m, n) = (3, 4);
    // Steady state of the clamped-input network, then the initial-value map from its layers 0, 1.
    let u0: Vec<f64> = x[0].col_as_slice(0).to_vec();
    let v0: Vec<f64> = x[1].col_as_slice(0).to_vec();
    let guess = State {
        u: (0..=n).flat_map(|_| u0.clone()).collect(),
        v: (0..=n).flat_map(|_| v0.clone()).collect(),
    };
    let ycol: Vec<f64> = y.col_as_slice(0).to_vec();
    let st = steady_gradients(&net, (&u0, &v0), guess, |_| ycol.clone(), 1e-4).unwrap();
    let col = |s: &[f64], i: usize| Mat::from_fn(m, 1, |k, _| s[i * m + k]);
    let (u1, v1) = (col(&st.state.u, 1), col(&st.state.v, 1));
    let (uu, vv) = (col(&st.state.u, 0), col(&st.state.v, 0));
    let fwd = net.forward(&uu, &vv, &(&u1 - &uu), &(&v1 - &vv)).unwrap();
    let e = (0..=n)
        .map(|i| (&fwd.u[i] - col(&st.state.u, i)).norm_max())
        .fold(0.0, f64::max);
    assert!(e < 1e-9, "forward pass vs steady state {e:e}");
    // EqProp is the implicit gradient of the steady state ...
    let flat = |g: &[Mat<f64>]| g.iter().flat_map(flat).collect::<Vec<f64>>();
    assert!(relative_error(&flat(&st.eqprop), &flat(&st.implicit)) < 1e-6);
    // ... which is not the initial-value map's gradient (the echo's), though both are exact.
    let dl = &fwd.u[n] - Mat::from_fn(m, 1, |k, _| ycol[k]);
    let ivp = adjoint_gradient(&net, &fwd, &dl).unwrap().coupling;
    assert!(relative_error(&flat(&ivp), &flat(&st.implicit)) > 1e-2);
}

#[test]
fn eqprop_on_the_steady_state_follows_the_readout_loss_with_surrogate_targets() {
    use super::steady::{solve_steady, steady_eqprop};
    // A readout L = ½‖R u^N − t‖²: EqProp with targets y = u^N − Rᵀ(R u^N − t) must give dL/dG.
    let (net, x, _) = setup(3, 3, 0.2, 1, 7);
    let (m, n) = (3, 3);
    let u0: Vec<f64> = x[0].col_as_slice(0).to_vec();
    let v0 = vec![0.0; m];
    let r = Mat::from_fn(2, m, |i, k| 0.5 + 0.3 * i as f64 - 0.2 * k as f64);
    let t = [1.0, 0.0];
    let guess = || State {
        u: (0..=n).flat_map(|_| u0.clone()).collect(),
        v: vec![0.0; (n + 1) * m],
    };
    let loss = |net: &EchoNet| {
        let (_, s) = solve_steady(net, (&u0, &v0), guess()).unwrap();
        let z: Vec<f64> = (0..2)
            .map(|i| (0..m).map(|k| r[(i, k)] * s.u[n * m + k]).sum::<f64>() - t[i])
            .collect();
        (0.5 * z.iter().map(|e| e * e).sum::<f64>(), s, z)
    };
    let (_, s, z) = loss(&net);
    let graph = net.as_graph(Some((&u0, &v0))).unwrap();
    let y: Vec<f64> = (0..m)
        .map(|k| s.u[n * m + k] - (0..2).map(|i| r[(i, k)] * z[i]).sum::<f64>())
        .collect();
    let g = steady_eqprop(&net, &graph, &s, y, 1e-4).unwrap();
    let h = 1e-6;
    for (layer, k, j) in [(0, 1, 2), (2, 0, 1)] {
        let (mut a, mut b) = (net.clone(), net.clone());
        a.coupling[layer][(k, j)] += h;
        b.coupling[layer][(k, j)] -= h;
        let fd = (loss(&a).0 - loss(&b).0) / (2.0 * h);
        let e = (fd - g[layer][(k, j)]).abs() / fd.abs().max(1e-4);
        assert!(
            e < 1e-4,
            "G^{layer}[{k},{j}]: EqProp {} vs FD {fd}",
            g[layer][(k, j)]
        );
    }
}
