//! One RSA signing key: generated or loaded from PEM, with what we publish about it (the JWK in
//! JWKS, the SPKI PEM that cluster load balancers download at boot).
//!
//! RSA comes from AWS-LC (`aws-lc-rs`), which is constant-time; the pure-Rust `rsa` crate has an
//! open timing advisory (RUSTSEC-2023-0071). The key id is the key's RFC 7638 thumbprint, so the
//! same key always has the same `kid` on every replica, with nothing to coordinate.
//!
//! A key may also live in AWS KMS (`authenticator.kms_key_id`, see [`super::kms`]): its private
//! part never leaves KMS, which signs each token ([`SigningKey::sign_async`]); what we publish is
//! derived from its public key the same way.

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use aws_lc_rs::signature::RSA_PKCS1_SHA256;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::DecodingKey;
use serde::Serialize;
use sliderule_protocol::authenticator::keys::Jwk;

/// RSA modulus sizes we sign with; 2048 is the default (and all SlideRule clusters need).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
pub enum KeyBits {
    #[default]
    #[serde(rename = "2048")]
    Rsa2048,
    #[serde(rename = "3072")]
    Rsa3072,
    #[serde(rename = "4096")]
    Rsa4096,
}

impl KeyBits {
    pub fn bits(self) -> u32 {
        match self {
            KeyBits::Rsa2048 => 2048,
            KeyBits::Rsa3072 => 3072,
            KeyBits::Rsa4096 => 4096,
        }
    }
}

impl std::fmt::Display for KeyBits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.bits())
    }
}

