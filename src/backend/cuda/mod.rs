//! The CUDA backend (cargo feature `cuda`): cuBLAS SGEMM for the products, the element-wise
//! work in the kernels of `kernels.cu` compiled at run time by NVRTC, one stream, and CUDA
//! graphs to replay a recorded training step. The driver, cuBLAS and NVRTC are loaded at run
//! time: without them [`Cuda::new`] returns an error instead of the binary failing to start.

use super::{Backend, Gemm, View};
use crate::error::{Error, Result};
use cudarc::cublas::{sys as blas_sys, CudaBlas};
use cudarc::driver::{CudaContext, CudaFunction, CudaStream, LaunchConfig};
use std::sync::Arc;

const KERNELS: &str = include_str!("../kernels.cu");
const NAMES: [&str; 11] = [
    "fill",
    "load",
    "relax",
    "score",
    "diff_sum",
    "row_dot",
    "row_sum",
    "add_outer",
    "heavy_ball",
    "ratio",
    "advance",
];

/// One NVIDIA GPU: a context, a stream, a cuBLAS handle and the compiled kernels.
pub struct Cuda {
    stream: Arc<CudaStream>,
    blas: CudaBlas,
    f: Vec<CudaFunction>,
    name: String,
}

fn dev<E: std::fmt::Debug>(what: &str) -> impl FnOnce(E) -> Error + '_ {
    move |e| Error::Device(format!("{what}: {e:?}"))
}

/// Threads per block and blocks for `n` elements (grid-stride loops cover the rest).
fn grid(n: usize) -> LaunchConfig {
    let blocks = n.div_ceil(256).clamp(1, 8192) as u32;
    LaunchConfig {
        grid_dim: (blocks, 1, 1),
        block_dim: (256, 1, 1),
        shared_mem_bytes: 0,
    }
}

impl Cuda {
    /// Opens GPU `ordinal`, compiles the kernels; TF32 tensor-core GEMMs when `FHN_CUDA_TF32=1`
    /// (off by default: f32 products agree with the CPU backend).
    pub fn new(ordinal: usize) -> Result<Self> {
        // SAFETY: only probes whether the shared libraries can be loaded.
        let present = unsafe {
            [
                (
                    "the CUDA driver (libcuda.so)",
                    cudarc::driver::sys::is_culib_present(),
                ),
                (
                    "cuBLAS (libcublas.so.13)",
                    cudarc::cublas::sys::is_culib_present(),
                ),
                (
                    "NVRTC (libnvrtc.so.13)",
                    cudarc::nvrtc::sys::is_culib_present(),
                ),
            ]
        };
        if let Some((lib, _)) = present.iter().find(|(_, ok)| !ok) {
            return Err(Error::Device(format!(
                "--device cuda: {lib} not found (needs an NVIDIA driver and CUDA 13 libraries on the library path)"
            )));
        }
        let ctx = CudaContext::new(ordinal).map_err(dev("no CUDA device"))?;
        // One stream (not the legacy default stream, which cannot be captured into a graph);
        // cudarc's cross-stream events are not needed and would enter the graphs.
        // SAFETY: every buffer of this backend is used on this one stream only.
        unsafe { ctx.disable_event_tracking() };
        let stream = ctx.new_stream().map_err(dev("stream"))?;
        let blas = CudaBlas::new(stream.clone()).map_err(dev("cuBLAS"))?;
        if std::env::var("FHN_CUDA_TF32").is_ok_and(|v| v == "1") {
            // SAFETY: a valid handle and a valid math mode.
            unsafe {
                blas_sys::cublasSetMathMode(
                    *blas.handle(),
                    blas_sys::cublasMath_t::CUBLAS_TF32_TENSOR_OP_MATH,
                )
            }
            .result()
            .map_err(dev("cuBLAS math mode"))?;
        }
        let ptx = cudarc::nvrtc::compile_ptx(KERNELS).map_err(dev("NVRTC"))?;
        let module = ctx.load_module(ptx).map_err(dev("module"))?;
        let f = NAMES
            .iter()
            .map(|n| module.load_function(n).map_err(dev("kernel")))
            .collect::<Result<_>>()?;
        let name = ctx.name().unwrap_or_else(|_| "unknown GPU".into());
        Ok(Self {
            stream,
            blas,
            f,
            name,
        })
    }

    fn kernel(&self, name: &str) -> &CudaFunction {
        &self.f[NAMES.iter().position(|n| *n == name).expect("known kernel")]
    }

    /// f32 GFLOP/s of cuBLAS SGEMM n × n × n (median of 9 after one warm-up), with the math
    /// mode the handle has (see [`Cuda::new`]).
    pub fn gemm_peak(&self, n: usize) -> Result<f64> {
        let a = self.zeros(n * n)?;
        let mut c = self.zeros(n * n)?;
        let g = Gemm {
            ta: false,
            tb: false,
            alpha: 1.0,
            beta: 0.0,
        };
        let v = View::dense(n, n);
        let mut times = Vec::new();
        for _ in 0..10 {
            self.stream.synchronize().map_err(dev("sync"))?;
            let t = std::time::Instant::now();
            for _ in 0..10 {
                self.gemm(g, &a, v, &a, v, &mut c, v)?;
            }
            self.stream.synchronize().map_err(dev("sync"))?;
            times.push(t.elapsed().as_secs_f64() / 10.0);
        }
        times.remove(0);
        times.sort_by(f64::total_cmp);
        Ok(2.0 * (n as f64).powi(3) / times[times.len() / 2] / 1e9)
    }
}

macro_rules! launch {
    ($self:ident, $name:literal, $n:expr, $($arg:expr),* $(,)?) => {{
        let f = $self.kernel($name);
        let mut b = $self.stream.launch_builder(f);
        $( b.arg($arg); )*
        // SAFETY: the argument list matches the kernel's signature in kernels.cu, and every
        // index the kernel forms was bounds-checked by the caller.
        unsafe { b.launch(grid($n)) }.map(|_| ()).map_err(dev($name))
    }};
}

fn int(x: usize) -> Result<i32> {
    i32::try_from(x).map_err(|_| Error::Device(format!("{x} exceeds the kernels' 32-bit sizes")))
}

mod ops;
