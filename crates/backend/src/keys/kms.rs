//! Signing keys in AWS KMS (`authenticator.kms_key_id`, and `kms_previous_key_ids` still
//! published while their tokens live): RSA_2048 `SIGN_VERIFY` keys whose public keys are read
//! once at start (`GetPublicKey`) and published as JWKS and PEM like local keys; each token is
//! signed by one `Sign` call. Replicas given the same key ids sign and verify alike, with no key
//! material on any machine. Rotation: a new key id, the old one moved to the previous ids until
//! its last token has expired.

use aws_config::SdkConfig;

use super::{KeyError, KeySet, SigningKey};

/// The key set of `current` (signing) and `previous` (published), read from KMS.
pub async fn key_set(
    sdk: &SdkConfig,
    current: &str,
    previous: &[String],
) -> Result<KeySet, KeyError> {
    let client = aws_sdk_kms::Client::new(sdk);
    let mut published = Vec::with_capacity(1 + previous.len());
    for key_id in std::iter::once(current).chain(previous.iter().map(String::as_str)) {
        let answer = client
            .get_public_key()
            .key_id(key_id)
            .send()
            .await
            .map_err(|e| {
                KeyError::Kms(format!(
                    "GetPublicKey {key_id}: {}",
                    aws_sdk_kms::error::DisplayErrorContext(&e)
                ))
            })?;
        let spki = answer
            .public_key()
            .ok_or_else(|| KeyError::Kms(format!("GetPublicKey {key_id} gave no key")))?;
        published.push(std::sync::Arc::new(SigningKey::from_kms(
            client.clone(),
            key_id,
            spki.as_ref(),
        )?));
    }
    let signing = published[0].clone();
    Ok(KeySet::new(signing, published))
}