impl std::str::FromStr for KeyBits {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "2048" => Ok(KeyBits::Rsa2048),
            "3072" => Ok(KeyBits::Rsa3072),
            "4096" => Ok(KeyBits::Rsa4096),
            other => Err(format!(
                "RSA keys are 2048, 3072 or 4096 bits, not {other:?}"
            )),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the key is not PEM: {0}")]
    NotPem(String),
    #[error("the PEM holds no RSA private key (PKCS#8 or PKCS#1) that AWS-LC accepts: {0}")]
    Rejected(String),
    #[error("RSA keys must be 2048, 3072 or 4096 bits; this one has {0}")]
    UnsupportedSize(usize),
    /// AWS KMS refused or failed to sign or to give a public key; the message says what it said.
    #[error("AWS KMS: {0}")]
    Kms(String),
    #[error("the cryptography library failed: {0}")]
    Crypto(&'static str),
    #[error("signing failed: {0}")]
    Signing(#[from] jsonwebtoken::errors::Error),
}

pub struct SigningKey {
    kid: String,
    signer: Signer,
    /// `base64url({"alg":"RS256","typ":"JWT","kid":…})`, the same for every token.
    header: String,
    decoding: DecodingKey,
    jwk: Jwk,
    public_pem: String,
}

/// Where the private part is.
enum Signer {
    /// Here. Parsed once: signing through jsonwebtoken re-parsed the PKCS#8 key on every token,
    /// which cost more than the RSA operation itself.
    Local { pair: KeyPair, private_pem: String },
    /// In AWS KMS, which signs (`Sign`, `RSASSA_PKCS1_V1_5_SHA_256`).
    Kms {
        client: aws_sdk_kms::Client,
        key_id: String,
    },
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    pub fn generate(bits: KeyBits) -> Result<Self, KeyError> {
        let size = match bits {
            KeyBits::Rsa2048 => KeySize::Rsa2048,
            KeyBits::Rsa3072 => KeySize::Rsa3072,
            KeyBits::Rsa4096 => KeySize::Rsa4096,
        };
        let pair = KeyPair::generate(size).map_err(|_| KeyError::Crypto("RSA key generation"))?;
        Self::from_pair(pair)
    }

    /// Reads a private key from PEM: PKCS#8 (`BEGIN PRIVATE KEY`, what we write) or PKCS#1
    /// (`BEGIN RSA PRIVATE KEY`, what `openssl genrsa` writes).
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        let (label, der) = decode_pem(text)?;
        let pair = match label.as_str() {
            "PRIVATE KEY" => KeyPair::from_pkcs8(&der),
            "RSA PRIVATE KEY" => KeyPair::from_der(&der),
            other => return Err(KeyError::NotPem(format!("unexpected PEM label {other:?}"))),
        }
        .map_err(|e| KeyError::Rejected(e.to_string()))?;
        Self::from_pair(pair)
    }

    fn from_pair(pair: KeyPair) -> Result<Self, KeyError> {
        let public = pair.public_key();
        let n = public.modulus().big_endian_without_leading_zero().to_vec();
        let e = public.exponent().big_endian_without_leading_zero().to_vec();
        let spki: PublicKeyX509Der<'static> = public
            .as_der()
            .map_err(|_| KeyError::Crypto("public key export"))?;
        let spki = spki.as_ref().to_vec();
        let pkcs8: Pkcs8V1Der<'static> = pair
            .as_der()
            .map_err(|_| KeyError::Crypto("private key export"))?;
        let private_pem = encode_pem("PRIVATE KEY", pkcs8.as_ref());
        Self::from_parts(&n, &e, &spki, Signer::Local { pair, private_pem })
    }

    /// The KMS key `key_id` whose public key (SPKI DER, as `GetPublicKey` gives it) is `spki`.
    pub fn from_kms(
        client: aws_sdk_kms::Client,
        key_id: &str,
        spki: &[u8],
    ) -> Result<Self, KeyError> {
        let (n, e) = rsa_components(spki).ok_or_else(|| {
            KeyError::Kms(format!("the public key of {key_id} is not an RSA key"))
        })?;
        let signer = Signer::Kms {
            client,
            key_id: key_id.to_owned(),
        };
        Self::from_parts(&n, &e, spki, signer)
    }

    fn from_parts(n: &[u8], e: &[u8], spki: &[u8], signer: Signer) -> Result<Self, KeyError> {
        let bits = n.len() * 8;
        if ![2048, 3072, 4096].contains(&bits) {
            return Err(KeyError::UnsupportedSize(bits));
        }
        let (n, e) = (URL_SAFE_NO_PAD.encode(n), URL_SAFE_NO_PAD.encode(e));
        let kid = thumbprint(&n, &e);
        let public_pem = encode_pem("PUBLIC KEY", spki);
        let decoding = DecodingKey::from_rsa_components(&n, &e)?;
        let header = serde_json::json!({ "alg": "RS256", "typ": "JWT", "kid": kid });
        let header = URL_SAFE_NO_PAD.encode(header.to_string());
        Ok(Self {
            jwk: Jwk::rs256(kid.clone(), n, e),
            kid,
            signer,
            header,
            decoding,
            public_pem,
        })
    }

    /// Whether the private part is in AWS KMS (signing is then a network call).
    pub fn is_remote(&self) -> bool {
        matches!(self.signer, Signer::Kms { .. })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn jwk(&self) -> &Jwk {
        &self.jwk
    }

    /// The public key as SPKI PEM (`BEGIN PUBLIC KEY`), what `GET /auth/pem` serves.
    pub fn public_pem(&self) -> &str {
        &self.public_pem
    }

    /// The private key as PKCS#8 PEM, for writing to the key directory (mode 0600) only; empty
    /// for a KMS key, whose private part never leaves KMS (and which is never written there).
    pub fn private_pem(&self) -> &str {
        match &self.signer {
            Signer::Local { private_pem, .. } => private_pem,
            Signer::Kms { .. } => "",
        }
    }

    pub(crate) fn decoding_key(&self) -> &DecodingKey {
        &self.decoding
    }

    /// Signs `claims` as an RS256 JWT with header `{"alg":"RS256","typ":"JWT","kid":…}`
    /// (RSASSA-PKCS1-v1_5 with SHA-256, RFC 7518 §3.3).
    /// A local key only: a KMS key signs through [`SigningKey::sign_async`].
    pub fn sign<C: Serialize>(&self, claims: &C) -> Result<String, KeyError> {
        let Signer::Local { pair, .. } = &self.signer else {
            return Err(KeyError::Kms(
                "a KMS key signs asynchronously (sign_async)".into(),
            ));
        };
        let mut token = self.signing_input(claims)?;
        let mut signature = vec![0u8; pair.public_modulus_len()];
        pair.sign(
            &RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            token.as_bytes(),
            &mut signature,
        )
        .map_err(|_| KeyError::Crypto("RSA signing"))?;
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(signature));
        Ok(token)
    }

    /// [`SigningKey::sign`], by AWS KMS for a KMS key (one `Sign` call).
    pub async fn sign_async<C: Serialize>(&self, claims: &C) -> Result<String, KeyError> {
        let Signer::Kms { client, key_id } = &self.signer else {
            return self.sign(claims);
        };
        let mut token = self.signing_input(claims)?;
        let answer = client
            .sign()
            .key_id(key_id)
            .message(aws_sdk_kms::primitives::Blob::new(token.as_bytes()))
            .message_type(aws_sdk_kms::types::MessageType::Raw)
            .signing_algorithm(aws_sdk_kms::types::SigningAlgorithmSpec::RsassaPkcs1V15Sha256)
            .send()
            .await
            .map_err(|e| KeyError::Kms(aws_sdk_kms::error::DisplayErrorContext(&e).to_string()))?;
        let signature = answer
            .signature()
            .ok_or_else(|| KeyError::Kms("Sign returned no signature".into()))?;
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(signature.as_ref()));
        Ok(token)
    }

