//! What a layered network is: its widths, its energy (FHN or Hopfield) and physics
//! parameters, and the choice of relaxation method.

use crate::error::{Error, Result};
use crate::model::FhnParams;
use serde::{Deserialize, Serialize};

/// Which energy function the layered network relaxes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Diffusive FitzHugh–Nagumo units (activator + inhibitor).
    Fhn,
    /// Scellier–Bengio Hopfield energy with hard-sigmoid ρ.
    Hopfield,
}

/// Architecture and physics of a layered network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayeredModel {
    /// Layer widths, input first.
    pub widths: Vec<usize>,
    /// Energy function.
    pub kind: Kind,
    /// FHN parameters (d_u scales the activator coupling, d_v the inhibitor coupling).
    /// ε = 0 switches the inhibitor off (v ≡ 0).
    pub fhn: FhnParams,
    /// Couple inhibitors through the same conductances.
    pub inhibitor_coupling: bool,
    /// Leak conductance to ground on every free activator (in units of G).
    pub leak: f64,
}

impl LayeredModel {
    /// Largest number of weights accepted (a copy in f32 is 4 GiB; training holds several).
    pub const MAX_WEIGHTS: usize = 1 << 30;

    /// Number of weight layers L.
    pub fn depth(&self) -> usize {
        self.widths.len() - 1
    }

    /// Validates widths and parameters.
    pub fn validate(&self) -> Result<()> {
        if self.widths.len() < 2 || self.widths.contains(&0) {
            return Err(Error::Invalid(format!(
                "widths must list ≥ 2 non-zero layers, got {:?}",
                self.widths
            )));
        }
        let weights = self
            .widths
            .windows(2)
            .try_fold(0usize, |acc, w| acc.checked_add(w[0].checked_mul(w[1])?));
        if weights.is_none_or(|n| n > Self::MAX_WEIGHTS) {
            return Err(Error::Invalid(format!(
                "widths {:?} need more than {} weights (4 GiB per f32 copy); refused before allocating",
                self.widths,
                Self::MAX_WEIGHTS
            )));
        }
        if self.kind == Kind::Fhn {
            let mut p = self.fhn;
            if p.eps == 0.0 {
                p.eps = 1.0; // inhibitor switched off: ε = 0 is allowed here
            }
            p.validate()?;
        }
        if !self.leak.is_finite() {
            return Err(Error::Invalid("leak must be finite".into()));
        }
        Ok(())
    }

    /// Whether the inhibitor is dynamic (FHN with ε ≠ 0).
    pub(crate) fn has_inhibitor(&self) -> bool {
        self.kind == Kind::Fhn && self.fhn.eps != 0.0
    }
}

/// How the layered network relaxes (see [`super::LayeredNet::step`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Solver {
    /// Explicit Euler (the paper's choice).
    #[default]
    Euler,
    /// Diagonally preconditioned (semi-implicit) Euler on the activator.
    Jacobi,
    /// Jacobi steps with Anderson acceleration (memory `anderson_memory`, per example).
    Anderson,
    /// `steps` Jacobi steps as a guess, then Newton's method per example on the graph view
    /// (dense LU, f64) to residual 1e-10: exact equilibria, practical for small layers only
    /// (cost O((2 Σ n_l)³) per iteration and example; FHN with ε > 0).
    Newton,
    /// Exact layer-wise red-black sweeps: every unit set to its energy's minimiser given its
    /// neighbours (`blocks` module: FHN the root of a cubic, Hopfield a clipped linear
    /// solve); `dt` is unused. Hopfield, or FHN without inhibitor coupling.
    #[serde(rename = "redblack")]
    RedBlack,
}
