//! Checkpoints as safetensors (readable from Python): weights `w{l}` (n_{l+1} × n_l, row-major
//! f32), biases `b{l}`, momentum (or Adam first-moment) buffers `mw{l}`/`mb{l}`, and under
//! Adam its second moments `vw{l}`/`vb{l}`; metadata holds the configuration (TOML), the
//! completed epoch, the learning-rate scale and under Adam its step count. Written atomically.

use super::config::{OptimizerKind, TrainConfig};
use super::optim::OptimState;
use crate::error::{Error, Result};
use crate::layered::LayeredNet;
use faer::Mat;
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use std::collections::HashMap;
use std::path::Path;

/// Everything needed to resume or evaluate a run.
pub struct Checkpoint {
    /// The configuration the run used.
    pub config: TrainConfig,
    /// Completed epochs.
    pub epoch: usize,
    /// Current learning-rate scale (product of decays).
    pub lr_scale: f64,
    /// The network.
    pub net: LayeredNet<f32>,
    /// The update rule's buffers.
    pub optim: OptimState,
}

fn mat_bytes(m: &Mat<f32>) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 * m.nrows() * m.ncols());
    for i in 0..m.nrows() {
        for j in 0..m.ncols() {
            out.extend_from_slice(&m[(i, j)].to_le_bytes());
        }
    }
    out
}

fn vec_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Serialises a checkpoint to bytes.
pub fn to_bytes(c: &Checkpoint) -> Result<Vec<u8>> {
    let mut named: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    let mut buffers = vec![("m", &c.optim.first)];
    buffers.extend(c.optim.second.as_ref().map(|v| ("v", v)));
    for (l, w) in c.net.weights.iter().enumerate() {
        let shape = vec![w.nrows(), w.ncols()];
        named.push((format!("w{l}"), shape.clone(), mat_bytes(w)));
        for (p, g) in &buffers {
            named.push((format!("{p}w{l}"), shape.clone(), mat_bytes(&g.w[l])));
        }
    }
    for (l, b) in c.net.biases.iter().enumerate() {
        named.push((format!("b{l}"), vec![b.len()], vec_bytes(b)));
        for (p, g) in &buffers {
            named.push((format!("{p}b{l}"), vec![b.len()], vec_bytes(&g.b[l])));
        }
    }
    let mut meta = HashMap::from([
        ("format".to_string(), "fhn-eqprop-checkpoint-v1".to_string()),
        ("config".to_string(), c.config.to_toml()),
        ("epoch".to_string(), c.epoch.to_string()),
        ("lr_scale".to_string(), format!("{:e}", c.lr_scale)),
    ]);
    if c.optim.second.is_some() {
        meta.insert("adam_steps".to_string(), c.optim.steps.to_string());
    }
    serialize(&named, meta)
}

pub(super) fn serialize(
    named: &[(String, Vec<usize>, Vec<u8>)],
    meta: HashMap<String, String>,
) -> Result<Vec<u8>> {
    let views: Vec<(String, TensorView)> = named
        .iter()
        .map(|(n, s, d)| {
            Ok((
                n.clone(),
                TensorView::new(Dtype::F32, s.clone(), d)
                    .map_err(|e| Error::Invalid(e.to_string()))?,
            ))
        })
        .collect::<Result<_>>()?;
    let bytes =
        safetensors::serialize(views, &Some(meta)).map_err(|e| Error::Invalid(e.to_string()))?;
    canonical_header(bytes)
}

/// Rewrites the JSON header of a safetensors file with sorted keys (the crate writes its
/// metadata map in hash order), so that identical runs give byte-identical files. The header
/// keeps its length: same keys and values, padded with spaces as the format allows.
fn canonical_header(mut bytes: Vec<u8>) -> Result<Vec<u8>> {
    let broken = || Error::Invalid("safetensors header malformed".into());
    let len = u64::from_le_bytes(bytes[..8].try_into().map_err(|_| broken())?) as usize;
    let header = bytes.get(8..8 + len).ok_or_else(broken)?;
    let value: serde_json::Value = serde_json::from_slice(header).map_err(|_| broken())?;
    let sorted = serde_json::to_vec(&value).map_err(|_| broken())?; // serde_json maps are sorted
    if sorted.len() > len {
        return Err(broken());
    }
    let region = &mut bytes[8..8 + len];
    region[..sorted.len()].copy_from_slice(&sorted);
    region[sorted.len()..].fill(b' ');
    Ok(bytes)
}

/// Writes f32 matrices (row-major, shape rows × cols) to a safetensors file, atomically.
pub fn save_matrices(path: &Path, mats: &[(&str, &Mat<f32>)]) -> Result<()> {
    let named: Vec<_> = mats
        .iter()
        .map(|(n, m)| (n.to_string(), vec![m.nrows(), m.ncols()], mat_bytes(m)))
        .collect();
    crate::io::write_atomic(path, &serialize(&named, HashMap::new())?)
}

/// Writes a checkpoint atomically.
pub fn save(path: &Path, c: &Checkpoint) -> Result<()> {
    crate::io::write_atomic(path, &to_bytes(c)?)
}

/// Reads a checkpoint; every inconsistency is reported with the file's name.
pub fn load(path: &Path) -> Result<Checkpoint> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    from_bytes(&bytes, path)
}