    /// `header.payload`, what is signed.
    fn signing_input<C: Serialize>(&self, claims: &C) -> Result<String, KeyError> {
        let claims = serde_json::to_vec(claims).map_err(|_| KeyError::Crypto("claims encoding"))?;
        Ok(format!(
            "{}.{}",
            self.header,
            URL_SAFE_NO_PAD.encode(claims)
        ))
    }
}

/// The modulus and exponent (big-endian, no leading zeros) of an RSA SubjectPublicKeyInfo:
/// `SEQUENCE { SEQUENCE { algorithm }, BIT STRING { SEQUENCE { INTEGER n, INTEGER e } } }`.
fn rsa_components(spki: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let (outer, _) = der_take(spki, 0x30)?;
    let (_algorithm, rest) = der_take(outer, 0x30)?;
    let (bits, _) = der_take(rest, 0x03)?;
    let (unused, key) = bits.split_first()?;
    if *unused != 0 {
        return None;
    }
    let (key, _) = der_take(key, 0x30)?;
    let (n, rest) = der_take(key, 0x02)?;
    let (e, _) = der_take(rest, 0x02)?;
    let strip = |v: &[u8]| {
        let start = v.iter().position(|b| *b != 0).unwrap_or(v.len());
        v[start..].to_vec()
    };
    Some((strip(n), strip(e)))
}

/// One DER element of type `tag` at the start of `input`: its contents and what follows.
fn der_take(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&first, rest) = input.split_first()?;
    if first != tag {
        return None;
    }
    let (&len, rest) = rest.split_first()?;
    let (len, rest) = if len < 0x80 {
        (usize::from(len), rest)
    } else {
        let count = usize::from(len & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (bytes, rest) = rest.split_at(count);
        (
            bytes
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b)),
            rest,
        )
    };
    (rest.len() >= len).then(|| rest.split_at(len))
}

/// RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace.
fn thumbprint(n: &str, e: &str) -> String {
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes());
    URL_SAFE_NO_PAD.encode(digest.as_ref())
}

