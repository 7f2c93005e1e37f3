//! Reads the claims of our own access token, for display and for deciding what to show.
//!
//! The signature is not checked here: the token came straight from the authenticator over TLS,
//! and every service verifies it anyway. The page only needs to know who it is showing.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sliderule_protocol::Claims;

/// The claims of a JWT, or `None` when it is not one.
pub fn claims(token: &str) -> Option<Claims> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_come_from_the_middle_part() {
        let payload = URL_SAFE_NO_PAD.encode(
            br#"{"iss":"http://x","sub":"bob","aud":["provisioner","bob"],"org":"SlideRuleEarth","org_roles":["member"],"iat":1,"exp":2}"#,
        );
        let parsed = claims(&format!("e30.{payload}.sig")).expect("claims");
        assert_eq!(parsed.sub, "bob");
        assert_eq!(parsed.exp, 2);
        assert!(parsed.has_audience("bob"));
        assert_eq!(claims("not-a-jwt"), None);
    }
}
