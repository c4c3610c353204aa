//! One example of a layered network as a circuit: the graph view
//! ([`LayeredNet::as_graph`]) with the input clamped, named by layer and neuron.

use super::netlist::{NodeNames, Nudge, MAX_ELEMENTS};
use crate::layered::{node_offsets, LayeredNet};
use crate::network::{Cost, FhnNetwork};
use crate::{Error, Result};

/// Node names of the graph view: `<l>_<k>` for neuron k of layer l (activator `u1_17`,
/// inhibitor `v1_17`), `gnd` for the leak's reference node (held at 0 V).
pub struct LayerNames {
    offsets: Vec<usize>,
}

impl LayerNames {
    /// Names for a network of these layer widths.
    pub fn new(widths: &[usize]) -> Self {
        Self {
            offsets: node_offsets(widths),
        }
    }

    /// (layer, neuron) of graph node `i`; `None` for the leak's reference node.
    pub fn locate(&self, i: usize) -> Option<(usize, usize)> {
        let l = self.offsets.iter().rposition(|&o| o <= i)?;
        (l + 1 < self.offsets.len()).then(|| (l, i - self.offsets[l]))
    }
}

impl NodeNames for LayerNames {
    fn name(&self, i: usize) -> String {
        match self.locate(i) {
            Some((l, k)) => format!("{l}_{k}"),
            None => "gnd".into(),
        }
    }
    fn describe(&self, i: usize) -> String {
        match self.locate(i) {
            Some((0, k)) => format!("input {k} (layer 0)"),
            Some((l, k)) => format!("layer {l}, neuron {k}"),
            None => "leak reference (ground potential)".into(),
        }
    }
}

/// A layered network with one input as a graph network, ready for [`super::netlist`].
pub struct LayeredCircuit {
    /// The graph view with input `x` clamped.
    pub net: FhnNetwork,
    /// Its node names.
    pub names: LayerNames,
    /// Graph nodes of the output layer, in order.
    pub outputs: Vec<usize>,
}

/// Elements of the deck of `net` before its graph view is built: one per weight (a conductance)
/// plus a few per neuron. Refuses networks above [`MAX_ELEMENTS`] with the count.
pub fn check_size(net: &LayeredNet<f64>) -> Result<usize> {
    let w = &net.model.widths;
    // Coupled inhibitors carry every weight a second time.
    let copies = 1 + usize::from(net.model.inhibitor_coupling);
    let weights: usize = copies * w.windows(2).map(|p| p[0] * p[1]).sum::<usize>();
    let neurons: usize = w.iter().sum();
    let total = weights.saturating_add(8 * neurons);
    if total > MAX_ELEMENTS {
        return Err(Error::Invalid(format!(
            "a {w:?} network needs about {total} circuit elements ({weights} conductances); at \
             most {MAX_ELEMENTS} make a sensible netlist"
        )));
    }
    Ok(total)
}

/// The circuit of `net` with input `x` (layer 0 clamped to it, inhibitors at 0).
pub fn layered_circuit(net: &LayeredNet<f64>, x: &[f64]) -> Result<LayeredCircuit> {
    check_size(net)?;
    let w = &net.model.widths;
    if x.len() != w[0] {
        return Err(Error::Invalid(format!(
            "the input has {} values, the network {} inputs",
            x.len(),
            w[0]
        )));
    }
    if let Some(k) = x.iter().position(|v| !v.is_finite()) {
        return Err(Error::Invalid(format!("input {k} is not finite")));
    }
    let graph = net.as_graph(x)?;
    let off = node_offsets(w);
    let last = w.len() - 1;
    Ok(LayeredCircuit {
        net: graph,
        names: LayerNames::new(w),
        outputs: (off[last]..off[last + 1]).collect(),
    })
}

impl LayeredCircuit {
    /// The nudge towards class `label`: targets `on` for it and `off` for the others, conductance
    /// 2·cost_scale·β (negative β: the −β phase).
    pub fn nudge(&self, label: usize, on: f64, off: f64, cost_scale: f64, beta: f64) -> Nudge {
        let targets = (0..self.outputs.len())
            .map(|k| if k == label { on } else { off })
            .collect();
        Nudge {
            cost: Cost {
                outputs: self.outputs.clone(),
                targets,
            },
            conductance: 2.0 * cost_scale * beta,
        }
    }
}
