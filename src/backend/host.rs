//! The CPU implementation of the backend primitives: plain loops and faer's GEMM, one thread.
//! It is the reference the CUDA kernels are checked against, element by element.

use super::{check, Backend, Gemm, Layout, LoadArgs, RelaxArgs, Slots, View};
use crate::error::{Error, Result};
use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};

/// The CPU backend (buffers are `Vec<f32>`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Host;

fn mat(buf: &[f32], v: View) -> MatRef<'_, f32> {
    MatRef::from_column_major_slice_with_stride(&buf[v.off..], v.rows, v.cols, v.ld)
}

/// Batch row of the statistics buffer named by the counter.
fn row(counter: &[f32], slots: Slots, len: usize) -> Result<usize> {
    let k = counter[0] as usize * slots.stride;
    if k + slots.stride > len {
        return Err(Error::Device(format!(
            "statistics row at {k} outside {len} entries"
        )));
    }
    Ok(k)
}

impl Backend for Host {
    type Buf = Vec<f32>;
    type Graph = ();

    fn describe(&self) -> String {
        "host (CPU, one thread)".into()
    }

    fn zeros(&self, len: usize) -> Result<Vec<f32>> {
        Ok(vec![0.0; len])
    }

    fn len(&self, buf: &Vec<f32>) -> usize {
        buf.len()
    }

    fn upload(&self, src: &[f32], dst: &mut Vec<f32>) -> Result<()> {
        check::range("upload", 0, src.len(), dst.len())?;
        dst[..src.len()].copy_from_slice(src);
        Ok(())
    }

    fn download(&self, src: &Vec<f32>, dst: &mut [f32]) -> Result<()> {
        check::range("download", 0, dst.len(), src.len())?;
        dst.copy_from_slice(&src[..dst.len()]);
        Ok(())
    }

    fn copy(&self, src: &Vec<f32>, dst: &mut Vec<f32>) -> Result<()> {
        check::same("copy", &[src.len(), dst.len()])?;
        dst.copy_from_slice(src);
        Ok(())
    }

    fn fill(&self, dst: &mut Vec<f32>, off: usize, len: usize, value: f32) -> Result<()> {
        check::range("fill", off, len, dst.len())?;
        dst[off..off + len].fill(value);
        Ok(())
    }

    fn gemm(
        &self,
        g: Gemm,
        a: &Vec<f32>,
        av: View,
        b: &Vec<f32>,
        bv: View,
        c: &mut Vec<f32>,
        cv: View,
    ) -> Result<()> {
        g.shape(av, bv, cv, [a.len(), b.len(), c.len()])?;
        let (am, bm) = (mat(a, av), mat(b, bv));
        let am = if g.ta { am.transpose() } else { am };
        let bm = if g.tb { bm.transpose() } else { bm };
        let cm = MatMut::from_column_major_slice_with_stride_mut(
            &mut c[cv.off..],
            cv.rows,
            cv.cols,
            cv.ld,
        );
        let acc = if g.beta == 0.0 {
            Accum::Replace
        } else {
            Accum::Add
        };
        matmul(cm, acc, am, bm, g.alpha, Par::Seq);
        Ok(())
    }

    fn load(
        &self,
        lay: Layout,
        a: LoadArgs,
        [images, labels, order, counter]: [&Vec<f32>; 4],
        u: &mut Vec<f32>,
        v: &mut Vec<f32>,
        target: &mut Vec<f32>,
        batch_labels: &mut Vec<f32>,
    ) -> Result<()> {
        let (n, n0) = (lay.rows, lay.first);
        let k = counter[0] as usize;
        for b in 0..lay.batch {
            let p = k * lay.batch + b;
            let ex = (p < a.order_len).then(|| order[p] as usize);
            let col = &mut u[b * n..(b + 1) * n];
            match ex {
                Some(e) => col[..n0].copy_from_slice(&images[e * n0..(e + 1) * n0]),
                None => col[..n0].fill(0.0),
            }
            col[n0..].fill(0.0);
            v[b * n..(b + 1) * n].fill(0.0);
            let label = ex.map_or(-1.0, |e| labels[e]);
            batch_labels[b] = label;
            for c in 0..a.n_out {
                target[c + b * a.n_out] = if c as f32 == label { a.on } else { a.off };
            }
        }
        Ok(())
    }

    fn relax(
        &self,
        lay: Layout,
        a: RelaxArgs,
        u: &mut Vec<f32>,
        v: &mut Vec<f32>,
        [cur, curv, drive]: [&Vec<f32>; 3],
        [diag, bias, target, counter]: [&Vec<f32>; 4],
        stats: &mut Vec<f32>,
        slots: Slots,
    ) -> Result<()> {
        let n = lay.rows;
        let n_out = n - lay.out_first;
        let mut r = 0.0f32;
        let local = a.local();
        for b in 0..lay.batch {
            for i in lay.first..n {
                let e = i + b * n;
                let (uk, vk, d) = (u[e], v[e], diag[i]);
                let mut g = cur[e];
                if i < lay.first + lay.n1 {
                    g += drive[i - lay.first + b * lay.n1];
                }
                g += a.du * (d + a.leak) * uk - local.activator(uk, vk) - bias[i];
                let out = i >= lay.out_first;
                if out && a.nudge != 0.0 {
                    g += a.nudge * (uk - target[i - lay.out_first + b * n_out]);
                }
                let gv = if !a.has_v {
                    0.0
                } else if a.coupled_v {
                    curv[e] + (local.inhibitor(uk, vk) - a.cv * d * vk)
                } else {
                    local.inhibitor(uk, vk)
                };
                if a.residual_only {
                    r = nan_max(nan_max(r, g.abs()), gv.abs());
                    continue;
                }
                u[e] = if a.jacobi {
                    let extra = if out { a.nudge.max(0.0) } else { 0.0 };
                    let h = (a.du * (d + a.leak) - 1.0 + extra + 3.0 * uk * uk).max(0.0);
                    uk - a.ku * g / (1.0 + a.ku * h)
                } else {
                    uk + -a.ku * g
                };
                if a.has_v {
                    v[e] = vk + a.kv * gv;
                }
            }
        }
        if a.residual_only {
            let k = row(counter, slots, stats.len())? + Slots::RESIDUAL;
            stats[k] = nan_max(stats[k], r);
        }
        Ok(())
    }

