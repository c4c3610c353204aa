//! EqProp on the steady state of the same network (docs/HAMILTONIAN.md §8.5): the prediction
//! is the readout of the steady state whose layer 0 is clamped to the encoded image (found per
//! example by Newton with the block sweep, started from the forward pass); the couplings learn
//! by centered EqProp, the readout by its local gradient, the encoding stays fixed (EqProp gives
//! no gradient for a clamped layer). The comparison run for Hamiltonian Echo Backpropagation.

use super::echo_model::{
    argmax, pixels, squared_error, EchoConfig, EchoModel, EpochOrder, EpochRecord, Velocity,
};
use super::steady::{solve_steady, steady_eqprop};
use crate::data::Split;
use crate::error::Result;
use crate::network::{FhnNetwork, State};
use faer::Mat;

/// The steady state of one image (a column of `x`) and its output activators u^N.
fn steady_of(model: &EchoModel, x: &Mat<f64>) -> Result<(FhnNetwork, State, Mat<f64>)> {
    let (fwd, _) = model.forward(x)?;
    let m = model.net.width();
    let u0 = fwd.u[0].col_as_slice(0).to_vec();
    let (graph, state) = solve_steady(&model.net, (&u0, &vec![0.0; m]), fwd.column_state(0))?;
    let n = model.net.depth();
    let top = Mat::from_fn(m, 1, |k, _| state.u[n * m + k]);
    Ok((graph, state, top))
}

fn logits(model: &EchoModel, top: &Mat<f64>) -> Mat<f64> {
    let mut z = &model.w_out * top;
    for r in 0..z.nrows() {
        z[(r, 0)] += model.b_out[(r, 0)];
    }
    z
}

/// Error of the steady-state classifier on the first `limit` images of `split` (an image whose
/// steady state is not found counts as an error).
pub fn steady_error(model: &EchoModel, split: &Split, limit: usize) -> Result<f64> {
    let n = limit.min(split.len());
    let mut wrong = 0;
    for i in 0..n {
        // No steady state found: no prediction, an error.
        wrong += match steady_of(model, &pixels(split, &[i])) {
            Ok((_, _, top)) => {
                usize::from(argmax(&logits(model, &top), 0) != split.labels[i] as usize)
            }
            Err(_) => 1,
        };
    }
    Ok(wrong as f64 / n.max(1) as f64)
}

/// Trains the couplings and readout by EqProp on the steady state (`beta`: the centered
/// nudge), evaluating on the first `eval_limit` validation and test images after each epoch.
pub fn train_steady(
    model: &mut EchoModel,
    cfg: &EchoConfig,
    data: [&Split; 3],
    beta: f64,
    eval_limit: usize,
    mut on_epoch: impl FnMut(&EpochRecord, &EchoModel) -> Result<()>,
) -> Result<Vec<EpochRecord>> {
    let [train, val, test] = data;
    let mut order = EpochOrder::new(cfg, train)?;
    let n = order.len();
    let mut vel = Velocity::new(model);
    let mut records = Vec::new();
    for epoch in 1..=cfg.epochs {
        let t0 = std::time::Instant::now();
        let (mut loss, mut wrong, mut skipped) = (0.0, 0usize, 0usize);
        for idx in order.shuffled().chunks(cfg.batch_size) {
            let m = model.net.width();
            let mut grad: Vec<Mat<f64>> = model
                .net
                .coupling
                .iter()
                .map(|g| Mat::zeros(g.nrows(), g.ncols()))
                .collect();
            let (mut dz_all, mut top_all) = (
                Mat::zeros(model.w_out.nrows(), idx.len()),
                Mat::zeros(m, idx.len()),
            );
            let mut ok = 0usize;
            for (c, &i) in idx.iter().enumerate() {
                // An example whose free or nudged steady state is not found adds nothing.
                let one = |model: &EchoModel| -> Result<_> {
                    let (graph, state, top) = steady_of(model, &pixels(train, &[i]))?;
                    let (l, w, dz) =
                        squared_error(&logits(model, &top), &[train.labels[i] as usize]);
                    // y = u^N − ∂L/∂u^N: the quadratic cost whose gradient at u^N is the loss's.
                    let dl_du = model.w_out.transpose() * &dz;
                    let y = (0..m).map(|k| top[(k, 0)] - dl_du[(k, 0)]).collect();
                    let g = steady_eqprop(&model.net, &graph, &state, y, beta)?;
                    Ok((l, w, dz, top, g))
                };
                let Ok((l, w, dz, top, g)) = one(model) else {
                    // No prediction: a training error, as in evaluation.
                    skipped += 1;
                    wrong += 1;
                    continue;
                };
                ok += 1;
                loss += l;
                wrong += w;
                for (acc, g) in grad.iter_mut().zip(g) {
                    *acc += g;
                }
                for r in 0..dz.nrows() {
                    dz_all[(r, c)] = dz[(r, 0)];
                }
                for k in 0..m {
                    top_all[(k, c)] = top[(k, 0)];
                }
            }
            if ok == 0 {
                continue;
            }
            // The mean over the examples that have a steady state.
            let mean = faer::Scale(1.0 / ok as f64);
            let grad: Vec<Mat<f64>> = grad.iter().map(|g| g * mean).collect();
            vel.step(model, cfg, &grad, None, &(&dz_all * mean), &top_all);
        }
        let seconds = t0.elapsed().as_secs_f64();
        let rec = EpochRecord {
            epoch,
            train_error: wrong as f64 / n as f64,
            train_loss: loss / (n - skipped).max(1) as f64,
            val_error: steady_error(model, val, eval_limit)?,
            test_error: steady_error(model, test, eval_limit)?,
            seconds,
            echo_vs_adjoint: vec![],
            probe_max_u: f64::NAN,
            echo_vs_steady: None,
            skipped,
        };
        on_epoch(&rec, model)?;
        records.push(rec);
    }
    Ok(records)
}
