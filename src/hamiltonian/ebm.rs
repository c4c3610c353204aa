//! Deep energy-based model (paper §IV.B): the Scellier–Bengio energy with logistic ρ,
//! constant width m, square weights, in the variables v = ρ(u).
//!
//! `E = ½Σu² − Σ_l v^{lT} W^l v^{l+1} − Σ bᵀv` (W^l: rows layer l, columns layer l+1). With
//! `f(v) = ρ⁻¹(v)/ρ'(ρ⁻¹(v)) − b = logit(v)/(v(1 − v)) − b`, the steady state solves, for
//! layers l = 1..L (layer 0 clamped, no W^L):
//!
//! ```text
//! ∂E/∂v^l = f(v^l) − W^{l−1,T} v^{l−1} − W^l v^{l+1} = 0
//! W^{l+1} p^{l+1} = f(v^{l+1}) + W^{lT} p^l − (W^{lT} + W^{l+1}) v^{l+1},  p^l = v^{l+1} − v^l
//! ```
//! the second line being the paper's recursion (M = (W^{l+1})⁻¹, N = M W^{lT}).

use super::blocktri::BlockTridiagonal;
use crate::error::{Error, Result};
use crate::layered::Real;
use faer::prelude::*;
use faer::Mat;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

/// A deep EBM of constant width.
#[derive(Clone, Debug)]
pub struct DeepEbm {
    /// Width m.
    pub width: usize,
    /// W^0 … W^{L−1} (m × m).
    pub weights: Vec<Mat<f64>>,
    /// Biases of layers 1..=L.
    pub bias: Vec<Vec<f64>>,
    /// Clamped input layer v⁰ ∈ (0, 1).
    pub input: Vec<f64>,
}

fn logistic(u: f64) -> f64 {
    1.0 / (1.0 + (-u).exp())
}

