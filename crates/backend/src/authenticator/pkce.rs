//! PKCE with S256 (RFC 7636): the verifier presented at the token endpoint must hash to the
//! challenge bound at the authorization endpoint. `plain` is never accepted (OAuth 2.1).

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// `BASE64URL(SHA256(verifier)) == challenge`, compared in constant time.
pub fn verifies(verifier: &str, challenge: &str) -> bool {
    let computed = URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()));
    verify_slices_are_equal(computed.as_bytes(), challenge.as_bytes()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn the_rfc_7636_example_verifies() {
        assert!(verifies(VERIFIER, CHALLENGE));
    }

    #[test]
    fn another_verifier_does_not_verify() {
        assert!(!verifies(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX",
            CHALLENGE
        ));
    }

    #[test]
    fn the_plain_method_is_not_accepted() {
        // With `plain`, the challenge would equal the verifier.
        assert!(!verifies(VERIFIER, VERIFIER));
    }
}
