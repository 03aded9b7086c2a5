//! The golden vectors of `tests/data` (see its README): the case list of `vectors.json` and
//! the files it names, for any integration test to use.

// Each test crate that includes this module uses only some of its helpers.
#![allow(dead_code)]

use std::path::PathBuf;

use serde_json::Value;

/// The folder holding `vectors.json`, the layers, the expected zTOCs and their `info.json`.
pub(crate) fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// The bytes of a file of the vectors folder.
pub(crate) fn read(file: &str) -> Vec<u8> {
    let path = vectors_dir().join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// A JSON file of the vectors folder.
pub(crate) fn read_json(file: &str) -> Value {
    serde_json::from_slice(&read(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// Every case of `vectors.json`, in its order.
pub(crate) fn cases() -> Vec<Value> {
    match read_json("vectors.json")
        .get_mut("vectors")
        .map(Value::take)
    {
        Some(Value::Array(cases)) => cases,
        other => panic!("vectors.json has no `vectors` list: {other:?}"),
    }
}

/// The cases for which the reference wrote a zTOC.
pub(crate) fn built_cases() -> Vec<Value> {
    cases()
        .into_iter()
        .filter(|c| c.get("expected_ztoc").is_some())
        .collect()
}

/// A case's name.
pub(crate) fn name(case: &Value) -> &str {
    case["name"].as_str().expect("every case has a name")
}

/// The reference's zTOC bytes for a case, checked against the digest and size the manifest
/// records for them.
pub(crate) fn expected_ztoc(case: &Value) -> Vec<u8> {
    let file = case["expected_ztoc"]
        .as_str()
        .unwrap_or_else(|| panic!("{}: no expected zTOC", name(case)));
    let bytes = read(file);
    assert_eq!(
        Some(bytes.len() as u64),
        case["expected_size"].as_u64(),
        "{file}: size"
    );
    assert_eq!(
        Some(sha256(&bytes).as_str()),
        case["expected_digest"].as_str(),
        "{file}: digest"
    );
    bytes
}

/// The reference's decoded view of a case's zTOC (`info.json`), when its reader accepted it.
pub(crate) fn info(case: &Value) -> Option<Value> {
    case.get("info")?.as_str().map(read_json)
}

/// `sha256:<hex>` of `bytes`, as the manifest writes digests.
pub(crate) fn sha256(bytes: &[u8]) -> String {
    soci_ztoc::sha256_digest(bytes)
}

/// A layer's bytes.
pub(crate) fn layer(case: &Value) -> Vec<u8> {
    read(case["layer"].as_str().expect("every case has a layer"))
}
