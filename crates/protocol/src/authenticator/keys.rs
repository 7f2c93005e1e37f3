//! The published signing keys (`GET /.well-known/jwks.json`, RFC 7517).
//!
//! Clusters, API Gateway and the web client verify our RS256 tokens with these keys. During a
//! rotation the set holds the old and the new key, told apart by `kid`.

use serde::{Deserialize, Serialize};

/// A JSON Web Key Set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Jwks {
    /// Every published key.
    pub keys: Vec<Jwk>,
}

impl Jwks {
    /// The key with this id.
    pub fn find(&self, kid: &str) -> Option<&Jwk> {
        self.keys.iter().find(|k| k.kid == kid)
    }
}

/// One RSA public key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Jwk {
    /// `RSA`.
    pub kty: String,
    /// `RS256`.
    pub alg: String,
    /// `sig`.
    #[serde(rename = "use")]
    pub use_: String,
    /// The key id, as in the JWT header.
    pub kid: String,
    /// The modulus, base64url without padding.
    pub n: String,
    /// The public exponent, base64url without padding (`AQAB`).
    pub e: String,
}

impl Jwk {
    /// An RS256 signing key with this id, modulus and exponent (already base64url-encoded).
    pub fn rs256(kid: impl Into<String>, n: impl Into<String>, e: impl Into<String>) -> Self {
        Self {
            kty: "RSA".into(),
            alg: "RS256".into(),
            use_: "sig".into(),
            kid: kid.into(),
            n: n.into(),
            e: e.into(),
        }
    }
}
