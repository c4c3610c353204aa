//! The [`EchoModel`]'s parameters as safetensors (f64, row-major: `G{i}` m × m, `w_in`
//! m × pixels, `w_out` classes × m, `b_out` classes × 1).

use super::echo_model::EchoModel;
use crate::error::{Error, Result};
use faer::Mat;
use safetensors::tensor::{Dtype, TensorView};
use std::collections::HashMap;

/// A tensor's name, shape and little-endian bytes.
type Named = (String, (Vec<usize>, Vec<u8>));

fn row_major(m: &Mat<f64>) -> (Vec<usize>, Vec<u8>) {
    let bytes = (0..m.nrows())
        .flat_map(|r| (0..m.ncols()).map(move |c| m[(r, c)]))
        .flat_map(f64::to_le_bytes)
        .collect();
    (vec![m.nrows(), m.ncols()], bytes)
}

impl EchoModel {
    /// The parameters as a safetensors file, with the FHN parameters and the input saturation
    /// in its metadata.
    pub fn to_safetensors(&self) -> Result<Vec<u8>> {
        let mut named: Vec<Named> = self
            .net
            .coupling
            .iter()
            .enumerate()
            .map(|(i, g)| (format!("G{i}"), row_major(g)))
            .collect();
        named.push(("w_in".into(), row_major(&self.w_in)));
        named.push(("w_out".into(), row_major(&self.w_out)));
        named.push(("b_out".into(), row_major(&self.b_out)));
        let views = named
            .iter()
            .map(|(n, (shape, data))| {
                TensorView::new(Dtype::F64, shape.clone(), data)
                    .map(|v| (n.clone(), v))
                    .map_err(|e| Error::Invalid(e.to_string()))
            })
            .collect::<Result<Vec<_>>>()?;
        let p = self.net.params;
        let meta = HashMap::from([
            ("format".to_string(), "fhn-eqprop-echo-model-v1".to_string()),
            (
                "d_u d_v eps alpha beta".to_string(),
                format!("{} {} {} {} {}", p.d_u, p.d_v, p.eps, p.alpha, p.beta),
            ),
            ("input_bound".to_string(), self.input_bound.to_string()),
        ]);
        safetensors::serialize(views, &Some(meta)).map_err(|e| Error::Invalid(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::super::echo_model::{EchoConfig, EchoModel};
    use safetensors::SafeTensors;

    #[test]
    fn the_model_file_holds_every_parameter_with_its_shape_and_values() {
        let cfg = EchoConfig {
            width: 3,
            depth: 2,
            ..EchoConfig::default()
        };
        let m = EchoModel::new(&cfg, 5, 4).unwrap();
        let bytes = m.to_safetensors().unwrap();
        let st = SafeTensors::deserialize(&bytes).unwrap();
        let g1 = st.tensor("G1").unwrap();
        assert_eq!(g1.shape(), &[3, 3]);
        let x = f64::from_le_bytes(g1.data()[8..16].try_into().unwrap());
        assert_eq!(x, m.net.coupling[1][(0, 1)]);
        assert_eq!(st.tensor("w_in").unwrap().shape(), &[3, 5]);
        assert_eq!(st.tensor("w_out").unwrap().shape(), &[4, 3]);
        assert_eq!(st.tensor("b_out").unwrap().shape(), &[4, 1]);
    }
}
