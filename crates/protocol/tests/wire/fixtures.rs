//! Loading fixtures and checking round trips.

use std::path::PathBuf;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The fixture's text.
pub fn text(name: &str) -> String {
    let path = path(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The fixture as a JSON value.
pub fn value(name: &str) -> Value {
    serde_json::from_str(&text(name)).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"))
}

/// Parses the fixture as `T`, checks that writing it back gives the same JSON, and returns it.
pub fn round_trip<T: Serialize + DeserializeOwned>(name: &str) -> T {
    let parsed: T = serde_json::from_str(&text(name)).unwrap_or_else(|e| {
        panic!(
            "{name} does not parse as {}: {e}",
            std::any::type_name::<T>()
        )
    });
    let written = serde_json::to_value(&parsed).expect("serializes");
    assert_eq!(written, value(name), "{name} changed in a round trip");
    parsed
}

/// Parses a JSON value as `T` the way the server does (no line/column in messages), returning the
/// error message.
pub fn refusal<T: DeserializeOwned + std::fmt::Debug>(json: Value) -> String {
    let body = serde_json::to_vec(&json).expect("serializes");
    sliderule_protocol::parse_json_body::<T>(&body)
        .expect_err("should be refused")
        .to_string()
}

#[test]
fn every_fixture_is_valid_json() {
    let dir = path("");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("fixtures folder") {
        let name = entry
            .expect("entry")
            .file_name()
            .into_string()
            .expect("utf-8 name");
        if name.ends_with(".json") {
            value(&name);
            count += 1;
        }
    }
    assert!(count >= 30, "only {count} fixtures found");
}
