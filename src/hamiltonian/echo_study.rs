//! The echo's verification study (docs/HAMILTONIAN.md §8.3): error against the explicit adjoint
//! as a function of η and of depth, in f64 and f32, next to the forward map's own error growth;
//! and the comparison with the steady-state (EqProp) gradient where both problems share the
//! forward solution.

use super::backprop::adjoint_gradient;
use super::echo::{cast, flat, to_f64, EchoNet, Gradient, Layers};
use super::steady::steady_gradients;
use super::{error_curve, ErrorCurve};
use crate::eqprop::{cosine, loglog_slope, relative_error};
use crate::error::Result;
use crate::model::FhnParams;
use crate::network::State;
use crate::real::Real;
use faer::Mat;
use rand::{Rng, SeedableRng};
use serde::Serialize;

/// What the study runs on.
#[derive(Clone, Debug, Serialize)]
pub struct StudyConfig {
    /// Width m.
    pub width: usize,
    /// Largest depth of the sweep.
    pub max_depth: usize,
    /// Depth of the η sweep.
    pub eta_depth: usize,
    /// FHN parameters (Parra-Rivas δ, ε, α, β).
    pub fhn: [f64; 4],
    /// Couplings uniform in ±c/√m.
    pub coupling: f64,
    /// Initial activators uniform in ±gain (momenta and inhibitors a quarter of it).
    pub input_gain: f64,
    /// Examples in the batch.
    pub batch: usize,
    /// η of the depth sweep in f64 and in f32.
    pub eta: [f64; 2],
    /// Seed.
    pub seed: u64,
}

/// Error of the echo at one η (f64, depth `eta_depth`).
#[derive(Clone, Debug, Serialize)]
pub struct EtaRow {
    /// η.
    pub eta: f64,
    /// ‖g_echo − g_adjoint‖/‖g_adjoint‖, one-sided echo.
    pub one_sided: f64,
    /// The same, centered echo.
    pub centered: f64,
}

/// Echo against adjoint at one depth.
#[derive(Clone, Debug, Serialize)]
pub struct DepthRow {
    /// Depth N.
    pub depth: usize,
    /// Relative error of the centered echo in f64 (`None`: a pass was not finite — the forward
    /// pass when `max_u` is `None` too, otherwise the echo's reversed pass).
    pub f64_error: Option<f64>,
    /// Its cosine with the adjoint.
    pub f64_cosine: Option<f64>,
    /// Relative error of the centered echo run entirely in f32 (`None`: an f32 pass was not
    /// finite).
    pub f32_error: Option<f64>,
    /// Its cosine with the adjoint.
    pub f32_cosine: Option<f64>,
    /// max |u| over the forward pass (`None`: the forward pass escaped).
    pub max_u: Option<f64>,
}

/// The steady-state comparison (one example, quadratic cost on layer N).
#[derive(Clone, Debug, Serialize)]
pub struct SteadyRow {
    /// Width and depth of the small network it runs on.
    pub shape: [usize; 2],
    /// max |u_forward − u_steady| over all layers (forward pass started from the steady
    /// state's layers 0 and 1).
    pub forward_vs_steady: f64,
    /// Relative error of centered EqProp against the implicit gradient of the steady state.
    pub eqprop_vs_implicit: f64,
    /// Cosine of the echo (initial-value) gradient with the adjoint.
    pub echo_vs_adjoint_cosine: f64,
    /// Per coupling layer: cosine of the initial-value gradient with the steady-state one.
    pub ivp_vs_steady_cosine: Vec<f64>,
}

/// Everything `fhn hamiltonian echo` reports.
#[derive(Clone, Debug, Serialize)]
pub struct EchoReport {
    /// The configuration.
    pub config: StudyConfig,
    /// η sweep.
    pub eta_rows: Vec<EtaRow>,
    /// Fitted log–log slopes of the one-sided and centered errors (expected 1 and 2).
    pub slopes: [f64; 2],
    /// Depth sweep.
    pub depth_rows: Vec<DepthRow>,
    /// Growth of the f64 echo's error with depth (fit over depths; faithful: error ≤ 1e-3).
    pub echo_f64: ErrorCurve,
    /// The same for the f32 echo.
    pub echo_f32: ErrorCurve,
    /// The forward map's own growth: per layer, |u_f32 − u_f64| of the deepest forward pass
    /// that stays finite in both precisions.
    pub forward_f32: ErrorCurve,
    /// The steady-state comparison.
    pub steady: SteadyRow,
}

