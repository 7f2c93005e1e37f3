//! Request bodies of the OAuth endpoints: form-encoded as RFC 6749 says, or JSON as many clients
//! send. Decided by the content, not the header (the official clients send none).

use serde::de::DeserializeOwned;
use sliderule_protocol::parse_json_body;

use super::error::AuthError;
use sliderule_protocol::codes;

pub fn form_or_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, AuthError> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'{') {
        return Ok(parse_json_body(body)?);
    }
    let fields: serde_json::Map<String, serde_json::Value> = url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), serde_json::Value::String(v.into_owned())))
        .collect();
    serde_json::from_value(serde_json::Value::Object(fields))
        .map_err(|e| AuthError::refused(codes::INVALID_REQUEST, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Probe {
        grant_type: String,
        #[serde(default)]
        code: Option<String>,
    }

    #[test]
    fn forms_and_json_read_alike() {
        let form: Probe = form_or_json(b"grant_type=authorization_code&code=a%2Bb").unwrap();
        let json: Probe =
            form_or_json(br#" {"grant_type":"authorization_code","code":"a+b"}"#).unwrap();
        assert_eq!(form, json);
    }

    #[test]
    fn a_missing_field_is_invalid_request() {
        let error = form_or_json::<Probe>(b"code=x").unwrap_err();
        assert!(error.to_string().contains("grant_type"), "{error}");
    }
}
