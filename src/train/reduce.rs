//! The gradient reducer: the seam between a process's gradient estimate and the update. On
//! one process it does nothing ([`Local`]); a multi-process trainer (MPI) all-reduces the
//! estimate and the batch statistics here, so that every process applies the same update.

use super::estimate::BatchStats;
use crate::error::Result;
use crate::layered::Grads;

/// Combines the estimates of all processes, in place.
pub trait GradientReducer: Send {
    /// After the call, `grads` and `stats` hold the values every process applies and reports
    /// (the mean gradient over the global minibatch; summed errors and costs, the largest
    /// residual).
    fn reduce(&mut self, grads: &mut Grads<f32>, stats: &mut BatchStats) -> Result<()>;

    /// Whether this reducer leaves every estimate as it is (one process).
    fn is_local(&self) -> bool {
        false
    }
}

/// One process: the estimate is already the global one.
#[derive(Clone, Copy, Debug, Default)]
pub struct Local;

impl GradientReducer for Local {
    fn reduce(&mut self, _grads: &mut Grads<f32>, _stats: &mut BatchStats) -> Result<()> {
        Ok(())
    }

    fn is_local(&self) -> bool {
        true
    }
}
