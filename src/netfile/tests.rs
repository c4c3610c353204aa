//! Tests of the network file: parsing, errors with line numbers, round trips.

#[test]
fn a_written_file_parses_back_to_the_same_network() {
    let p = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/ring.toml");
    let spec = super::load(&p).unwrap();
    let text = super::RawNetwork::of(&spec).to_toml();
    let back = super::parse(&text, &p).unwrap();
    assert_eq!(back.network.activator, spec.network.activator);
    assert_eq!(back.network.inhibitor, spec.network.inhibitor);
    assert_eq!(back.network.current, spec.network.current);
    assert_eq!(back.network.clamps, spec.network.clamps);
    assert_eq!(back.network.params, spec.network.params);
    assert_eq!(back.cost, spec.cost);
    let mut raw = super::RawNetwork::of(&spec);
    raw.currents.push((3, f64::NAN));
    let e = super::parse(&raw.to_toml(), &p).unwrap_err().to_string();
    assert!(e.contains("currents entry 2"), "{e}");
}

use super::*;

fn parse_str(s: &str) -> Result<NetworkSpec> {
    parse(s, Path::new("test.toml"))
}

#[test]
fn parses_the_example_file() {
    let spec = load(Path::new("examples/ring.toml")).unwrap();
    assert!(spec.network.n() >= 10);
    assert!(spec.cost.is_some());
}

#[test]
fn errors_name_the_line_and_the_problem() {
    let text = "nodes = 3\nactivator_edges = [\n  [0, 1, 1.0],\n  [1, 1, 1.0],\n]\n";
    let e = parse_str(text).unwrap_err().to_string();
    assert!(e.contains("test.toml:4") && e.contains("self-loop"), "{e}");
    let e = parse_str("nodes = 3\nactivator_edges = [[0, 7, 1.0]]\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains(":2") && e.contains("outside"), "{e}");
    let e = parse_str("nodes = 3\nactivator_edges = [[0, 1, nan]]\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("non-finite"), "{e}");
    let e = parse_str("nodes = 0\n").unwrap_err().to_string();
    assert!(e.contains("no nodes"), "{e}");
    let e = parse_str("nodes = 3\nactivator_edges = [[0, 1, 1.0]\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("test.toml:"), "{e}");
    let e = parse_str("nodes = 3\nbogus = 1\n").unwrap_err().to_string();
    assert!(e.contains("bogus"), "{e}");
    let e = parse_str("nodes = 3\n[params]\neps = -1\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("eps"), "{e}");
}

#[test]
fn absurd_sizes_are_refused_before_allocating() {
    for n in ["9223372036854775807", "1000000000", "1000001"] {
        let e = parse_str(&format!("# big\nnodes = {n}\n"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("test.toml:2") && e.contains("at most 1000000"),
            "{e}"
        );
    }
    assert_eq!(
        parse_str("nodes = 1000000\n").unwrap().network.n(),
        MAX_NODES
    );
}

#[test]
fn crlf_and_multibyte_text_before_an_error_give_its_line() {
    let text = "# a\r\n# b\r\nnodes = 3 # réseau ✓\r\nactivator_edges = [\r\n  [0, 1, 1.0],\r\n  [1, 1, 1.0],\r\n]\r\n";
    let e = parse_str(text).unwrap_err().to_string();
    assert!(e.contains("test.toml:6") && e.contains("self-loop"), "{e}");
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    /// Values that exercise every check: huge, negative and non-finite numbers, arrays
    /// of the right and wrong shapes, strings, tables.
    fn value() -> impl Strategy<Value = String> {
        let int = prop_oneof![
            0i64..6,
            Just(-1i64),
            Just(1_000_000),
            Just(1_000_001),
            Just(i64::MAX),
            any::<i64>(),
        ];
        let num = prop_oneof![
            int.clone().prop_map(|i| i.to_string()),
            Just("nan".to_string()),
            Just("-inf".to_string()),
            Just("1e308".to_string()),
            Just("1e200".to_string()),
            (-3.0f64..3.0).prop_map(|x| format!("{x:?}")),
        ];
        let entry = proptest::collection::vec(num.clone(), 0..4)
            .prop_map(|xs| format!("[{}]", xs.join(", ")));
        prop_oneof![
            num,
            proptest::collection::vec(entry, 0..5).prop_map(|es| format!("[{}]", es.join(",\n  "))),
            Just("\"parra-rivas\"".to_string()),
            Just("\"é✓\"".to_string()),
            Just("{ a = 1 }".to_string()),
            Just("[".to_string()),
        ]
    }

    fn toml_ish() -> impl Strategy<Value = String> {
        let key = prop_oneof![
            Just("nodes"),
            Just("activator_edges"),
            Just("inhibitor_edges"),
            Just("currents"),
            Just("clamps"),
            Just("outputs"),
            Just("preset"),
            Just("delta"),
            Just("eps"),
            Just("alpha"),
            Just("tau_u"),
            Just("bogus"),
        ];
        let line = prop_oneof![
            4 => (key, value()).prop_map(|(k, v)| format!("{k} = {v}")),
            1 => Just("[params]".to_string()),
            1 => Just("# commentaire é".to_string()),
            1 => "[ -~]{0,12}",
        ];
        (
            0i64..8,
            proptest::collection::vec(line, 0..8),
            any::<bool>(),
        )
            .prop_map(|(n, lines, crlf)| {
                let body = lines.join(if crlf { "\r\n" } else { "\n" });
                format!("nodes = {n}\n{body}\n")
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let text = String::from_utf8_lossy(&bytes);
            let _ = parse(&text, Path::new("fuzz.toml"));
        }

        #[test]
        fn toml_ish_text_never_panics(text in toml_ish()) {
            match parse(&text, Path::new("fuzz.toml")) {
                Ok(spec) => prop_assert!(spec.network.n() <= MAX_NODES),
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }
    }
}
