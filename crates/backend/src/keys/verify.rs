//! Verifying our own JWTs, the one way every part of the project does it.
//!
//! The algorithm is pinned to RS256 before anything else is looked at (so `alg: none`, HS256
//! signed with our public key, RS384 and ES256 tokens never reach a key), `iss`, `aud` and `exp`
//! are required, `nbf` is honoured, clock skew is at most 60 s, and a token naming a key we do not
//! publish is refused.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use sliderule_protocol::Claims;

use super::KeySet;

/// Allowed clock difference between us and whoever issued or presents the token.
pub(crate) const LEEWAY_SECS: u64 = 60;

/// What a token must say to be accepted.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    pub issuer: &'a str,
    /// The audience the caller needs (`"provisioner"`); `None` accepts any, but `aud` must exist.
    pub audience: Option<&'a str>,
}

/// Why a token was refused; each becomes a 401 whose description says this.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("tokens must be signed with RS256; this one says {0}")]
    WrongAlgorithm(String),
    #[error("the token names no signing key (kid)")]
    MissingKeyId,
    #[error("the token was signed by a key this service does not publish")]
    UnknownKey,
    #[error("the token's signature does not verify")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token was issued by someone else")]
    WrongIssuer,
    #[error("the token is not meant for this service")]
    WrongAudience,
    #[error("the token lacks the {0} claim")]
    MissingClaim(String),
    #[error("the token's claims are not ours: {0}")]
    InvalidClaims(String),
}

pub fn verify(token: &str, keys: &KeySet, expected: Expected<'_>) -> Result<Claims, TokenError> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| match e.kind() {
        // `alg` values jsonwebtoken does not know (such as "none") fail header parsing.
        ErrorKind::Json(_) => algorithm_of(token)
            .filter(|alg| alg != "RS256")
            .map_or(TokenError::Malformed, TokenError::WrongAlgorithm),
        _ => TokenError::Malformed,
    })?;
    if header.alg != Algorithm::RS256 {
        return Err(TokenError::WrongAlgorithm(format!("{:?}", header.alg)));
    }
    let kid = header.kid.ok_or(TokenError::MissingKeyId)?;
    let key = keys.find(&kid).ok_or(TokenError::UnknownKey)?;

    let mut validation = Validation::new(Algorithm::RS256);
    validation.leeway = LEEWAY_SECS;
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    validation.set_issuer(&[expected.issuer]);
    match expected.audience {
        Some(audience) => validation.set_audience(&[audience]),
        None => validation.validate_aud = false,
    }

    // Validate first (into a plain JSON value, so a missing registered claim is reported as
    // such), then read our claim set.
    let claims = jsonwebtoken::decode::<serde_json::Value>(token, key.decoding_key(), &validation)
        .map(|data| data.claims)
        .map_err(|e| match e.into_kind() {
            ErrorKind::ExpiredSignature => TokenError::Expired,
            ErrorKind::ImmatureSignature => TokenError::NotYetValid,
            ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
            ErrorKind::InvalidAudience => TokenError::WrongAudience,
            ErrorKind::MissingRequiredClaim(claim) => TokenError::MissingClaim(claim),
            ErrorKind::InvalidSignature => TokenError::BadSignature,
            _ => TokenError::Malformed,
        })?;
    serde_json::from_value(claims).map_err(|e| TokenError::InvalidClaims(e.to_string()))
}

