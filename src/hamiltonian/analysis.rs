//! The experiments of `fhn hamiltonian`: steady state by time simulation, Newton polishing by
//! the block sweep, forward recursions in f64 and f32, error growth, cost comparison.

use super::ebm::DeepEbm;
use super::resnet::ResNet;
use super::{error_curve, multipliers, ErrorCurve, Multipliers};
use crate::error::Result;
use crate::model::FhnParams;
use crate::network::State;
use crate::solvers::{dopri45, AdaptiveOptions};
use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::time::Instant;

/// Cost of reaching a residual by one method.
#[derive(Clone, Debug, Serialize)]
pub struct Cost {
    /// Method.
    pub method: String,
    /// Residual reached.
    pub residual: f64,
    /// Steps or iterations.
    pub steps: usize,
    /// Wall time (s).
    pub seconds: f64,
    /// Estimated floating-point operations.
    pub flops: f64,
}

/// Result of `fhn hamiltonian fhn-resnet`.
#[derive(Clone, Debug, Serialize)]
pub struct ResNetReport {
    /// Width m.
    pub width: usize,
    /// Depth n.
    pub depth: usize,
    /// δ (d_u = δ²).
    pub delta: f64,
    /// Transverse coupling strength.
    pub coupling: f64,
    /// Residual after time simulation.
    pub residual_time_simulation: f64,
    /// Residual after block-sweep Newton polishing.
    pub residual_polished: f64,
    /// Activator of neuron 0 along depth (steady state).
    pub neuron0_steady: Vec<f64>,
    /// Activator of neuron 0 along depth (f64 recursion).
    pub neuron0_recursed: Vec<f64>,
    /// Error of layer 2 (the first layer the recursion computes) in f64.
    pub first_computed_layer_error: f64,
    /// Recursion errors in f64.
    pub f64_errors: ErrorCurve,
    /// Recursion errors in f32.
    pub f32_errors: ErrorCurve,
    /// Largest |multiplier| of the linearised layer map at the homogeneous state.
    pub max_multiplier_homogeneous: f64,
    /// Multipliers of the linearised layer map at the homogeneous state (incl. log10|det|).
    pub layer_map_homogeneous: Multipliers,
    /// Discrete Hamiltonian H_i along depth (meaningful for coupling 0).
    pub hamiltonian: Vec<f64>,
    /// max_i |H_i − H_1|.
    pub hamiltonian_drift: f64,
    /// Costs to residual 1e-10: time stepping vs block Newton.
    pub costs: Vec<Cost>,
}

fn dopri_flops(nnz: usize, n: usize, steps: usize) -> f64 {
    // 6 stages per step: two sparse mat-vecs (2 FLOPs per entry) and ~30 element-wise FLOPs
    // per node (stage sums, reaction terms, error estimate).
    steps as f64 * 6.0 * (2.0 * nnz as f64 + 30.0 * n as f64)
}

fn block_newton_flops(blocks: usize, b: usize, iters: usize) -> f64 {
    // Per block: LU (2/3 b³), S⁻¹C (2 b³), A·(S⁻¹C) (2 b³).
    iters as f64 * blocks as f64 * (2.0 / 3.0 + 4.0) * (b as f64).powi(3)
}