type Inputs = [Mat<f64>; 4];

fn random(rows: usize, cols: usize, s: f64, rng: &mut impl Rng) -> Mat<f64> {
    Mat::from_fn(rows, cols, |_, _| s * (2.0 * rng.gen::<f64>() - 1.0))
}

/// Centered or one-sided echo gradient in precision `T` for the loss ½‖u^N − y‖².
fn echo_in<T: Real>(
    net: &EchoNet,
    x: &Inputs,
    y: &Mat<f64>,
    eta: f64,
    centered: bool,
) -> Result<Gradient> {
    let fwd: Layers<T> = net.forward(&cast(&x[0]), &cast(&x[1]), &cast(&x[2]), &cast(&x[3]))?;
    let dl = cast::<T>(&(to_f64(fwd.u.last().expect("layer N")) - y));
    let plus = net.echo(&fwd, &dl, eta)?;
    let minus = if centered {
        Some(net.echo(&fwd, &dl, -eta)?)
    } else {
        None
    };
    Ok(net.echo_gradient(&fwd, &plus, minus.as_ref(), eta))
}

fn exact(net: &EchoNet, x: &Inputs, y: &Mat<f64>) -> Result<(Vec<f64>, Layers<f64>)> {
    let fwd = net.forward(&x[0], &x[1], &x[2], &x[3])?;
    let dl = fwd.u.last().expect("layer N") - y;
    Ok((adjoint_gradient(net, &fwd, &dl)?.flat(), fwd))
}

/// Runs the study.
pub fn echo_study(cfg: &StudyConfig) -> Result<EchoReport> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(cfg.seed);
    let (m, gain) = (cfg.width, cfg.input_gain);
    let g = cfg.coupling / (m as f64).sqrt();
    let all: Vec<Mat<f64>> = (0..cfg.max_depth.max(cfg.eta_depth))
        .map(|_| random(m, m, g, &mut rng))
        .collect();
    let x: Inputs =
        [gain, gain / 4.0, gain / 4.0, gain / 40.0].map(|s| random(m, cfg.batch, s, &mut rng));
    let y = random(m, cfg.batch, 0.5, &mut rng);
    let [delta, eps, alpha, beta] = cfg.fhn;
    let params = FhnParams::parra_rivas(delta, eps, alpha, beta);
    let net_at = |d: usize| EchoNet::new(params, all[..d].to_vec());

    let net = net_at(cfg.eta_depth)?;
    let (reference, _) = exact(&net, &x, &y)?;
    let eta_rows: Vec<EtaRow> = [1e-1, 3e-2, 1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 3e-5, 1e-5]
        .iter()
        .map(|&eta| -> Result<EtaRow> {
            let err = |c: bool| {
                echo_in::<f64>(&net, &x, &y, eta, c).map(|g| relative_error(&g.flat(), &reference))
            };
            Ok(EtaRow {
                eta,
                one_sided: err(false)?,
                centered: err(true)?,
            })
        })
        .collect::<Result<_>>()?;
    // Slopes on the truncation-dominated part (η ≥ 1e-3).
    let fit: Vec<&EtaRow> = eta_rows.iter().filter(|r| r.eta >= 1e-3).collect();
    let etas: Vec<f64> = fit.iter().map(|r| r.eta).collect();
    let slopes = [
        loglog_slope(&etas, &fit.iter().map(|r| r.one_sided).collect::<Vec<_>>()),
        loglog_slope(&etas, &fit.iter().map(|r| r.centered).collect::<Vec<_>>()),
    ];

    let mut depth_rows = Vec::new();
    for d in 1..=cfg.max_depth {
        let net = net_at(d)?;
        let row = match exact(&net, &x, &y) {
            Ok((reference, fwd)) => {
                let measure = |g: Result<Gradient>| {
                    g.ok().map(|g| {
                        (
                            relative_error(&g.flat(), &reference),
                            cosine(&g.flat(), &reference),
                        )
                    })
                };
                let e64 = measure(echo_in::<f64>(&net, &x, &y, cfg.eta[0], true));
                let e32 = measure(echo_in::<f32>(&net, &x, &y, cfg.eta[1], true));
                DepthRow {
                    depth: d,
                    f64_error: e64.map(|e| e.0),
                    f64_cosine: e64.map(|e| e.1),
                    f32_error: e32.map(|e| e.0),
                    f32_cosine: e32.map(|e| e.1),
                    max_u: Some(fwd.u.iter().map(|l| l.norm_max()).fold(0.0, f64::max)),
                }
            }
            Err(_) => DepthRow {
                depth: d,
                f64_error: None,
                f64_cosine: None,
                f32_error: None,
                f32_cosine: None,
                max_u: None,
            },
        };
        depth_rows.push(row);
    }
    let curve = |f: fn(&DepthRow) -> Option<f64>| {
        let e: Vec<Vec<f64>> = depth_rows
            .iter()
            .map(|r| vec![f(r).unwrap_or(f64::INFINITY)])
            .collect();
        error_curve(&e, &vec![vec![0.0]; e.len()])
    };
    let (echo_f64, echo_f32) = (curve(|r| r.f64_error), curve(|r| r.f32_error));
    // The forward map's own f32 error growth, on the deepest network whose pass stays finite.
    let deepest = depth_rows
        .iter()
        .rev()
        .find(|r| r.f32_error.is_some())
        .map_or(1, |r| r.depth);
    let net = net_at(deepest)?;
    let forward_f32 =
        match net.forward::<f32>(&cast(&x[0]), &cast(&x[1]), &cast(&x[2]), &cast(&x[3])) {
            Ok(b) => {
                let a = net.forward(&x[0], &x[1], &x[2], &x[3])?;
                error_curve(
                    &b.u.iter().map(|u| flat(&to_f64(u))).collect::<Vec<_>>(),
                    &a.u.iter().map(flat).collect::<Vec<_>>(),
                )
            }
            Err(_) => error_curve(&[vec![f64::INFINITY]], &[vec![0.0]]),
        };
    Ok(EchoReport {
        config: cfg.clone(),
        eta_rows,
        slopes,
        depth_rows,
        echo_f64,
        echo_f32,
        forward_f32,
        steady: steady_row(params, cfg.seed)?,
    })
}

