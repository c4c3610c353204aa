//! The scalar types the layered network runs in: f32 (training) and f64 (exactness checks).

/// A real scalar usable by faer's GEMM and by element-wise code.
pub trait Real:
    faer::traits::RealField
    + num_traits::Float
    + Copy
    + Send
    + Sync
    + std::fmt::Debug
    + Default
    + 'static
{
    /// Conversion from f64.
    fn lit(x: f64) -> Self;
    /// Conversion to f64.
    fn as_f64(self) -> f64;
}

impl Real for f32 {
    fn lit(x: f64) -> Self {
        x as f32
    }
    fn as_f64(self) -> f64 {
        self as f64
    }
}

impl Real for f64 {
    fn lit(x: f64) -> Self {
        x
    }
    fn as_f64(self) -> f64 {
        self
    }
}

/// Sets the calling thread's floating-point unit to flush subnormal results and inputs to zero
/// (x86-64 MXCSR FTZ + DAZ; a no-op elsewhere). Deep networks relax towards states whose small
/// components pass through the subnormal range, where every arithmetic instruction takes a
/// microcode assist ~100× slower than normal; values below 1.2e-38 (f32) carry no information
/// for the relaxation. Returns whether the mode is in effect.
pub fn flush_subnormals() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        const FTZ_DAZ: u32 = (1 << 15) | (1 << 6);
        let mut csr: u32 = 0;
        // SAFETY: stmxcsr/ldmxcsr read and write the thread's SSE control register; setting the
        // FTZ and DAZ bits changes only how subnormal numbers are rounded.
        unsafe {
            std::arch::asm!("stmxcsr [{}]", in(reg) &mut csr, options(nostack));
            csr |= FTZ_DAZ;
            std::arch::asm!("ldmxcsr [{}]", in(reg) &csr, options(nostack));
        }
        true
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}