/// Runs the residual-network experiment.
pub fn resnet_experiment(
    width: usize,
    depth: usize,
    delta: f64,
    coupling: f64,
    seed: u64,
) -> Result<ResNetReport> {
    let params = FhnParams::parra_rivas(delta, 0.85, 1.08, 0.0);
    let rn = ResNet::transverse(width, depth, params, coupling)?;
    let net = rn.as_graph()?;
    let (u0, v0) = params
        .homogeneous_states()
        .into_iter()
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .expect("a state");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut init = net.initial_state();
    for &i in net.free_nodes() {
        init.u[i] = u0 + 1e-3 * rng.gen_range(-1.0..1.0);
        init.v[i] = v0;
    }
    let opts = |stop: f64| AdaptiveOptions {
        rtol: 1e-7,
        atol: 1e-10,
        stop_residual: stop,
        max_steps: 2_000_000,
    };
    let mut s = init.clone();
    let sim = dopri45(&net, &mut s, None, 20_000.0, opts(1e-6), |_, _| {})?;
    let polish = rn.newton_block(&net, &mut s, 1e-12, 30)?;
    let reference: Vec<Vec<f64>> = (0..depth).map(|i| cat(rn.layer(&s, i))).collect();
    let rec64 = rn.recurse::<f64>(&s);
    let rec32 = rn.recurse::<f32>(&s);
    let f64_errors = error_curve(
        &rec64.iter().map(|l| cat(l.clone())).collect::<Vec<_>>(),
        &reference,
    );
    let f32_errors = error_curve(
        &rec32.iter().map(|l| cat(l.clone())).collect::<Vec<_>>(),
        &reference,
    );
    // Linearised layer map at the homogeneous state: (u^i, v^i, u^{i+1}, v^{i+1}) ↦ next pair.
    let small = ResNet {
        depth: 3,
        coupling: rn.coupling[..2.min(rn.coupling.len())].to_vec(),
        ..rn.clone()
    };
    let small = if small.coupling.len() < 2 {
        ResNet {
            coupling: vec![small.coupling[0].clone(); 2],
            ..small
        }
    } else {
        small
    };
    let map = |x: &[f64]| {
        let m = width;
        let mut st = State::zeros(3 * m + 1);
        for k in 0..m {
            st.u[k] = x[k];
            st.v[k] = x[m + k];
            st.u[m + k] = x[2 * m + k];
            st.v[m + k] = x[3 * m + k];
        }
        let out = small.recurse::<f64>(&st);
        [
            out[1].0.clone(),
            out[1].1.clone(),
            out[2].0.clone(),
            out[2].1.clone(),
        ]
        .concat()
    };
    let x0: Vec<f64> = [
        vec![u0; width],
        vec![v0; width],
        vec![u0; width],
        vec![v0; width],
    ]
    .concat();
    let layer_map_homogeneous = multipliers(map, &x0);
    let max_multiplier_homogeneous = layer_map_homogeneous.max_abs;
    let hamiltonian = rn.hamiltonian(&s);
    let h1 = hamiltonian.first().copied().unwrap_or(0.0);
    let hamiltonian_drift = hamiltonian
        .iter()
        .fold(0.0f64, |m, h| m.max((h - h1).abs()));
    // Cost to residual 1e-10 from the same noisy start.
    let nnz = net.activator.laplacian().nnz() + net.inhibitor.laplacian().nnz();
    let mut a = init.clone();
    let t = Instant::now();
    let r = dopri45(&net, &mut a, None, 20_000.0, opts(1e-10), |_, _| {})?;
    let stepping = Cost {
        method: "Dormand–Prince time stepping".into(),
        residual: r.residual,
        steps: r.steps,
        seconds: t.elapsed().as_secs_f64(),
        flops: dopri_flops(nnz, net.n(), r.steps),
    };
    let mut b = init.clone();
    let t = Instant::now();
    let g = dopri45(&net, &mut b, None, 20_000.0, opts(1e-2), |_, _| {})?;
    let nw = rn.newton_block(&net, &mut b, 1e-10, 50)?;
    let newton = Cost {
        method: "time stepping to 1e-2, then block-sweep Newton".into(),
        residual: nw.residual,
        steps: g.steps + nw.steps,
        seconds: t.elapsed().as_secs_f64(),
        flops: dopri_flops(nnz, net.n(), g.steps) + block_newton_flops(depth, 2 * width, nw.steps),
    };
    let pick = |l: &[(Vec<f64>, Vec<f64>)]| l.iter().map(|x| x.0[0]).collect::<Vec<_>>();
    Ok(ResNetReport {
        width,
        depth,
        delta,
        coupling,
        residual_time_simulation: sim.residual,
        residual_polished: polish.residual,
        neuron0_steady: (0..depth).map(|i| s.u[i * width]).collect(),
        neuron0_recursed: pick(&rec64),
        first_computed_layer_error: f64_errors.per_layer.get(2).copied().unwrap_or(0.0),
        f64_errors,
        f32_errors,
        max_multiplier_homogeneous,
        layer_map_homogeneous,
        hamiltonian,
        hamiltonian_drift,
        costs: vec![stepping, newton],
    })
}

