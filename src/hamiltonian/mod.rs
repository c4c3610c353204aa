//! Hamiltonian (layer-wise) inference: forward recursions in depth for the deep residual FHN
//! network and the deep EBM, their error growth, and the stable block-tridiagonal solver
//! (docs/HAMILTONIAN.md).

pub mod analysis;
pub mod backprop;
pub mod blocktri;
pub mod ebm;
pub mod echo;
pub mod echo_io;
pub mod echo_model;
pub mod echo_study;
pub mod echo_train;
pub mod resnet;
pub mod steady;
pub mod steady_train;

use faer::Mat;
use serde::Serialize;

/// Multipliers of a map ℝᵈ → ℝᵈ at `x0`: eigenvalues of its Jacobian (central differences,
/// step 1e-6).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Multipliers {
    /// Largest |eigenvalue|.
    pub max_abs: f64,
    /// Σ log10 |eigenvalue| = log10 |det J|: 0 for a volume-preserving (symplectic) map.
    pub log10_abs_det: f64,
}

/// The [`Multipliers`] of `map` at `x0`.
pub fn multipliers(map: impl Fn(&[f64]) -> Vec<f64>, x0: &[f64]) -> Multipliers {
    let d = x0.len();
    let mut j = Mat::<f64>::zeros(d, d);
    for c in 0..d {
        let (mut xp, mut xm) = (x0.to_vec(), x0.to_vec());
        xp[c] += 1e-6;
        xm[c] -= 1e-6;
        let (yp, ym) = (map(&xp), map(&xm));
        for r in 0..d {
            j[(r, c)] = (yp[r] - ym[r]) / 2e-6;
        }
    }
    match j.eigenvalues() {
        Ok(ev) => Multipliers {
            max_abs: ev.iter().map(|z| z.norm()).fold(0.0, f64::max),
            log10_abs_det: ev.iter().map(|z| z.norm().log10()).sum(),
        },
        Err(_) => Multipliers {
            max_abs: f64::NAN,
            log10_abs_det: f64::NAN,
        },
    }
}

/// Per-layer error of a recursion against the reference, with the derived figures.
#[derive(Clone, Debug, Serialize)]
pub struct ErrorCurve {
    /// max_k |x_rec − x_ref| per layer (∞ once non-finite).
    pub per_layer: Vec<f64>,
    /// Layers reproduced within 1e-3 before the first larger error.
    pub faithful_depth: usize,
    /// Per-layer growth factor fitted on the layers with 1e-13 < error < 1e-3 (`None` when
    /// fewer than 3 such layers: nothing to fit).
    pub growth_factor: Option<f64>,
    /// How many layers the growth factor was fitted on.
    pub fitted_layers: usize,
}

/// Compares recursed layers with reference layers (same shapes).
pub fn error_curve(recursed: &[Vec<f64>], reference: &[Vec<f64>]) -> ErrorCurve {
    let per_layer: Vec<f64> = recursed
        .iter()
        .zip(reference)
        .map(|(a, b)| {
            let e = a
                .iter()
                .zip(b)
                .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
            if e.is_finite() && a.iter().all(|x| x.is_finite()) {
                e
            } else {
                f64::INFINITY
            }
        })
        .collect();
    let faithful_depth = per_layer
        .iter()
        .position(|&e| e.is_nan() || e > 1e-3)
        .unwrap_or(per_layer.len());
    let pts: Vec<(f64, f64)> = per_layer
        .iter()
        .enumerate()
        .take(faithful_depth)
        .filter(|(_, &e)| e > 1e-13 && e < 1e-3)
        .map(|(i, &e)| (i as f64, e.log10()))
        .collect();
    let growth_factor = if pts.len() < 3 {
        None
    } else {
        let n = pts.len() as f64;
        let (mx, my) = (
            pts.iter().map(|p| p.0).sum::<f64>() / n,
            pts.iter().map(|p| p.1).sum::<f64>() / n,
        );
        let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
        Some(10f64.powf(sxy / sxx))
    };
    ErrorCurve {
        per_layer,
        faithful_depth,
        growth_factor,
        fitted_layers: pts.len(),
    }
}

#[cfg(test)]
mod echo_tests;
