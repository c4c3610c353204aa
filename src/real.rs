//! The scalar types the physics runs in: f32 (training) and f64 (exactness checks).

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
