//! The [`Backend`] primitives on the GPU: cuBLAS SGEMM and launches of the NVRTC kernels, each
//! after checking the buffer sizes the kernel will index.

use super::{dev, grid, int, Cuda};
use crate::backend::{check, Backend, Gemm, Layout, LoadArgs, RelaxArgs, Slots, View};
use crate::error::{Error, Result};
use cudarc::cublas::{sys as blas_sys, Gemm as _, GemmConfig};
use cudarc::driver::{sys, CudaGraph, CudaSlice, PushKernelArg};

impl Backend for Cuda {
    type Buf = CudaSlice<f32>;
    type Graph = CudaGraph;

    fn describe(&self) -> String {
        format!("cuda ({})", self.name)
    }

    fn zeros(&self, len: usize) -> Result<CudaSlice<f32>> {
        self.stream
            .alloc_zeros::<f32>(len.max(1))
            .map_err(dev("allocation"))
    }

    fn len(&self, buf: &CudaSlice<f32>) -> usize {
        buf.len()
    }

    fn upload(&self, src: &[f32], dst: &mut CudaSlice<f32>) -> Result<()> {
        check::range("upload", 0, src.len(), dst.len())?;
        self.stream
            .memcpy_htod(src, &mut dst.slice_mut(..src.len()))
            .map_err(dev("upload"))
    }

    fn download(&self, src: &CudaSlice<f32>, dst: &mut [f32]) -> Result<()> {
        check::range("download", 0, dst.len(), src.len())?;
        self.stream
            .memcpy_dtoh(&src.slice(..dst.len()), dst)
            .map_err(dev("download"))?;
        self.stream.synchronize().map_err(dev("download"))
    }

    fn copy(&self, src: &CudaSlice<f32>, dst: &mut CudaSlice<f32>) -> Result<()> {
        check::same("copy", &[src.len(), dst.len()])?;
        self.stream.memcpy_dtod(src, dst).map_err(dev("copy"))
    }

    fn fill(&self, dst: &mut CudaSlice<f32>, off: usize, len: usize, value: f32) -> Result<()> {
        check::range("fill", off, len, dst.len())?;
        let (o, n) = (off as i64, len as i64);
        launch!(self, "fill", len, dst, &o, &n, &value)
    }

    fn gemm(
        &self,
        g: Gemm,
        a: &Self::Buf,
        av: View,
        b: &Self::Buf,
        bv: View,
        c: &mut Self::Buf,
        cv: View,
    ) -> Result<()> {
        let (m, n, k) = g.shape(av, bv, cv, [a.len(), b.len(), c.len()])?;
        let op = |t| {
            if t {
                blas_sys::cublasOperation_t::CUBLAS_OP_T
            } else {
                blas_sys::cublasOperation_t::CUBLAS_OP_N
            }
        };
        let cfg = GemmConfig {
            transa: op(g.ta),
            transb: op(g.tb),
            m: int(m)?,
            n: int(n)?,
            k: int(k)?,
            alpha: g.alpha,
            lda: int(av.ld)?,
            ldb: int(bv.ld)?,
            beta: g.beta,
            ldc: int(cv.ld)?,
        };
        // SAFETY: shapes and bounds were checked by `Gemm::shape`.
        unsafe {
            self.blas.gemm(
                cfg,
                &a.slice(av.off..),
                &b.slice(bv.off..),
                &mut c.slice_mut(cv.off..),
            )
        }
        .map_err(dev("cuBLAS sgemm"))
    }

