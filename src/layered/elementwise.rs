//! Element-wise and streaming helpers of the layered relaxation (column-major `Mat`s).

use super::Real;
use faer::reborrow::ReborrowMut;
use faer::Mat;

/// `up += c W x` and `down += c Wᵀ y` in one pass over the columns of W (m × n): the
/// single-example coupling is bound by reading W, so reading it once halves the traffic.
pub(super) fn fused_gemv<T: Real>(
    w: &Mat<T>,
    x: &[T],
    y: &[T],
    c: T,
    up: &mut [T],
    down: &mut [T],
) {
    const LANES: usize = 16;
    let m = w.nrows();
    let split = m - m % LANES;
    for (j, (d, &xj)) in down.iter_mut().zip(x).enumerate() {
        let wj = col(w, j);
        let cx = c * xj;
        let mut acc = [T::zero(); LANES];
        for ((wc, yc), uc) in wj[..split]
            .chunks_exact(LANES)
            .zip(y[..split].chunks_exact(LANES))
            .zip(up[..split].chunks_exact_mut(LANES))
        {
            let (wc, yc): (&[T; LANES], &[T; LANES]) =
                (wc.try_into().unwrap(), yc.try_into().unwrap());
            let uc: &mut [T; LANES] = uc.try_into().unwrap();
            for k in 0..LANES {
                acc[k] = wc[k].mul_add(yc[k], acc[k]);
                uc[k] = cx.mul_add(wc[k], uc[k]);
            }
        }
        let mut dot = acc.iter().fold(T::zero(), |s, &a| s + a);
        for k in split..m {
            dot += wj[k] * y[k];
            up[k] += cx * wj[k];
        }
        *d += c * dot;
    }
}

pub(super) fn zip_map<T: Real>(dst: faer::MatMut<T>, src: faer::MatRef<T>, f: impl Fn(T) -> T) {
    let mut dst = dst;
    for j in 0..src.ncols() {
        let d = dst
            .rb_mut()
            .col_mut(j)
            .try_as_col_major_mut()
            .expect("contiguous")
            .as_slice_mut();
        let s = src
            .col(j)
            .try_as_col_major()
            .expect("contiguous")
            .as_slice();
        for (x, &y) in d.iter_mut().zip(s) {
            *x = f(y);
        }
    }
}

/// `u ← u − k g / (1 + k max(0, base + extra + 3u²))`, column by column.
pub(super) fn jacobi_update<T: Real>(
    u: faer::MatMut<T>,
    g: faer::MatRef<T>,
    k: T,
    base: &[T],
    extra: T,
) {
    let mut u = u;
    let three = T::lit(3.0);
    for j in 0..g.ncols() {
        let d = u
            .rb_mut()
            .col_mut(j)
            .try_as_col_major_mut()
            .expect("contiguous")
            .as_slice_mut();
        let s = g.col(j).try_as_col_major().expect("contiguous").as_slice();
        for ((x, &gx), &b) in d.iter_mut().zip(s).zip(base) {
            let h = (b + extra + three * *x * *x).max(T::zero());
            *x -= k * gx / (T::one() + k * h);
        }
    }
}

/// `x += c g`, optionally clipped to [lo, hi].
pub(super) fn zip_update<T: Real>(
    x: faer::MatMut<T>,
    g: faer::MatRef<T>,
    c: T,
    clip: Option<(T, T)>,
) {
    let mut x = x;
    for j in 0..g.ncols() {
        let d = x
            .rb_mut()
            .col_mut(j)
            .try_as_col_major_mut()
            .expect("contiguous")
            .as_slice_mut();
        let s = g.col(j).try_as_col_major().expect("contiguous").as_slice();
        match clip {
            None => d.iter_mut().zip(s).for_each(|(a, &b)| *a += c * b),
            Some((lo, hi)) => d
                .iter_mut()
                .zip(s)
                .for_each(|(a, &b)| *a = (*a + c * b).max(lo).min(hi)),
        }
    }
}

/// Column `j` of a column-major matrix as a slice.
#[inline]
pub(crate) fn col<T: Real>(m: &Mat<T>, j: usize) -> &[T] {
    m.col(j).try_as_col_major().expect("contiguous").as_slice()
}

/// Column `j` of a column-major matrix as a mutable slice.
#[inline]
pub(crate) fn col_mut<T: Real>(m: &mut Mat<T>, j: usize) -> &mut [T] {
    m.col_mut(j)
        .try_as_col_major_mut()
        .expect("contiguous")
        .as_slice_mut()
}

/// Calls `f` on every entry of `m` (column by column).
pub(super) fn entries<T: Real>(m: &Mat<T>) -> impl Iterator<Item = T> + '_ {
    (0..m.ncols()).flat_map(move |j| (0..m.nrows()).map(move |i| m[(i, j)]))
}