/// Reads `alg` from a header jsonwebtoken refused, to say which algorithm was offered.
fn algorithm_of(token: &str) -> Option<String> {
    use base64::Engine;
    let header = token.split('.').next()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value.get("alg")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::signing_key::tests::test_key;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::{Value, json};

    const ISSUER: &str = "https://login.sliderule.test";

    fn now() -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }

    fn claims() -> Value {
        json!({
            "iss": ISSUER, "sub": "bob", "github_id": 1002, "aud": ["provisioner", "bob"],
            "org": "SlideRuleEarth", "org_roles": ["member"], "scope": "sliderule:access provisioner:access",
            "max_nodes": 10, "max_ttl": 720, "iat": now(), "nbf": now(), "exp": now() + 3600, "jti": "abc",
        })
    }

    fn keys() -> KeySet {
        KeySet {
            signing: test_key(),
            published: vec![test_key()],
        }
    }

    fn expect(audience: Option<&str>) -> Expected<'_> {
        Expected {
            issuer: ISSUER,
            audience,
        }
    }

    fn check(token: &str) -> Result<Claims, TokenError> {
        verify(token, &keys(), expect(Some("provisioner")))
    }

    fn signed(claims: &Value) -> String {
        test_key().sign(claims).unwrap()
    }

    fn with(field: &str, value: Value) -> String {
        let mut c = claims();
        c[field] = value;
        signed(&c)
    }

    fn b64(value: &Value) -> String {
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    #[test]
    fn our_own_token_verifies_with_every_claim() {
        let claims = check(&signed(&claims())).unwrap();
        assert_eq!(claims.sub, "bob");
        assert_eq!(claims.github_id, Some(1002));
        assert!(claims.has_audience("provisioner"));
    }

    #[test]
    fn the_header_names_rs256_jwt_and_our_kid() {
        let token = signed(&claims());
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.alg, Algorithm::RS256);
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        assert_eq!(header.kid.as_deref(), Some(test_key().kid()));
    }

    #[test]
    fn alg_none_is_refused() {
        let header = json!({"alg": "none", "typ": "JWT", "kid": test_key().kid()});
        let token = format!("{}.{}.", b64(&header), b64(&claims()));
        assert_eq!(
            check(&token),
            Err(TokenError::WrongAlgorithm("none".into()))
        );
    }

    #[test]
    fn hs256_signed_with_our_public_key_is_refused() {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(test_key().kid().to_owned());
        let secret = EncodingKey::from_secret(test_key().public_pem().as_bytes());
        let token = jsonwebtoken::encode(&header, &claims(), &secret).unwrap();
        assert_eq!(
            check(&token),
            Err(TokenError::WrongAlgorithm("HS256".into()))
        );
    }

    #[test]
    fn rs384_with_our_own_key_is_refused() {
        let mut header = Header::new(Algorithm::RS384);
        header.kid = Some(test_key().kid().to_owned());
        let key = EncodingKey::from_rsa_pem(test_key().private_pem().as_bytes()).unwrap();
        let token = jsonwebtoken::encode(&header, &claims(), &key).unwrap();
        assert_eq!(
            check(&token),
            Err(TokenError::WrongAlgorithm("RS384".into()))
        );
    }

    #[test]
    fn es256_is_refused() {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &aws_lc_rs::rand::SystemRandom::new(),
        )
        .unwrap();
        let key = EncodingKey::from_ec_der(pkcs8.as_ref());
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(test_key().kid().to_owned());
        let token = jsonwebtoken::encode(&header, &claims(), &key).unwrap();
        assert_eq!(
            check(&token),
            Err(TokenError::WrongAlgorithm("ES256".into()))
        );
    }

    #[test]
    fn a_wrong_issuer_is_refused() {
        let token = with("iss", json!("https://login.evil.test"));
        assert_eq!(check(&token), Err(TokenError::WrongIssuer));
    }

    #[test]
    fn a_missing_or_wrong_audience_is_refused() {
        assert_eq!(
            check(&with("aud", json!(["bob"]))),
            Err(TokenError::WrongAudience)
        );
        let mut c = claims();
        c.as_object_mut().unwrap().remove("aud");
        assert_eq!(
            check(&signed(&c)),
            Err(TokenError::MissingClaim("aud".into()))
        );
        assert_eq!(
            verify(&signed(&c), &keys(), expect(None)),
            Err(TokenError::MissingClaim("aud".into())),
            "aud is required even when any audience will do"
        );
    }

    #[test]
    fn a_token_without_our_claims_is_refused() {
        let mut c = claims();
        c.as_object_mut().unwrap().remove("sub");
        assert!(
            matches!(check(&signed(&c)), Err(TokenError::InvalidClaims(m)) if m.contains("sub"))
        );
    }

    #[test]
    fn an_expired_token_is_refused_after_the_leeway() {
        assert!(
            check(&with("exp", json!(now() - 30))).is_ok(),
            "within 60 s of skew"
        );
        assert_eq!(
            check(&with("exp", json!(now() - 90))),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn a_token_not_valid_yet_is_refused() {
        assert_eq!(
            check(&with("nbf", json!(now() + 600))),
            Err(TokenError::NotYetValid)
        );
    }

    #[test]
    fn an_unknown_kid_is_refused() {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some("not-a-key-we-publish".into());
        let key = EncodingKey::from_rsa_pem(test_key().private_pem().as_bytes()).unwrap();
        let token = jsonwebtoken::encode(&header, &claims(), &key).unwrap();
        assert_eq!(check(&token), Err(TokenError::UnknownKey));
    }

    #[test]
    fn a_missing_kid_is_refused() {
        let key = EncodingKey::from_rsa_pem(test_key().private_pem().as_bytes()).unwrap();
        let token = jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims(), &key).unwrap();
        assert_eq!(check(&token), Err(TokenError::MissingKeyId));
    }

    #[test]
    fn a_tampered_payload_is_refused() {
        let token = signed(&claims());
        let mut parts: Vec<&str> = token.split('.').collect();
        let mut forged = claims();
        forged["org_roles"] = json!(["owner", "member"]);
        forged["aud"] = json!(["provisioner", "*"]);
        let payload = b64(&forged);
        parts[1] = &payload;
        assert_eq!(check(&parts.join(".")), Err(TokenError::BadSignature));
    }

    #[test]
    fn garbage_is_malformed() {
        for token in ["", "abc", "a.b.c", "....."] {
            assert_eq!(check(token), Err(TokenError::Malformed), "{token:?}");
        }
    }
}