    fn load(
        &self,
        lay: Layout,
        a: LoadArgs,
        data: [&Self::Buf; 4],
        u: &mut Self::Buf,
        v: &mut Self::Buf,
        target: &mut Self::Buf,
        labels: &mut Self::Buf,
    ) -> Result<()> {
        let [images, split_labels, order, counter] = data;
        let n = lay.rows * lay.batch;
        if u.len() < n
            || v.len() < n
            || target.len() < a.n_out * lay.batch
            || labels.len() < lay.batch
            || order.len() < a.order_len
        {
            return Err(Error::Device("load: buffers too small".into()));
        }
        let (rows, n0, batch, ol, no) = (
            int(lay.rows)?,
            int(lay.first)?,
            int(lay.batch)?,
            int(a.order_len)?,
            int(a.n_out)?,
        );
        launch!(
            self,
            "load",
            n,
            images,
            split_labels,
            order,
            counter,
            u,
            v,
            target,
            labels,
            &rows,
            &n0,
            &batch,
            &ol,
            &no,
            &a.on,
            &a.off
        )
    }

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
    ) -> Result<()> {
        let [cur, curv, drive] = currents;
        let [diag, bias, target, counter] = consts;
        let n = lay.rows * lay.batch;
        if [u.len(), v.len(), cur.len(), curv.len()]
            .iter()
            .any(|&l| l < n)
            || diag.len() < lay.rows
            || bias.len() < lay.rows
            || drive.len() < lay.n1 * lay.batch
        {
            return Err(Error::Device("relax: buffers too small".into()));
        }
        let flags = i32::from(a.jacobi)
            | i32::from(a.has_v) << 1
            | i32::from(a.coupled_v) << 2
            | i32::from(a.residual_only) << 3;
        let (rows, first, out_first, n1, batch) = (
            int(lay.rows)?,
            int(lay.first)?,
            int(lay.out_first)?,
            int(lay.n1)?,
            int(lay.batch)?,
        );
        let (stride, slot) = (int(slots.stride)?, int(Slots::RESIDUAL)?);
        launch!(
            self,
            "relax",
            (lay.rows - lay.first) * lay.batch,
            u,
            v,
            cur,
            curv,
            drive,
            diag,
            bias,
            target,
            counter,
            stats,
            &rows,
            &first,
            &out_first,
            &n1,
            &batch,
            &a.du,
            &a.leak,
            &a.alpha_v,
            &a.beta_v,
            &a.cv,
            &a.ku,
            &a.kv,
            &a.nudge,
            &flags,
            &stride,
            &slot
        )
    }

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
    ) -> Result<()> {
        let (rows, out_first, batch, stride) = (
            int(lay.rows)?,
            int(lay.out_first)?,
            int(lay.batch)?,
            int(slots.stride)?,
        );
        launch!(
            self,
            "score",
            lay.batch,
            u,
            target,
            labels,
            counter,
            stats,
            &rows,
            &out_first,
            &batch,
            &cost_scale,
            &stride
        )
    }

    fn diff_sum(
        &self,
        a: &Self::Buf,
        b: &Self::Buf,
        delta: &mut Self::Buf,
        sum: &mut Self::Buf,
    ) -> Result<()> {
        check::same("diff_sum", &[a.len(), b.len(), delta.len(), sum.len()])?;
        let n = a.len() as i64;
        launch!(self, "diff_sum", a.len(), a, b, delta, sum, &n)
    }

    fn row_dot(
        &self,
        x: &Self::Buf,
        y: &Self::Buf,
        v: View,
        out: &mut Self::Buf,
        off: usize,
    ) -> Result<()> {
        check::rows(v, x.len().min(y.len()), off, out.len())?;
        let (o, rows, cols, ld, oo) = (
            v.off as i64,
            int(v.rows)?,
            int(v.cols)?,
            int(v.ld)?,
            off as i64,
        );
        launch!(self, "row_dot", v.rows, x, y, &o, &rows, &cols, &ld, out, &oo)
    }

    fn row_sum(
        &self,
        x: &Self::Buf,
        v: View,
        c: f32,
        out: &mut Self::Buf,
        off: usize,
    ) -> Result<()> {
        check::rows(v, x.len(), off, out.len())?;
        let (o, rows, cols, ld, oo) = (
            v.off as i64,
            int(v.rows)?,
            int(v.cols)?,
            int(v.ld)?,
            off as i64,
        );
        launch!(self, "row_sum", v.rows, x, &o, &rows, &cols, &ld, &c, out, &oo)
    }

    fn add_outer(
        &self,
        g: &mut Self::Buf,
        gv: View,
        s: &Self::Buf,
        ja: usize,
        kb: usize,
        c: f32,
    ) -> Result<()> {
        check::outer(gv, g.len(), ja, kb, s.len())?;
        let (o, rows, cols, ld, a, b) = (
            gv.off as i64,
            int(gv.rows)?,
            int(gv.cols)?,
            int(gv.ld)?,
            ja as i64,
            kb as i64,
        );
        launch!(
            self,
            "add_outer",
            gv.rows * gv.cols,
            g,
            &o,
            &rows,
            &cols,
            &ld,
            s,
            &a,
            &b,
            &c
        )
    }

    fn heavy_ball(
        &self,
        w: &mut Self::Buf,
        g: &Self::Buf,
        m: &mut Self::Buf,
        (off, len): (usize, usize),
        (mu, lr, wd): (f32, f32, f32),
        norms: Option<&mut Self::Buf>,
    ) -> Result<()> {
        check::range("heavy_ball", off, len, w.len().min(g.len()).min(m.len()))?;
        let (o, n) = (off as i64, len as i64);
        match norms {
            Some(nb) => launch!(
                self,
                "heavy_ball",
                len,
                w,
                g,
                m,
                &o,
                &n,
                &mu,
                &lr,
                &wd,
                nb,
                &1i32
            ),
            // Without its flag the kernel does not touch `norms`: `g` is only a placeholder.
            None => launch!(
                self,
                "heavy_ball",
                len,
                w,
                g,
                m,
                &o,
                &n,
                &mu,
                &lr,
                &wd,
                g,
                &0i32
            ),
        }
    }

    fn ratio(
        &self,
        norms: &mut Self::Buf,
        counter: &Self::Buf,
        stats: &mut Self::Buf,
        slots: Slots,
        slot: usize,
    ) -> Result<()> {
        let (stride, s) = (int(slots.stride)?, int(slot)?);
        launch!(self, "ratio", 1, norms, counter, stats, &stride, &s)
    }

    fn advance(&self, counter: &mut Self::Buf) -> Result<()> {
        launch!(self, "advance", 1, counter)
    }

    fn record(&self, f: &mut dyn FnMut() -> Result<()>) -> Result<Option<CudaGraph>> {
        self.stream
            .begin_capture(sys::CUstreamCaptureMode::CU_STREAM_CAPTURE_MODE_THREAD_LOCAL)
            .map_err(dev("begin capture"))?;
        let out = f();
        let graph = self
            .stream
            .end_capture(sys::CUgraphInstantiate_flags(0))
            .map_err(dev("end capture"));
        out?;
        graph
    }

    fn replay(&self, g: &CudaGraph) -> Result<()> {
        g.launch().map_err(dev("graph launch"))
    }
}
