//! Scale of the graph solvers: Euler time stepping on a sparse 10⁵-node graph (no dense n×n
//! matrix anywhere) and sparse-LU Newton on a 10⁴-node grid graph. Run: `cargo bench --bench physics`.

use fhn_eqprop::graph::Graph;
use fhn_eqprop::model::FhnParams;
use fhn_eqprop::network::FhnNetwork;
use fhn_eqprop::solvers::{euler, newton};
use rand::SeedableRng;
use std::time::Instant;

fn network(g1: Graph, g2: Graph) -> FhnNetwork {
    let n = g1.n;
    let cur = (0..n).map(|i| 0.2 * ((i as f64) * 0.37).sin()).collect();
    FhnNetwork::new(FhnParams::table1(), g1, g2, cur, vec![]).expect("network")
}

fn random(n: usize, seed: u64) -> FhnNetwork {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let g1 = Graph::random_connected(n, n, 0.0, &mut rng);
    let g2 = Graph::random_connected(n, n / 2, 0.0, &mut rng);
    network(g1, g2)
}

/// A side × side grid graph (4-neighbour lattice, unit conductances): sparse with good
/// separators, the structure sparse direct solvers are built for. (Random graphs with
/// long-range edges have no small separators and fill in almost completely.)
fn grid(side: usize) -> FhnNetwork {
    let mut edges = Vec::new();
    for r in 0..side {
        for c in 0..side {
            let i = r * side + c;
            if c + 1 < side {
                edges.push(fhn_eqprop::graph::Edge {
                    a: i,
                    b: i + 1,
                    g: 1.0,
                });
            }
            if r + 1 < side {
                edges.push(fhn_eqprop::graph::Edge {
                    a: i,
                    b: i + side,
                    g: 1.0,
                });
            }
        }
    }
    let g = Graph::new(side * side, edges).expect("grid");
    network(g.clone(), g)
}

fn main() {
    let n = 100_000;
    let net = random(n, 1);
    let mut s = net.initial_state();
    euler(&net, &mut s, None, 0.1, 10).expect("warm-up");
    let steps = 200;
    let t = Instant::now();
    let r = euler(&net, &mut s, None, 0.1, steps).expect("euler");
    let secs = t.elapsed().as_secs_f64();
    let nnz = net.activator.laplacian().nnz() + net.inhibitor.laplacian().nnz();
    // Per step: CSR values + column indices (16 B per stored entry), row pointers, and the
    // state, velocity and current vectors (~ 10 vectors of n f64).
    let bytes = (16 * nnz + 16 * n + 80 * n) as f64;
    println!(
        "Euler, {n} nodes, {nnz} Laplacian entries: {:.2} ms/step, {:.1} ns per node-step, ~{:.1} GB/s streamed (residual {:.2e} after {steps} steps)",
        1e3 * secs / steps as f64,
        1e9 * secs / (steps * n) as f64,
        bytes * steps as f64 / secs / 1e9,
        r.residual
    );
    let n = 10_000;
    let net = grid(100);
    let mut s = net.initial_state();
    let t = Instant::now();
    euler(&net, &mut s, None, 0.1, 300).expect("guess");
    let guess = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let rep = newton(&net, &mut s, None, 1e-12, 30).expect("newton");
    println!(
        "Newton (sparse LU), 100 × 100 grid graph, {n} nodes: {} iterations, residual {:.2e}, {:.2} s (after a {:.2} s Euler guess)",
        rep.steps,
        rep.residual,
        t.elapsed().as_secs_f64(),
        guess
    );
}
