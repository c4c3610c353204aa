//! The backend seam: where the layered FHN training step runs (CPU memory or a GPU).
//!
//! A [`Backend`] owns f32 buffers and offers the few primitives the training step needs: dense
//! products (GEMM on strided column-major views) and a handful of fused element-wise kernels.
//! [`Engine`] writes the whole EqProp step (free phase, nudged phases, co-content gradient,
//! heavy-ball update) once, against this trait; [`Host`] runs it on the CPU (the reference the
//! tests compare with the `train` module's sharded trainer) and `Cuda` (cargo feature `cuda`)
//! on an NVIDIA GPU with cuBLAS and NVRTC-compiled kernels.
//!
//! Layout of a batch state: every layer stacked in one column per example, `N × B`
//! column-major with `N = Σ n_l` (layer l in rows `off_l..off_l + n_l`), so that one kernel
//! launch updates every layer and layer l is a GEMM view with leading dimension N.

#[cfg(feature = "cuda")]
mod cuda;
mod device;
mod engine;
mod host;

#[cfg(feature = "cuda")]
pub use cuda::Cuda;
pub use device::{compare, Agreement, Device, DeviceKind};
pub use engine::{BatchStats, Engine};
pub use host::Host;

use crate::error::{Error, Result};

/// A strided column-major matrix inside a buffer: element (i, j) at `off + i + j·ld`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct View {
    /// Offset of element (0, 0).
    pub off: usize,
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Leading dimension (≥ rows).
    pub ld: usize,
}

impl View {
    /// A dense `rows × cols` matrix at the start of a buffer.
    pub fn dense(rows: usize, cols: usize) -> Self {
        Self {
            off: 0,
            rows,
            cols,
            ld: rows,
        }
    }

    /// Checks that the view lies inside a buffer of `len` entries.
    pub fn check(&self, len: usize) -> Result<()> {
        let end = if self.rows == 0 || self.cols == 0 {
            Some(self.off)
        } else {
            (self.cols - 1)
                .checked_mul(self.ld)
                .and_then(|x| x.checked_add(self.off + self.rows))
        };
        if self.ld < self.rows || end.is_none_or(|e| e > len) {
            return Err(Error::Device(format!(
                "view {self:?} outside a buffer of {len} entries"
            )));
        }
        Ok(())
    }
}

/// Bounds checks shared by every backend: a primitive checks what it will index before it
/// touches memory (on a GPU an unchecked index is silent corruption, not a panic).
pub(crate) mod check {
    use super::View;
    use crate::error::{Error, Result};

    /// Entries `off..off + len` lie in a buffer of `total`.
    pub fn range(what: &str, off: usize, len: usize, total: usize) -> Result<()> {
        match off.checked_add(len) {
            Some(end) if end <= total => Ok(()),
            _ => Err(Error::Device(format!(
                "{what}: entries {off}..+{len} outside {total}"
            ))),
        }
    }

    /// Every length equals the first.
    pub fn same(what: &str, lens: &[usize]) -> Result<()> {
        if lens.iter().any(|&l| l != lens[0]) {
            return Err(Error::Device(format!(
                "{what}: buffer lengths differ: {lens:?}"
            )));
        }
        Ok(())
    }

    /// A per-row reduction over view `v` of `x` (length `x_len`) into `out[off..]`.
    pub fn rows(v: View, x_len: usize, off: usize, out_len: usize) -> Result<()> {
        v.check(x_len)?;
        range("row reduction", off, v.rows, out_len)
    }

    /// `g(k, j) += c (s[ja + j] + s[kb + k])` stays inside `g` and `s`.
    pub fn outer(gv: View, g_len: usize, ja: usize, kb: usize, s_len: usize) -> Result<()> {
        gv.check(g_len)?;
        range("add_outer", ja, gv.cols, s_len)?;
        range("add_outer", kb, gv.rows, s_len)
    }
}

/// `C ← α op(A) op(B) + β C` with β ∈ {0, 1}; op transposes a view when its flag is set.
#[derive(Clone, Copy, Debug)]
pub struct Gemm {
    /// Transpose A.
    pub ta: bool,
    /// Transpose B.
    pub tb: bool,
    /// α.
    pub alpha: f32,
    /// β: 0 (replace) or 1 (accumulate).
    pub beta: f32,
}

