//! Owners' request signing on the wire (provisioner.md, "Request signing"): the two headers and
//! the string an Ed25519 signature covers, as the official 5.x client builds it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;

/// The header carrying the signing time, unix seconds.
pub const TIMESTAMP_HEADER: &str = "x-sliderule-timestamp";
/// The header carrying the signature, standard base64.
pub const SIGNATURE_HEADER: &str = "x-sliderule-signature";
/// How far a signing time may be from the server's clock, either way, in seconds.
pub const WINDOW_SECS: i64 = 60;

/// The string a signature covers: padded base64url of `host` + `path` (the `Host` header and the
/// path as sent), `:`, the timestamp, `:`, padded base64url of the raw body.
pub fn canonical(host: &str, path: &str, timestamp: &str, body: &[u8]) -> String {
    let target = URL_SAFE.encode(format!("{host}{path}"));
    format!("{target}:{timestamp}:{}", URL_SAFE.encode(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canonical_string_is_the_clients_padded_base64url_of_host_path_and_body() {
        // As the 5.x client computes it: urlsafe_b64encode keeps the '=' padding.
        assert_eq!(
            canonical("provisioner.sliderule.test", "/info", "1700000000", b"{}"),
            "cHJvdmlzaW9uZXIuc2xpZGVydWxlLnRlc3QvaW5mbw==:1700000000:e30="
        );
        assert!(canonical("h", "/p", "1", b"").ends_with(":1:"));
    }
}
