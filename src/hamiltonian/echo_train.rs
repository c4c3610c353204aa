//! Training the deep residual FHN network (the model of `echo_model`) as a feed-forward model
//! through its spatial Hamiltonian: Hamiltonian Echo Backpropagation, with the explicit adjoint
//! as the control (docs/HAMILTONIAN.md §8.5). W_in learns through the echo's return to the input.

use super::backprop::adjoint_gradient;
use super::echo::{flat, EchoNet, Gradient, Layers};
use super::echo_model::{pixels, squared_error, EpochOrder, Velocity};
pub use super::echo_model::{EchoConfig, EchoModel, EpochRecord, Estimator};
use crate::data::Split;
use crate::eqprop::cosine;
use crate::error::{Error, Result};
use faer::Mat;
/// The gradient of the batch loss with respect to the couplings and the encoded input.
pub fn coupling_gradient(
    net: &EchoNet,
    fwd: &Layers<f64>,
    dl_du: &Mat<f64>,
    estimator: Estimator,
    eta: f64,
) -> Result<Gradient> {
    match estimator {
        Estimator::SteadyEqProp => Err(Error::Invalid(
            "EqProp on the steady state is trained by steady_train::train_steady".into(),
        )),
        Estimator::Adjoint => adjoint_gradient(net, fwd, dl_du),
        Estimator::Echo => {
            // The kick is η in units of the largest ∂L/∂u (a small nudge whatever the loss scale).
            let eta = eta / dl_du.norm_max().max(f64::MIN_POSITIVE);
            let plus = net.echo(fwd, dl_du, eta)?;
            let minus = net.echo(fwd, dl_du, -eta)?;
            Ok(net.echo_gradient(fwd, &plus, Some(&minus), eta))
        }
    }
}

/// Per coupling layer: cosine of the echo gradient with the adjoint on a batch.
pub fn agreement(
    model: &EchoModel,
    x: &Mat<f64>,
    labels: &[usize],
    eta: f64,
) -> Result<(Vec<f64>, f64)> {
    let (fwd, logits) = model.forward(x)?;
    let dl_du = model.w_out.transpose() * squared_error(&logits, labels).2;
    let e = coupling_gradient(&model.net, &fwd, &dl_du, Estimator::Echo, eta)?;
    let a = adjoint_gradient(&model.net, &fwd, &dl_du)?;
    let cos = e
        .coupling
        .iter()
        .zip(&a.coupling)
        .map(|(x, y)| cosine(&flat(x), &flat(y)))
        .collect();
    let max_u = fwd.u.iter().map(|l| l.norm_max()).fold(0.0, f64::max);
    Ok((cos, max_u))
}

/// Per coupling layer: cosine of the echo gradient of one image (column of `x`) with the
/// EqProp gradient of the steady state whose layer 0 is clamped to the same encoded input.
/// The steady state's cost ½‖u^N − y‖² takes y = u^N − ∂L/∂u^N at its own free state, so both
/// are gradients of the same loss, through different maps.
pub fn steady_agreement(
    model: &EchoModel,
    x: &Mat<f64>,
    label: usize,
    eta: f64,
) -> Result<Vec<f64>> {
    let (fwd, logits) = model.forward(x)?;
    let dl_du = model.w_out.transpose() * squared_error(&logits, &[label]).2;
    let echo = coupling_gradient(&model.net, &fwd, &dl_du, Estimator::Echo, eta)?;
    let (m, n) = (model.net.width(), model.net.depth());
    let u0: Vec<f64> = fwd.u[0].col_as_slice(0).to_vec();
    let guess = fwd.column_state(0);
    let targets = |un: &[f64]| -> Vec<f64> {
        let z: Vec<f64> = (0..model.w_out.nrows())
            .map(|r| model.b_out[(r, 0)] + (0..m).map(|k| model.w_out[(r, k)] * un[k]).sum::<f64>())
            .collect();
        (0..m)
            .map(|k| {
                let g: f64 = (0..z.len())
                    .map(|r| model.w_out[(r, k)] * (z[r] - f64::from(r == label)))
                    .sum();
                un[k] - g
            })
            .collect()
    };
    let st =
        super::steady::steady_gradients(&model.net, (&u0, &vec![0.0; m]), guess, targets, 1e-4)?;
    debug_assert_eq!(st.eqprop.len(), n);
    Ok(echo
        .coupling
        .iter()
        .zip(&st.eqprop)
        .map(|(a, b)| cosine(&flat(a), &flat(b)))
        .collect())
}