impl Gemm {
    /// (m, n, k) of the product after checking shapes and bounds.
    pub fn shape(
        &self,
        a: View,
        b: View,
        c: View,
        lens: [usize; 3],
    ) -> Result<(usize, usize, usize)> {
        a.check(lens[0])?;
        b.check(lens[1])?;
        c.check(lens[2])?;
        let (am, ak) = if self.ta {
            (a.cols, a.rows)
        } else {
            (a.rows, a.cols)
        };
        let (bk, bn) = if self.tb {
            (b.cols, b.rows)
        } else {
            (b.rows, b.cols)
        };
        if am != c.rows || bn != c.cols || ak != bk || !(self.beta == 0.0 || self.beta == 1.0) {
            return Err(Error::Device(format!(
                "gemm shapes: op(A) {am}×{ak}, op(B) {bk}×{bn}, C {}×{}, β {}",
                c.rows, c.cols, self.beta
            )));
        }
        Ok((am, bn, ak))
    }
}

/// Where a batch state lives: the stacked layout of the module docs.
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    /// Rows N = Σ n_l.
    pub rows: usize,
    /// First free row (n_0).
    pub first: usize,
    /// First output row (off_L).
    pub out_first: usize,
    /// Width of layer 1 (rows of the input drive).
    pub n1: usize,
    /// Examples per batch.
    pub batch: usize,
}

/// Constants of one fused relaxation kernel (docs/MODEL.md §5, paper §III).
#[derive(Clone, Copy, Debug)]
pub struct RelaxArgs {
    /// d_u.
    pub du: f32,
    /// Leak conductance g₀.
    pub leak: f32,
    /// α and β of the inhibitor's local term `u − αv − β`.
    pub alpha_v: f32,
    /// See `alpha_v`.
    pub beta_v: f32,
    /// d_v/ε (inhibitor coupling), else 0.
    pub cv: f32,
    /// dt/τ_u.
    pub ku: f32,
    /// dt·ε/τ_v.
    pub kv: f32,
    /// Output force 2·cost_scale·β (0 in the free phase).
    pub nudge: f32,
    /// Diagonally preconditioned (Jacobi) activator step instead of Euler.
    pub jacobi: bool,
    /// The inhibitor is dynamic (ε ≠ 0).
    pub has_v: bool,
    /// Inhibitors are coupled through the conductances.
    pub coupled_v: bool,
    /// Only measure ‖∂Φ/∂s‖∞ into the residual slot; leave the state unchanged.
    pub residual_only: bool,
}

impl RelaxArgs {
    /// The FHN local terms these arguments carry; ε is not among them (it sits in `kv`), so
    /// `eps` is NaN: any use of it shows.
    pub fn local(&self) -> crate::model::Local<f32> {
        crate::model::Local {
            eps: f32::NAN,
            alpha: self.alpha_v,
            beta: self.beta_v,
            inhibitor_gain: self.cv,
        }
    }
}

/// Per-batch statistics slots (one row of `stride` floats per batch of the epoch).
#[derive(Clone, Copy, Debug)]
pub struct Slots {
    /// Floats per batch row.
    pub stride: usize,
}

impl Slots {
    /// Misclassified examples.
    pub const ERRORS: usize = 0;
    /// Summed cost.
    pub const COST: usize = 1;
    /// Free-phase residual ‖∂Φ/∂s‖∞ (stored as the bits of a non-negative float).
    pub const RESIDUAL: usize = 2;
    /// First of the per-layer update/weight ratios.
    pub const RATIOS: usize = 3;
}

/// How a batch is gathered from the data set on the device.
#[derive(Clone, Copy, Debug)]
pub struct LoadArgs {
    /// Entries of the order buffer (positions past it are padding: label −1, zero input).
    pub order_len: usize,
    /// Outputs n_L.
    pub n_out: usize,
    /// Target of the labelled output.
    pub on: f32,
    /// Target of the other outputs.
    pub off: f32,
}

/// The primitives of the training step. Buffers are f32; indices (example order, labels, the
/// batch counter) are stored as exact small integers in f32 (< 2²⁴).
pub trait Backend {
    /// A buffer of f32 in this backend's memory.
    type Buf;
    /// A recorded sequence of launches that can be replayed (CUDA graph).
    type Graph;