impl DeepEbm {
    /// Random weights N(0, gain²/m), biases N(0, 0.1²), input uniform in (0.1, 0.9).
    pub fn random(width: usize, depth: usize, gain: f64, seed: u64) -> Result<Self> {
        if width == 0 || depth < 2 {
            return Err(Error::Invalid(format!(
                "need width ≥ 1 and depth ≥ 2, got {width} × {depth}"
            )));
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let s = gain / (width as f64).sqrt();
        let weights: Vec<Mat<f64>> = (0..depth)
            .map(|_| {
                Mat::from_fn(width, width, |_, _| {
                    s * rng.sample::<f64, _>(StandardNormal)
                })
            })
            .collect();
        for (l, w) in weights.iter().enumerate() {
            let inv = w.partial_piv_lu().solve(Mat::<f64>::identity(width, width));
            if !(w.norm_max() * inv.norm_max()).is_finite() {
                return Err(Error::Invalid(format!("W^{l} is not invertible")));
            }
        }
        let bias = (0..depth)
            .map(|_| {
                (0..width)
                    .map(|_| 0.1 * rng.sample::<f64, _>(StandardNormal))
                    .collect()
            })
            .collect();
        let input = (0..width).map(|_| rng.gen_range(0.1..0.9)).collect();
        Ok(Self {
            width,
            weights,
            bias,
            input,
        })
    }

    /// Number of weight layers L (layers 0..=L).
    pub fn depth(&self) -> usize {
        self.weights.len()
    }

    fn f(&self, l: usize, v: f64, k: usize) -> f64 {
        (v / (1.0 - v)).ln() / (v * (1.0 - v)) - self.bias[l - 1][k]
    }

    fn df(v: f64) -> f64 {
        let w = v * (1.0 - v);
        (1.0 - (v / (1.0 - v)).ln() * (1.0 - 2.0 * v)) / (w * w)
    }

    /// ∂E/∂v^l for l = 1..=L (concatenated); `v[0]` is the input.
    pub fn gradient_v(&self, v: &[Vec<f64>]) -> Vec<f64> {
        let (m, depth) = (self.width, self.depth());
        let mut g = Vec::with_capacity(m * depth);
        for l in 1..=depth {
            for k in 0..m {
                let mut x = self.f(l, v[l][k], k);
                for j in 0..m {
                    x -= self.weights[l - 1][(j, k)] * v[l - 1][j];
                    if l < depth {
                        x -= self.weights[l][(k, j)] * v[l + 1][j];
                    }
                }
                g.push(x);
            }
        }
        g
    }

    /// Gradient descent in u (`u ← u − dt ∂E/∂u`, ∂E/∂u = ρ'(u) ∂E/∂v) for `steps` steps from
    /// u = 0; returns v = ρ(u) per layer (input first).
    pub fn simulate(&self, dt: f64, steps: usize) -> Vec<Vec<f64>> {
        let (m, depth) = (self.width, self.depth());
        let mut u = vec![vec![0.0; m]; depth + 1];
        let mut v: Vec<Vec<f64>> = (0..=depth)
            .map(|l| {
                if l == 0 {
                    self.input.clone()
                } else {
                    vec![0.5; m]
                }
            })
            .collect();
        for _ in 0..steps {
            let g = self.gradient_v(&v);
            for l in 1..=depth {
                for k in 0..m {
                    let vk = v[l][k];
                    u[l][k] -= dt * vk * (1.0 - vk) * g[(l - 1) * m + k];
                    v[l][k] = logistic(u[l][k]);
                }
            }
        }
        v
    }

    /// Newton polishing in v with the block-tridiagonal sweep; returns the residual ‖∂E/∂v‖∞.
    pub fn newton_block(
        &self,
        v: &mut [Vec<f64>],
        tol: f64,
        max_iter: usize,
    ) -> Result<(usize, f64)> {
        let (m, depth) = (self.width, self.depth());
        let norm = |g: &[f64]| g.iter().fold(0.0f64, |a, x| a.max(x.abs()));
        let mut res = norm(&self.gradient_v(v));
        for it in 0..max_iter {
            if res <= tol {
                return Ok((it, res));
            }
            let mut h = BlockTridiagonal::zeros(depth, m);
            for l in 1..=depth {
                let b = (l - 1) * m;
                for k in 0..m {
                    h.add(b + k, b + k, Self::df(v[l][k]));
                    if l < depth {
                        for j in 0..m {
                            h.add(b + k, b + m + j, -self.weights[l][(k, j)]);
                            h.add(b + m + j, b + k, -self.weights[l][(k, j)]);
                        }
                    }
                }
            }
            let step = h.solve(&self.gradient_v(v))?;
            let mut alpha = 1.0;
            loop {
                let mut trial: Vec<Vec<f64>> = v.to_vec();
                for l in 1..=depth {
                    for k in 0..m {
                        trial[l][k] =
                            (v[l][k] - alpha * step[(l - 1) * m + k]).clamp(1e-15, 1.0 - 1e-15);
                    }
                }
                let r = norm(&self.gradient_v(&trial));
                if r.is_finite() && (r < res || alpha < 1e-4) {
                    v.clone_from_slice(&trial);
                    res = r;
                    break;
                }
                alpha *= 0.5;
            }
        }
        if res <= tol {
            return Ok((max_iter, res));
        }
        Err(Error::NotConverged {
            what: "EBM Newton".into(),
            residual: res,
            iterations: max_iter,
            tol,
        })
    }

    /// The paper's forward recursion in precision `T` from (v⁰, p⁰ = v¹ − v⁰) of `v`.
    pub fn recurse<T: Real>(&self, v: &[Vec<f64>]) -> Vec<Vec<f64>> {
        let (m, depth) = (self.width, self.depth());
        let t = |x: f64| T::lit(x);
        let mut cur: Vec<T> = v[0].iter().map(|&x| t(x)).collect();
        let mut p: Vec<T> = v[1].iter().zip(&v[0]).map(|(a, b)| t(a - b)).collect();
        let mut out = vec![v[0].clone()];
        for l in 0..depth {
            for k in 0..m {
                cur[k] += p[k];
            }
            out.push(cur.iter().map(|x| x.as_f64()).collect());
            if l + 1 == depth {
                break;
            }
            // W^{l+1} p^{l+1} = f(v^{l+1}) + W^{lT} p^l − (W^{lT} + W^{l+1}) v^{l+1}.
            let (wl, wn) = (&self.weights[l], &self.weights[l + 1]);
            let rhs = Mat::<T>::from_fn(m, 1, |k, _| {
                let vk = cur[k];
                let f = (vk / (T::one() - vk)).ln() / (vk * (T::one() - vk)) - t(self.bias[l][k]);
                let mut x = f;
                for j in 0..m {
                    x += t(wl[(j, k)]) * (p[j] - cur[j]) - t(wn[(k, j)]) * cur[j];
                }
                x
            });
            let a = Mat::<T>::from_fn(m, m, |r, c| t(wn[(r, c)]));
            let pn = a.partial_piv_lu().solve(&rhs);
            for k in 0..m {
                p[k] = pn[(k, 0)];
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hamiltonian::error_curve;

    #[test]
    fn newton_polishes_and_recursion_matches_then_diverges() {
        let e = DeepEbm::random(8, 40, 1.5, 3).unwrap();
        let mut v = e.simulate(0.5, 20);
        let (_, r) = e.newton_block(&mut v, 1e-12, 50).unwrap();
        assert!(r <= 1e-12);
        // Gradient descent reaches the same state.
        let w = e.simulate(0.5, 4000);
        let d = v
            .iter()
            .flatten()
            .zip(w.iter().flatten())
            .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
        assert!(d < 1e-8, "descent and Newton differ by {d}");
        let curve = error_curve(&e.recurse::<f64>(&v), &v);
        assert!(curve.per_layer[2] < 1e-10, "{:?}", &curve.per_layer[..4]);
        assert!(
            curve.faithful_depth < 40,
            "recursion stayed faithful over all 40 layers"
        );
    }
}