fn encode_pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        // Base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn decode_pem(text: &str) -> Result<(String, Vec<u8>), KeyError> {
    let text = text.trim();
    let first = text.lines().next().unwrap_or_default();
    let label = first
        .strip_prefix("-----BEGIN ")
        .and_then(|rest| rest.strip_suffix("-----"))
        .ok_or_else(|| KeyError::NotPem("no BEGIN line".into()))?;
    let end = format!("-----END {label}-----");
    let body: String = text
        .lines()
        .skip(1)
        .take_while(|line| *line != end)
        .collect::<Vec<_>>()
        .concat();
    if !text.lines().any(|line| line == end) {
        return Err(KeyError::NotPem(format!("no {end} line")));
    }
    let der = STANDARD
        .decode(body.trim())
        .map_err(|e| KeyError::NotPem(e.to_string()))?;
    Ok((label.to_owned(), der))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::{Arc, OnceLock};

    /// RSA generation takes a moment; tests share one key.
    pub(crate) fn test_key() -> Arc<SigningKey> {
        static KEY: OnceLock<Arc<SigningKey>> = OnceLock::new();
        KEY.get_or_init(|| Arc::new(SigningKey::generate(KeyBits::Rsa2048).unwrap()))
            .clone()
    }

    /// Another shared key, for tests that need two.
    pub(crate) fn second_test_key() -> Arc<SigningKey> {
        static KEY: OnceLock<Arc<SigningKey>> = OnceLock::new();
        KEY.get_or_init(|| Arc::new(SigningKey::generate(KeyBits::Rsa2048).unwrap()))
            .clone()
    }

    #[test]
    fn the_rsa_components_of_a_public_key_are_read_from_its_spki_der() {
        let key = test_key();
        let pem: String = key
            .public_pem()
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        let der = STANDARD.decode(pem).unwrap();
        let (n, e) = rsa_components(&der).unwrap();
        assert_eq!(URL_SAFE_NO_PAD.encode(&n), key.jwk().n);
        assert_eq!(URL_SAFE_NO_PAD.encode(&e), key.jwk().e);
        assert_eq!(e, [1, 0, 1]);
        assert!(rsa_components(&der[..der.len() - 1]).is_none(), "truncated");
        assert!(rsa_components(b"not DER").is_none());
    }

    #[test]
    fn a_key_survives_its_own_pem() {
        let key = test_key();
        let again = SigningKey::from_pem(key.private_pem()).unwrap();
        assert_eq!(again.kid(), key.kid());
        assert_eq!(again.jwk(), key.jwk());
        assert_eq!(again.public_pem(), key.public_pem());
    }

    #[test]
    fn the_kid_is_the_rfc7638_thumbprint() {
        let key = test_key();
        let jwk = key.jwk();
        assert_eq!(key.kid(), thumbprint(&jwk.n, &jwk.e));
        assert_eq!(key.kid().len(), 43, "base64url of 32 bytes");
        assert_eq!(jwk.e, "AQAB");
        assert_eq!(
            (jwk.kty.as_str(), jwk.alg.as_str(), jwk.use_.as_str()),
            ("RSA", "RS256", "sig")
        );
    }

    #[test]
    fn the_public_pem_is_spki_in_64_column_lines() {
        let pem = test_key().public_pem().to_owned();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert!(pem.ends_with("-----END PUBLIC KEY-----\n"));
        assert!(pem.lines().all(|line| line.len() <= 64));
        let (label, der) = decode_pem(&pem).unwrap();
        assert_eq!(label, "PUBLIC KEY");
        assert!(der.len() > 256, "a 2048-bit SPKI is about 294 bytes");
    }

    #[test]
    fn debug_never_prints_key_material() {
        let key = test_key();
        let printed = format!("{key:?}");
        assert!(printed.contains(key.kid()));
        assert!(!printed.contains("PRIVATE"));
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        assert!(matches!(
            SigningKey::from_pem("hello"),
            Err(KeyError::NotPem(_))
        ));
        let bad = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert!(matches!(
            SigningKey::from_pem(bad),
            Err(KeyError::Rejected(_))
        ));
    }
}
