//! The bodies of `POST /auth/github/device` and `/auth/github/device/poll`, read as clients send
//! them: JSON with or without a Content-Type (the official clients), a form (RFC 8628 clients,
//! which also send a `client_id` we ignore), or nothing at all. What is read is checked strictly:
//! a `scope` is one string of known scopes, or the request is refused with `invalid_scope` before
//! anything happens.

use serde_json::{Map, Value};
use sliderule_protocol::{Scopes, Secret, codes};

use super::error::AuthError;

/// The fields the device flow reads; either may be absent.
#[derive(Debug, Default)]
pub struct DeviceRequest {
    pub device_code: Option<Secret>,
    /// `None` when not given, or given blank.
    pub scope: Option<Scopes>,
}

pub fn read(body: &[u8]) -> Result<DeviceRequest, AuthError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(DeviceRequest::default());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(fields)) => from_json(&fields),
        Ok(_) => Err(AuthError::refused(
            codes::INVALID_REQUEST,
            "The request body must be a JSON object, such as {\"scope\": \"sliderule:access\"}",
        )),
        Err(_) => from_form(body),
    }
}

fn from_json(fields: &Map<String, Value>) -> Result<DeviceRequest, AuthError> {
    let scope = match fields.get("scope") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => scopes(text)?,
        Some(_) => {
            return Err(AuthError::refused(
                codes::INVALID_SCOPE,
                "scope must be one string of space-separated scopes, such as \
                 \"sliderule:access provisioner:access\"",
            ));
        }
    };
    // Upstream reads a device code that is not a string as none; so do we.
    let device_code = fields
        .get("device_code")
        .and_then(Value::as_str)
        .map(Secret::new);
    Ok(DeviceRequest { device_code, scope })
}

fn from_form(body: &[u8]) -> Result<DeviceRequest, AuthError> {
    let mut request = DeviceRequest::default();
    for (key, value) in url::form_urlencoded::parse(body) {
        match key.as_ref() {
            "device_code" => request.device_code = Some(Secret::new(value.into_owned())),
            "scope" => request.scope = scopes(&value)?,
            _ => {}
        }
    }
    Ok(request)
}

fn scopes(text: &str) -> Result<Option<Scopes>, AuthError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    Scopes::parse(text)
        .map(Some)
        .map_err(|e| AuthError::refused(codes::INVALID_SCOPE, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope_of(body: &str) -> Option<String> {
        read(body.as_bytes()).unwrap().scope.map(|s| s.to_string())
    }

    /// (code, description) of a refused body.
    fn refusal(body: &str) -> (&'static str, String) {
        match read(body.as_bytes()) {
            Err(AuthError::Refused { code, description }) => (code, description),
            other => panic!("{body}: expected a 400, got {other:?}"),
        }
    }

    #[test]
    fn json_forms_and_nothing_all_read() {
        assert_eq!(scope_of(""), None);
        assert_eq!(scope_of("{}"), None);
        assert_eq!(scope_of(r#"{"scope": null}"#), None);
        assert_eq!(scope_of(r#"{"scope": "  "}"#), None);
        assert_eq!(
            scope_of(r#"{"scope": "provisioner:access sliderule:access"}"#).as_deref(),
            Some("sliderule:access provisioner:access")
        );
        assert_eq!(
            scope_of("client_id=abc&scope=sliderule%3Aaccess").as_deref(),
            Some("sliderule:access")
        );
        let poll = read(br#"{"device_code": "dc-1", "client_id": "x"}"#).unwrap();
        assert_eq!(poll.device_code.as_ref().map(Secret::expose), Some("dc-1"));
        let form = read(b"device_code=dc-2").unwrap();
        assert_eq!(form.device_code.as_ref().map(Secret::expose), Some("dc-2"));
    }

    #[test]
    fn unknown_scopes_are_invalid_scope_naming_the_known_ones() {
        for body in [
            r#"{"scope": "root:everything"}"#,
            r#"{"scope": "sliderule:access bogus"}"#,
            "scope=bogus",
        ] {
            let (code, description) = refusal(body);
            assert_eq!(code, codes::INVALID_SCOPE, "{body}");
            assert!(description.contains("is not known"), "{description}");
            assert!(description.contains("sliderule:admin"), "{description}");
        }
    }

    #[test]
    fn a_scope_that_is_not_a_string_is_invalid_scope() {
        for body in [r#"{"scope": 7}"#, r#"{"scope": ["sliderule:access"]}"#] {
            let (code, description) = refusal(body);
            assert_eq!(code, codes::INVALID_SCOPE, "{body}");
            assert!(
                description.starts_with("scope must be one string"),
                "{body}"
            );
        }
    }

    #[test]
    fn a_json_body_that_is_not_an_object_is_invalid_request() {
        let (code, description) = refusal("7");
        assert_eq!(code, codes::INVALID_REQUEST);
        assert!(description.contains("JSON object"), "{description}");
    }
}
