//! The checked-in CRDs (`crds/aibid.dev.yaml`) must equal what the code generates (`aibid-operator crdgen`).

#[test]
fn checked_in_crds_match_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../crds/aibid.dev.yaml");
    let checked_in = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let generated = aibid_operator::crd::crd_yaml().unwrap_or_else(|e| panic!("crdgen failed: {e}"));
    assert!(
        checked_in == generated,
        "crds/aibid.dev.yaml is stale: run `cargo run -p aibid-operator -- crdgen > crds/aibid.dev.yaml`"
    );
}