    /// Backend and device in words.
    fn describe(&self) -> String;
    /// A zeroed buffer of `len` entries.
    fn zeros(&self, len: usize) -> Result<Self::Buf>;
    /// Entries of a buffer.
    fn len(&self, buf: &Self::Buf) -> usize;
    /// Copies host memory into the start of `dst`.
    fn upload(&self, src: &[f32], dst: &mut Self::Buf) -> Result<()>;
    /// Copies the start of `src` into host memory (waits for pending work).
    fn download(&self, src: &Self::Buf, dst: &mut [f32]) -> Result<()>;
    /// `dst ← src` (same length).
    fn copy(&self, src: &Self::Buf, dst: &mut Self::Buf) -> Result<()>;
    /// Entries `off..off + len` of `dst` set to `value`.
    fn fill(&self, dst: &mut Self::Buf, off: usize, len: usize, value: f32) -> Result<()>;
    /// `C ← α op(A) op(B) + β C` on views.
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        &self,
        g: Gemm,
        a: &Self::Buf,
        av: View,
        b: &Self::Buf,
        bv: View,
        c: &mut Self::Buf,
        cv: View,
    ) -> Result<()>;
    /// Gathers batch `counter` of `order` (batch size `lay.batch`) from `images` (pre-scaled
    /// pixels, example-major) and `labels` into the input rows of `u`, zeroes the free rows
    /// of `u` and `v`, and writes the targets and the batch labels.
    #[allow(clippy::too_many_arguments)]
    fn load(
        &self,
        lay: Layout,
        a: LoadArgs,
        data: [&Self::Buf; 4],
        u: &mut Self::Buf,
        v: &mut Self::Buf,
        target: &mut Self::Buf,
        labels: &mut Self::Buf,
    ) -> Result<()>;
    /// One fused relaxation step of every free layer from the coupling currents `cur`, `curv`
    /// (already scaled) and the input drive; or, with `residual_only`, the residual.
    /// `consts` = [diag, bias, target, counter].
    #[allow(clippy::too_many_arguments)]
    fn relax(
        &self,
        lay: Layout,
        a: RelaxArgs,
        u: &mut Self::Buf,
        v: &mut Self::Buf,
        currents: [&Self::Buf; 3],
        consts: [&Self::Buf; 4],
        stats: &mut Self::Buf,
        slots: Slots,
    ) -> Result<()>;
    /// Errors and cost of the output rows of `u` against `target` into the batch's stats row
    /// (examples labelled −1 are padding and skipped).
    #[allow(clippy::too_many_arguments)]
    fn score(
        &self,
        lay: Layout,
        cost_scale: f32,
        u: &Self::Buf,
        target: &Self::Buf,
        labels: &Self::Buf,
        counter: &Self::Buf,
        stats: &mut Self::Buf,
        slots: Slots,
    ) -> Result<()>;
    /// `delta ← a − b`, `sum ← a + b` (same length).
    fn diff_sum(
        &self,
        a: &Self::Buf,
        b: &Self::Buf,
        delta: &mut Self::Buf,
        sum: &mut Self::Buf,
    ) -> Result<()>;
    /// `out[off + i] ← Σ_j x(i, j) y(i, j)` over the rows of view `v` (same view in x and y).
    fn row_dot(
        &self,
        x: &Self::Buf,
        y: &Self::Buf,
        v: View,
        out: &mut Self::Buf,
        off: usize,
    ) -> Result<()>;
    /// `out[off + i] += c Σ_j x(i, j)` over the rows of view `v`.
    fn row_sum(
        &self,
        x: &Self::Buf,
        v: View,
        c: f32,
        out: &mut Self::Buf,
        off: usize,
    ) -> Result<()>;
    /// `g(k, j) += c (s[ja + j] + s[kb + k])` for the dense `g` of shape `gv`.
    fn add_outer(
        &self,
        g: &mut Self::Buf,
        gv: View,
        s: &Self::Buf,
        ja: usize,
        kb: usize,
        c: f32,
    ) -> Result<()>;
    /// Heavy ball on entries `off..off+len` with `rates` = (μ, η, λ): `m ← μ m − η (g + λ w)`,
    /// `w ← w + m` (at λ = 0 the gradient as it is); with `norms`, adds Σ m² and Σ w² to its
    /// entries 0 and 1.
    #[allow(clippy::too_many_arguments)]
    fn heavy_ball(
        &self,
        w: &mut Self::Buf,
        g: &Self::Buf,
        m: &mut Self::Buf,
        range: (usize, usize),
        rates: (f32, f32, f32),
        norms: Option<&mut Self::Buf>,
    ) -> Result<()>;
    /// `stats[row, slot] ← √(norms[0] / norms[1])` and zeroes `norms`.
    fn ratio(
        &self,
        norms: &mut Self::Buf,
        counter: &Self::Buf,
        stats: &mut Self::Buf,
        slots: Slots,
        slot: usize,
    ) -> Result<()>;
    /// `counter[0] += 1`.
    fn advance(&self, counter: &mut Self::Buf) -> Result<()>;
    /// Records the launches of `f` for replay, or returns `None` when this backend does not
    /// record (then `f` has not run). What `f` launches must not depend on host state that
    /// changes between replays.
    fn record(&self, f: &mut dyn FnMut() -> Result<()>) -> Result<Option<Self::Graph>>;
    /// Replays a recording.
    fn replay(&self, g: &Self::Graph) -> Result<()>;
}