/// A checkpoint from the bytes [`to_bytes`] wrote; errors name `origin` (a file, or where the
/// bytes came from).
pub fn from_bytes(bytes: &[u8], origin: &Path) -> Result<Checkpoint> {
    let path = origin;
    let bad = |msg: String| Error::Parse {
        path: path.into(),
        line: None,
        msg,
    };
    let st = SafeTensors::deserialize(bytes)
        .map_err(|e| bad(format!("not a valid safetensors file: {e}")))?;
    let (_, meta) = SafeTensors::read_metadata(bytes).map_err(|e| bad(e.to_string()))?;
    let meta = meta
        .metadata()
        .clone()
        .ok_or_else(|| bad("no metadata".into()))?;
    let get = |k: &str| {
        meta.get(k)
            .cloned()
            .ok_or_else(|| bad(format!("metadata lacks '{k}'")))
    };
    if get("format")? != "fhn-eqprop-checkpoint-v1" {
        return Err(bad("unknown checkpoint format".into()));
    }
    let config = TrainConfig::from_toml(&get("config")?, path)?;
    let epoch: usize = get("epoch")?.parse().map_err(|_| bad("bad epoch".into()))?;
    let lr_scale: f64 = get("lr_scale")?
        .parse()
        .map_err(|_| bad("bad lr_scale".into()))?;
    let floats = |name: &str, shape: &[usize]| -> Result<Vec<f32>> {
        let t = st
            .tensor(name)
            .map_err(|e| bad(format!("tensor {name}: {e}")))?;
        if t.dtype() != Dtype::F32 || t.shape() != shape {
            return Err(bad(format!(
                "tensor {name} has shape {:?}, expected {shape:?}",
                t.shape()
            )));
        }
        let v: Vec<f32> = t
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if v.iter().any(|x| !x.is_finite()) {
            return Err(bad(format!("tensor {name} holds non-finite values")));
        }
        Ok(v)
    };
    let w = &config.model.widths;
    let mut net = LayeredNet::<f32>::zeros(config.model.clone())?;
    let mut optim = OptimState::zeros(&net, config.training.optimizer);
    let mut buffers = vec![("m", &mut optim.first)];
    buffers.extend(optim.second.as_mut().map(|v| ("v", v)));
    for l in 0..w.len() - 1 {
        let shape = [w[l + 1], w[l]];
        let mat = |name: &str| -> Result<Mat<f32>> {
            let v = floats(name, &shape)?;
            Ok(Mat::from_fn(shape[0], shape[1], |i, j| v[i * shape[1] + j]))
        };
        net.weights[l] = mat(&format!("w{l}"))?;
        net.biases[l] = floats(&format!("b{l}"), &[w[l + 1]])?;
        for (p, g) in buffers.iter_mut() {
            g.w[l] = mat(&format!("{p}w{l}"))?;
            g.b[l] = floats(&format!("{p}b{l}"), &[w[l + 1]])?;
        }
    }
    if config.training.optimizer == OptimizerKind::Adam {
        optim.steps = get("adam_steps")?
            .parse()
            .map_err(|_| bad("bad adam_steps".into()))?;
    } else if meta.contains_key("adam_steps") {
        return Err(bad(
            "Adam's step count under a heavy-ball configuration".into()
        ));
    }
    Ok(Checkpoint {
        config,
        epoch,
        lr_scale,
        net,
        optim,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn round_trip_and_corruption_detection() {
        let config = TrainConfig::preset("tiny").unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let net = LayeredNet::<f32>::random(config.model.clone(), 0.1, false, &mut rng).unwrap();
        let optim = OptimState::zeros(&net, config.training.optimizer);
        let c = Checkpoint {
            config,
            epoch: 3,
            lr_scale: 0.9,
            net,
            optim,
        };
        let dir = std::env::temp_dir().join(format!("fhn-ckpt-{}", std::process::id()));
        let p = dir.join("c.safetensors");
        save(&p, &c).unwrap();
        let back = load(&p).unwrap();
        assert_eq!(back.epoch, 3);
        assert_eq!(back.net.weights[1][(4, 7)], c.net.weights[1][(4, 7)]);
        assert_eq!(back.config, c.config);
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() - 100]).unwrap();
        let e = load(&p).err().unwrap().to_string();
        assert!(e.contains("c.safetensors"), "{e}");
        // Non-finite values, a wrong shape and a foreign format are refused, each by name.
        let mut bad = Checkpoint {
            config: c.config.clone(),
            epoch: 3,
            lr_scale: 0.9,
            net: c.net.clone(),
            optim: c.optim.clone(),
        };
        bad.optim.first.b[1][2] = f32::NAN;
        save(&p, &bad).unwrap();
        let e = load(&p).err().unwrap().to_string();
        assert!(e.contains("mb1") && e.contains("non-finite"), "{e}");
        let mut wide = c.config.clone();
        wide.model.widths[1] += 1;
        let named = [(
            "w0".to_string(),
            vec![32usize, 784],
            mat_bytes(&c.net.weights[0]),
        )];
        let meta = HashMap::from([
            ("format".to_string(), "fhn-eqprop-checkpoint-v1".to_string()),
            ("config".to_string(), wide.to_toml()),
            ("epoch".to_string(), "1".to_string()),
            ("lr_scale".to_string(), "1".to_string()),
        ]);
        std::fs::write(&p, serialize(&named, meta.clone()).unwrap()).unwrap();
        let e = load(&p).err().unwrap().to_string();
        assert!(e.contains("w0") && e.contains("[33, 784]"), "{e}");
        let mut foreign = meta;
        foreign.insert("format".into(), "other".into());
        std::fs::write(&p, serialize(&named, foreign).unwrap()).unwrap();
        assert!(load(&p).err().unwrap().to_string().contains("format"));
        // Plain matrices (the cross-check dump) are row-major f32 under their names.
        let m = Mat::from_fn(2, 3, |i, j| (3 * i + j) as f32);
        save_matrices(&p, &[("x", &m)]).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        let st = SafeTensors::deserialize(&bytes).unwrap();
        let x = st.tensor("x").unwrap();
        assert_eq!(x.shape(), &[2, 3]);
        assert_eq!(
            x.data(),
            vec_bytes(&[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]).as_slice()
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
