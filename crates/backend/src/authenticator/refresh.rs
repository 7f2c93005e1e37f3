//! Refresh-token rotation (authenticator.md, "Refresh and revocation").
//!
//! Each use spends the presented token and returns a successor. Within the grace window, every
//! further presentation of the spent token (a client retrying after a lost response, several tabs
//! refreshing at once) gets that same successor; for that the successor is kept sealed with
//! AES-256-GCM under a key derived from the presented token, so the database never holds a usable
//! token and only the holder of the old token can open it. A reuse after the window revokes the
//! family. Membership is re-checked with the service token when one is configured, so someone
//! removed from the organization loses member access at their next refresh.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use time::OffsetDateTime;

use super::error::AuthError;
use super::issuer::{Issued, lifetime};
use super::session::Session;
use super::{Authenticator, random};
use crate::keys::KeySet;
use crate::store::{Rotation, TokenHash};

const SEAL_CONTEXT: &[u8] = b"sliderule refresh successor v1";

/// Why a refresh was refused. Every case is `invalid_grant` to the client: telling a thief which
/// case applies would help them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RefreshError {
    #[error("the refresh token is invalid, expired or revoked; sign in again")]
    Invalid,
    #[error(
        "the refresh token was used before; its session has been revoked for safety, sign in again"
    )]
    Reused,
}

impl Authenticator {
    /// Rotates `presented`, returning the new pair.
    pub async fn refresh(
        &self,
        keys: &KeySet,
        presented: &str,
        now: OffsetDateTime,
    ) -> Result<Issued, AuthError> {
        let presented_hash = TokenHash::of(presented);
        let family = self
            .store
            .family_of(&presented_hash)
            .await?
            .filter(|family| !family.revoked)
            .ok_or(RefreshError::Invalid)?;
        let mut session = Session::from_json(&family.grant).map_err(AuthError::internal)?;
        self.recheck(&mut session).await?;

        let (access_token, claims) = self.mint(keys, &session, now).await?;
        let successor = Issued {
            expires_in: lifetime(&claims),
            access_token,
            claims,
            refresh_token: random::secret()?,
            family: family.id.clone(),
        };
        let sealed = seal(presented, &successor)?;
        let rotation = self
            .store
            .rotate_refresh(
                &presented_hash,
                &TokenHash::of(&successor.refresh_token),
                &sealed,
                now,
                self.refresh_rules,
            )
            .await?;
        match rotation {
            Rotation::Rotated { .. } => Ok(successor),
            Rotation::Replayed {
                sealed_successor, ..
            } => open(presented, &sealed_successor),
            Rotation::Reused { family_id } => {
                tracing::warn!(
                    family = %family_id,
                    login = %family.login,
                    "a spent refresh token came back: family revoked"
                );
                Err(RefreshError::Reused.into())
            }
            Rotation::Invalid => Err(RefreshError::Invalid.into()),
        }
    }

    /// Revokes the family of a refresh token (RFC 7009: unknown tokens are not an error).
    pub async fn revoke(&self, token: &str) -> Result<(), AuthError> {
        if self.store.revoke_family_of(&TokenHash::of(token)).await? {
            tracing::info!("refresh-token family revoked on request");
        }
        Ok(())
    }

    /// Updates the session's membership from GitHub, when a service token lets us ask; a local
    /// account must still exist and be enabled.
    async fn recheck(&self, session: &mut Session) -> Result<(), AuthError> {
        if session.flow == super::grant::Flow::Password {
            let active = self
                .store
                .account(&session.identity.login)
                .await?
                .is_some_and(|account| account.active);
            return if active {
                Ok(())
            } else {
                tracing::info!(login = %session.identity.login, "refresh refused: the local account is disabled or gone");
                Err(RefreshError::Invalid.into())
            };
        }
        let Some(service_token) = &self.service_token else {
            return Ok(());
        };
        let membership = self
            .resolver
            .recheck_membership(service_token.expose(), &session.identity.login)
            .await?;
        if membership != session.identity.membership {
            tracing::info!(
                login = %session.identity.login,
                was = ?session.identity.membership,
                now = ?membership,
                "membership changed since sign-in"
            );
        }
        // Teams are not re-read (GitHub lists them only to their member), but a person who left
        // the organization keeps none; someone demoted from admin keeps member standing only.
        if !membership.is_active() {
            session.identity.teams.clear();
        }
        session.identity.membership = membership;
        Ok(())
    }
}

fn seal_key(presented: &str) -> Result<LessSafeKey, AuthError> {
    let mut material = SEAL_CONTEXT.to_vec();
    material.extend_from_slice(presented.as_bytes());
    let key = UnboundKey::new(&AES_256_GCM, digest(&SHA256, &material).as_ref())
        .map_err(|_| AuthError::internal(anyhow::anyhow!("cannot build the sealing key")))?;
    Ok(LessSafeKey::new(key))
}

fn seal(presented: &str, successor: &Issued) -> Result<Vec<u8>, AuthError> {
    let key = seal_key(presented)?;
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| AuthError::from(random::RandomError))?;
    let mut sealed = serde_json::to_vec(successor).map_err(AuthError::internal)?;
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::empty(),
        &mut sealed,
    )
    .map_err(|_| AuthError::internal(anyhow::anyhow!("cannot seal the successor")))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Ok(out)
}

fn open(presented: &str, sealed: &[u8]) -> Result<Issued, AuthError> {
    if sealed.len() < NONCE_LEN {
        return Err(RefreshError::Invalid.into());
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| RefreshError::Invalid)?;
    let mut buffer = ciphertext.to_vec();
    let plain = seal_key(presented)?
        .open_in_place(nonce, Aad::empty(), &mut buffer)
        .map_err(|_| RefreshError::Invalid)?;
    serde_json::from_slice(plain).map_err(|_| RefreshError::Invalid.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sliderule_protocol::Claims;

    fn issued() -> Issued {
        let claims: Claims = serde_json::from_str(
            r#"{"iss":"i","sub":"bob","aud":[],"org":"o","org_roles":[],"iat":1,"exp":3601}"#,
        )
        .unwrap();
        Issued {
            access_token: "header.payload.signature".into(),
            claims,
            refresh_token: "the-successor".into(),
            expires_in: 3600,
            family: "f1".into(),
        }
    }

    #[test]
    fn a_sealed_successor_opens_with_the_token_it_was_sealed_for() {
        let sealed = seal("old-token", &issued()).unwrap();
        let opened = open("old-token", &sealed).unwrap();
        assert_eq!(opened.refresh_token, "the-successor");
        assert_eq!(opened.access_token, "header.payload.signature");
    }

    #[test]
    fn a_sealed_successor_does_not_open_with_another_token() {
        let sealed = seal("old-token", &issued()).unwrap();
        assert!(open("other-token", &sealed).is_err());
    }

    #[test]
    fn the_seal_does_not_contain_the_successor_in_the_clear() {
        let sealed = seal("old-token", &issued()).unwrap();
        let text = String::from_utf8_lossy(&sealed);
        assert!(!text.contains("the-successor"));
    }
}
