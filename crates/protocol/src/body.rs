//! Reading a JSON request body the way the spec asks, with errors fit for a person.
//!
//! The official Python client posts JSON without a `Content-Type`, and some clients post nothing
//! at all, so a body is JSON whatever the header says and an empty body counts as `{}`.
//!
//! Parsing goes through `serde_json::Value` on purpose: serde_json appends "at line 1 column 37"
//! to errors it finds while reading text, which means nothing to someone who called
//! `session.provisioner.deploy(...)`. Errors found while converting a `Value` carry only the
//! message, e.g. the cluster name rule.

use serde::de::DeserializeOwned;
use thiserror::Error;

use crate::error::ErrorBody;

/// A request body that could not be read. Its `Display` is the 400's `error_description`.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum BodyError {
    /// Not JSON at all.
    #[error("the request body is not valid JSON: {0}")]
    NotJson(String),
    /// JSON, but not the expected shape, or a field breaks its rule.
    #[error("{0}")]
    Invalid(String),
}

impl From<BodyError> for ErrorBody {
    fn from(err: BodyError) -> Self {
        ErrorBody::invalid_request(err.to_string())
    }
}

/// Parses a request body. Blank means `{}`; unknown fields are ignored (by the types' own serde
/// attributes, which never deny them).
pub fn parse_json_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, BodyError> {
    let value = if body.iter().all(u8::is_ascii_whitespace) {
        serde_json::Value::Object(serde_json::Map::new())
    } else {
        serde_json::from_slice(body).map_err(|e| BodyError::NotJson(e.to_string()))?
    };
    serde_json::from_value(value).map_err(|e| BodyError::Invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;
    use crate::ClusterName;

    #[derive(Debug, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    struct Probe {
        cluster: ClusterName,
    }

    #[derive(Debug, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    struct Anything {
        #[serde(default)]
        branch: Option<String>,
    }

    #[test]
    fn empty_body_counts_as_an_empty_object() {
        let parsed: Anything = parse_json_body(b"").unwrap();
        assert_eq!(parsed.branch, None);
        let parsed: Anything = parse_json_body(b"  \n").unwrap();
        assert_eq!(parsed.branch, None);
    }

    #[test]
    fn field_errors_carry_no_line_and_column() {
        let err = parse_json_body::<Probe>(br#"{"cluster":"my_cluster"}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cluster name \"my_cluster\" is not valid: DNS names cannot hold underscores; use \
             letters, digits and hyphens"
        );
    }

    #[test]
    fn valid_bodies_parse_whatever_surrounds_them() {
        let probe: Probe = parse_json_body(b" {\"cluster\":\"Alice\",\"extra\":1}\n").unwrap();
        assert_eq!(probe.cluster, "alice");
    }

    #[test]
    fn missing_fields_are_named() {
        let err = parse_json_body::<Probe>(b"{}").unwrap_err();
        assert_eq!(err.to_string(), "missing field `cluster`");
    }

    #[test]
    fn broken_json_is_reported_as_such() {
        let err = parse_json_body::<Probe>(b"{cluster:").unwrap_err();
        assert!(matches!(err, BodyError::NotJson(_)));
        let body: ErrorBody = err.into();
        assert_eq!(body.error, "invalid_request");
        assert!(
            body.error_description
                .starts_with("the request body is not valid JSON")
        );
    }
}