    fn score(
        &self,
        lay: Layout,
        cost_scale: f32,
        u: &Vec<f32>,
        target: &Vec<f32>,
        labels: &Vec<f32>,
        counter: &Vec<f32>,
        stats: &mut Vec<f32>,
        slots: Slots,
    ) -> Result<()> {
        let k = row(counter, slots, stats.len())?;
        let n_out = lay.rows - lay.out_first;
        for b in 0..lay.batch {
            if labels[b] < 0.0 {
                continue;
            }
            let out = &u[lay.out_first + b * lay.rows..(b + 1) * lay.rows];
            let mut guess = 0;
            for c in 1..n_out {
                if out[c] >= out[guess] {
                    guess = c;
                }
            }
            stats[k + Slots::ERRORS] += f32::from(guess as f32 != labels[b]);
            let mut cost = 0.0;
            for c in 0..n_out {
                let d = out[c] - target[c + b * n_out];
                cost += cost_scale * d * d;
            }
            stats[k + Slots::COST] += cost;
        }
        Ok(())
    }

    fn diff_sum(
        &self,
        a: &Vec<f32>,
        b: &Vec<f32>,
        delta: &mut Vec<f32>,
        sum: &mut Vec<f32>,
    ) -> Result<()> {
        check::same("diff_sum", &[a.len(), b.len(), delta.len(), sum.len()])?;
        for i in 0..a.len() {
            delta[i] = a[i] - b[i];
            sum[i] = a[i] + b[i];
        }
        Ok(())
    }

    fn row_dot(
        &self,
        x: &Vec<f32>,
        y: &Vec<f32>,
        v: View,
        out: &mut Vec<f32>,
        off: usize,
    ) -> Result<()> {
        check::rows(v, x.len().min(y.len()), off, out.len())?;
        for i in 0..v.rows {
            let mut s = 0.0;
            for j in 0..v.cols {
                let e = v.off + i + j * v.ld;
                s += x[e] * y[e];
            }
            out[off + i] = s;
        }
        Ok(())
    }

    fn row_sum(&self, x: &Vec<f32>, v: View, c: f32, out: &mut Vec<f32>, off: usize) -> Result<()> {
        check::rows(v, x.len(), off, out.len())?;
        for j in 0..v.cols {
            for i in 0..v.rows {
                out[off + i] += c * x[v.off + i + j * v.ld];
            }
        }
        Ok(())
    }

    fn add_outer(
        &self,
        g: &mut Vec<f32>,
        gv: View,
        s: &Vec<f32>,
        ja: usize,
        kb: usize,
        c: f32,
    ) -> Result<()> {
        check::outer(gv, g.len(), ja, kb, s.len())?;
        for j in 0..gv.cols {
            for k in 0..gv.rows {
                g[gv.off + k + j * gv.ld] += c * (s[ja + j] + s[kb + k]);
            }
        }
        Ok(())
    }

    fn heavy_ball(
        &self,
        w: &mut Vec<f32>,
        g: &Vec<f32>,
        m: &mut Vec<f32>,
        (off, len): (usize, usize),
        (mu, lr, wd): (f32, f32, f32),
        norms: Option<&mut Vec<f32>>,
    ) -> Result<()> {
        check::range("heavy_ball", off, len, w.len().min(g.len()).min(m.len()))?;
        let end = off + len;
        let (mut m2, mut w2) = (0.0f32, 0.0f32);
        for i in off..end {
            // As the CPU trainer: without decay the gradient as it is (the bits of before).
            let gi = if wd != 0.0 { g[i] + wd * w[i] } else { g[i] };
            let step = mu * m[i] - lr * gi;
            m[i] = step;
            w[i] += step;
            m2 += step * step;
            w2 += w[i] * w[i];
        }
        if let Some(n) = norms {
            n[0] += m2;
            n[1] += w2;
        }
        Ok(())
    }

    fn ratio(
        &self,
        norms: &mut Vec<f32>,
        counter: &Vec<f32>,
        stats: &mut Vec<f32>,
        slots: Slots,
        slot: usize,
    ) -> Result<()> {
        let k = row(counter, slots, stats.len())?;
        stats[k + slot] = (norms[0] / norms[1].max(1e-30)).sqrt();
        if !norms[1].is_finite() {
            stats[k + slot] = f32::NAN;
        }
        norms[..2].fill(0.0);
        Ok(())
    }

    fn advance(&self, counter: &mut Vec<f32>) -> Result<()> {
        counter[0] += 1.0;
        Ok(())
    }

    fn record(&self, _f: &mut dyn FnMut() -> Result<()>) -> Result<Option<()>> {
        Ok(None)
    }

    fn replay(&self, _g: &()) -> Result<()> {
        Ok(())
    }
}

/// `max` that keeps NaN (a broken state must not read as converged).
pub(super) fn nan_max(a: f32, b: f32) -> f32 {
    if a.is_nan() || b.is_nan() {
        f32::NAN
    } else {
        a.max(b)
    }
}