/// The steady-state comparison on a width-4, depth-5 network.
fn steady_row(params: FhnParams, seed: u64) -> Result<SteadyRow> {
    let (m, n) = (4, 5);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ 0xbead);
    let net = EchoNet::new(
        params,
        (0..n).map(|_| random(m, m, 0.2, &mut rng)).collect(),
    )?;
    let u0: Vec<f64> = (0..m)
        .map(|_| 0.3 * (2.0 * rng.gen::<f64>() - 1.0))
        .collect();
    let v0 = vec![0.0; m];
    let y: Vec<f64> = (0..m)
        .map(|_| 0.5 * (2.0 * rng.gen::<f64>() - 1.0))
        .collect();
    let guess = State {
        u: (0..=n).flat_map(|_| u0.clone()).collect(),
        v: vec![0.0; (n + 1) * m],
    };
    let st = steady_gradients(&net, (&u0, &v0), guess, |_| y.clone(), 1e-4)?;
    let col = |s: &[f64], i: usize| Mat::from_fn(m, 1, |k, _| s[i * m + k]);
    let (uu, vv) = (col(&st.state.u, 0), col(&st.state.v, 0));
    let p0 = col(&st.state.u, 1) - &uu;
    let q0 = col(&st.state.v, 1) - &vv;
    let x: Inputs = [uu, vv, p0, q0];
    let ymat = Mat::from_fn(m, 1, |k, _| y[k]);
    let (reference, fwd) = exact(&net, &x, &ymat)?;
    let forward_vs_steady = (0..=n)
        .map(|i| (&fwd.u[i] - col(&st.state.u, i)).norm_max())
        .fold(0.0, f64::max);
    let echo = echo_in::<f64>(&net, &x, &ymat, 1e-4, true)?;
    let flat_all = |g: &[Mat<f64>]| g.iter().flat_map(flat).collect::<Vec<f64>>();
    let ivp = adjoint_gradient(&net, &fwd, &(&fwd.u[n] - &ymat))?;
    Ok(SteadyRow {
        shape: [m, n],
        forward_vs_steady,
        eqprop_vs_implicit: relative_error(&flat_all(&st.eqprop), &flat_all(&st.implicit)),
        echo_vs_adjoint_cosine: cosine(&echo.flat(), &reference),
        ivp_vs_steady_cosine: ivp
            .coupling
            .iter()
            .zip(&st.implicit)
            .map(|(a, b)| cosine(&flat(a), &flat(b)))
            .collect(),
    })
}