/// Trains `model` on `train` for `cfg.epochs`, calling `on_epoch` after each epoch (its
/// `Err` stops training). A non-finite forward or echo pass is an error naming the batch.
pub fn train(
    model: &mut EchoModel,
    cfg: &EchoConfig,
    train: &Split,
    val: &Split,
    test: &Split,
    mut on_epoch: impl FnMut(&EpochRecord, &EchoModel) -> Result<()>,
) -> Result<Vec<EpochRecord>> {
    let mut order = EpochOrder::new(cfg, train)?;
    let n = order.len();
    let probe: Vec<usize> = (0..100.min(val.len())).collect();
    let probe_x = pixels(val, &probe);
    let probe_y: Vec<usize> = probe.iter().map(|&i| val.labels[i] as usize).collect();
    let mut vel = Velocity::new(model);
    let mut records = Vec::new();
    for epoch in 1..=cfg.epochs {
        let t0 = std::time::Instant::now();
        let (mut loss, mut wrong) = (0.0, 0usize);
        for (b, idx) in order.shuffled().chunks(cfg.batch_size).enumerate() {
            let x = pixels(train, idx);
            let labels: Vec<usize> = idx.iter().map(|&i| train.labels[i] as usize).collect();
            let at = |e: Error| Error::Diverged(format!("epoch {epoch}, batch {b}: {e}"));
            let (fwd, logits) = model.forward(&x).map_err(at)?;
            let (l, w, dz) = squared_error(&logits, &labels);
            loss += l;
            wrong += w;
            let top = fwd.u.last().expect("layer N");
            let dl_du = model.w_out.transpose() * &dz;
            let g =
                coupling_gradient(&model.net, &fwd, &dl_du, cfg.estimator, cfg.eta).map_err(at)?;
            // Through u⁰ = a·tanh(W x/a): dL/d(W x) = (1 − (u⁰/a)²) ⊙ (dL/du⁰ + dL/du¹).
            let a = model.input_bound;
            let u0 = &fwd.u[0];
            let d_pre = Mat::from_fn(u0.nrows(), u0.ncols(), |r, c| {
                (1.0 - (u0[(r, c)] / a).powi(2)) * (g.u0[(r, c)] + g.u1[(r, c)])
            });
            vel.step(
                model,
                cfg,
                &g.coupling,
                Some(d_pre * x.transpose()),
                &dz,
                top,
            );
        }
        let seconds = t0.elapsed().as_secs_f64();
        // Re-validate the couplings (d_u I ± G must stay invertible).
        model.net = EchoNet::new(model.net.params, model.net.coupling.clone())?;
        let (echo_vs_adjoint, probe_max_u) = agreement(model, &probe_x, &probe_y, cfg.eta)?;
        let echo_vs_steady = (cfg.steady_probe > 0).then(|| {
            let used = cfg.steady_probe.min(probe.len());
            let mut sum = vec![0.0; cfg.depth];
            for c in 0..used {
                let x = Mat::from_fn(probe_x.nrows(), 1, |r, _| probe_x[(r, c)]);
                let cos =
                    steady_agreement(model, &x, probe_y[c], cfg.eta).map_err(|e| e.to_string())?;
                sum.iter_mut()
                    .zip(cos)
                    .for_each(|(s, c)| *s += c / used as f64);
            }
            Ok(sum)
        });
        let rec = EpochRecord {
            epoch,
            train_error: wrong as f64 / n as f64,
            train_loss: loss / n as f64,
            val_error: model.error(val)?,
            test_error: model.error(test)?,
            seconds,
            echo_vs_adjoint,
            probe_max_u,
            echo_vs_steady,
            skipped: 0,
        };
        on_epoch(&rec, model)?;
        records.push(rec);
    }
    Ok(records)
}