fn cat((u, v): (Vec<f64>, Vec<f64>)) -> Vec<f64> {
    [u, v].concat()
}

/// Result of `fhn hamiltonian ebm`.
#[derive(Clone, Debug, Serialize)]
pub struct EbmReport {
    /// Width m.
    pub width: usize,
    /// Weight layers L.
    pub depth: usize,
    /// Weight gain.
    pub gain: f64,
    /// ‖∂E/∂v‖∞ after time simulation.
    pub residual_time_simulation: f64,
    /// ‖∂E/∂v‖∞ after block-sweep Newton.
    pub residual_polished: f64,
    /// Unit 0 along depth, steady state.
    pub unit0_steady: Vec<f64>,
    /// Unit 0 along depth, f64 recursion.
    pub unit0_recursed: Vec<f64>,
    /// Recursion errors in f64.
    pub f64_errors: ErrorCurve,
    /// Recursion errors in f32.
    pub f32_errors: ErrorCurve,
    /// Largest |multiplier| of the linearised layer map at the middle layer.
    pub max_multiplier_middle: f64,
    /// Multipliers of the linearised layer map at the middle layer (incl. log10|det|).
    pub layer_map_middle: Multipliers,
    /// Costs to residual 1e-10: gradient descent vs block Newton.
    pub costs: Vec<Cost>,
}

/// Runs the deep-EBM experiment.
pub fn ebm_experiment(width: usize, depth: usize, gain: f64, seed: u64) -> Result<EbmReport> {
    let e = DeepEbm::random(width, depth, gain, seed)?;
    let norm = |v: &[Vec<f64>]| e.gradient_v(v).iter().fold(0.0f64, |a, x| a.max(x.abs()));
    let t = Instant::now();
    let (mut v, mut steps) = (e.simulate(0.5, 200), 200usize);
    while norm(&v) > 1e-10 && steps < 200_000 {
        steps *= 2;
        v = e.simulate(0.5, steps);
    }
    let stepping = Cost {
        method: "gradient descent in u, step 0.5".into(),
        residual: norm(&v),
        steps,
        seconds: t.elapsed().as_secs_f64(),
        flops: steps as f64 * depth as f64 * (4.0 * (width * width) as f64 + 20.0 * width as f64),
    };
    let residual_time_simulation = norm(&v);
    let mut w = e.simulate(0.5, 10);
    let t = Instant::now();
    let (it, r) = e.newton_block(&mut w, 1e-10, 50)?;
    let newton = Cost {
        method: "10 descent steps, then block-sweep Newton".into(),
        residual: r,
        steps: 10 + it,
        seconds: t.elapsed().as_secs_f64(),
        flops: 10.0 * depth as f64 * 4.0 * (width * width) as f64
            + block_newton_flops(depth, width, it),
    };
    let (_, polished) = e.newton_block(&mut v, 1e-12, 30)?;
    let rec64 = e.recurse::<f64>(&v);
    let rec32 = e.recurse::<f32>(&v);
    let mid = depth / 2;
    let sub = DeepEbm {
        width,
        weights: vec![e.weights[mid - 1].clone(), e.weights[mid].clone()],
        bias: vec![e.bias[mid - 1].clone(), e.bias[mid].clone()],
        input: v[mid - 1].clone(),
    };
    let map = |x: &[f64]| {
        let layers = vec![x[..width].to_vec(), x[width..].to_vec(), vec![0.5; width]];
        let out = sub.recurse::<f64>(&layers);
        [out[1].clone(), out[2].clone()].concat()
    };
    let x0 = [v[mid - 1].clone(), v[mid].clone()].concat();
    let layer_map_middle = multipliers(map, &x0);
    Ok(EbmReport {
        width,
        depth,
        gain,
        residual_time_simulation,
        residual_polished: polished,
        unit0_steady: v.iter().map(|l| l[0]).collect(),
        unit0_recursed: rec64.iter().map(|l| l[0]).collect(),
        f64_errors: error_curve(&rec64, &v),
        f32_errors: error_curve(&rec32, &v),
        max_multiplier_middle: layer_map_middle.max_abs,
        layer_map_middle,
        costs: vec![stepping, newton],
    })
}
