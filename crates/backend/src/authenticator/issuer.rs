//! Minting: an access token (a signed JWT) from a [`Session`], and a refresh-token family for a
//! new sign-in.

use sliderule_protocol::Claims;
use sliderule_protocol::authenticator::LoginSuccess;
use sliderule_protocol::authenticator::oauth::{TokenInfo, TokenResponse};
use time::OffsetDateTime;

use super::error::AuthError;
use super::session::Session;
use super::{Authenticator, grant, random};
use crate::keys::KeySet;
use crate::store::{Family, TokenHash};

/// A freshly issued pair of tokens.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct Issued {
    pub access_token: String,
    pub claims: Claims,
    pub refresh_token: String,
    pub expires_in: u64,
    /// The refresh-token family the tokens belong to (not a secret).
    pub family: String,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("access_token", &"***")
            .field("claims", &self.claims)
            .field("refresh_token", &"***")
            .field("family", &self.family)
            .finish()
    }
}

impl Issued {
    /// The body of PAT and device logins (which the official clients read).
    pub fn login_success(self) -> LoginSuccess {
        let mut body = LoginSuccess::new(self.access_token, self.claims);
        body.refresh_token = Some(self.refresh_token.into());
        body.expires_in = Some(self.expires_in);
        body
    }

    /// The body of the token endpoint.
    pub fn token_response(self, public_cluster: Option<&str>) -> TokenResponse {
        TokenResponse {
            info: TokenInfo::from_claims(&self.claims, public_cluster),
            scope: self.claims.scope.unwrap_or_default(),
            access_token: self.access_token.into(),
            token_type: Default::default(),
            expires_in: self.expires_in,
            refresh_token: self.refresh_token.into(),
        }
    }
}

impl Authenticator {
    /// What the store says the session's person belongs to now: organizations by an active
    /// membership or as an admin (organizations.md), read at every sign-in and refresh so an
    /// approval or a deactivation takes effect then.
    pub async fn belonging(&self, session: &Session) -> Result<grant::Belonging, AuthError> {
        let organizations =
            crate::organizations::granted(self.store.as_ref(), &session.identity.login).await?;
        Ok(grant::Belonging {
            organizations,
            v2_organization: session.v2_organization.clone(),
        })
    }

    /// Signs an access token for the session as it stands now.
    pub async fn mint(
        &self,
        keys: &KeySet,
        session: &Session,
        now: OffsetDateTime,
    ) -> Result<(String, Claims), AuthError> {
        let belonging = self.belonging(session).await?;
        let claims = self.claims_with(session, &belonging, now)?;
        // A KMS key signs over the network; a failure is the signing service's, not a bug.
        let token = keys
            .signing()
            .sign_async(&claims)
            .await
            .map_err(|e| AuthError::Signing(e.to_string()))?;
        Ok((token, claims))
    }

    /// The claims a token for the session would carry now, without signing one (to decide
    /// whether to issue it).
    pub async fn claims_for(
        &self,
        session: &Session,
        now: OffsetDateTime,
    ) -> Result<Claims, AuthError> {
        let belonging = self.belonging(session).await?;
        Ok(grant::claims(
            &session.identity,
            self.affiliates.get(&session.identity.login),
            &belonging,
            session.requested,
            session.flow,
            &self.policy,
            now,
            String::new(),
        ))
    }

    /// Signs an access token for the session with what the store says given (tests and
    /// benchmarks mint without a store round trip).
    pub fn mint_with(
        &self,
        keys: &KeySet,
        session: &Session,
        belonging: &grant::Belonging,
        now: OffsetDateTime,
    ) -> Result<(String, Claims), AuthError> {
        let claims = self.claims_with(session, belonging, now)?;
        let token = keys.signing().sign(&claims).map_err(AuthError::internal)?;
        Ok((token, claims))
    }

    /// The claims of a new token for the session, with a fresh `jti`.
    fn claims_with(
        &self,
        session: &Session,
        belonging: &grant::Belonging,
        now: OffsetDateTime,
    ) -> Result<Claims, AuthError> {
        let affiliate = self.affiliates.get(&session.identity.login);
        Ok(grant::claims(
            &session.identity,
            affiliate,
            belonging,
            session.requested,
            session.flow,
            &self.policy,
            now,
            random::id()?,
        ))
    }

    /// A new sign-in: an access token and the first refresh token of a new family.
    pub async fn start_session(
        &self,
        keys: &KeySet,
        session: &Session,
        now: OffsetDateTime,
    ) -> Result<Issued, AuthError> {
        let (access_token, claims) = self.mint(keys, session, now).await?;
        let refresh_token = random::secret()?;
        let family = Family {
            id: random::id()?,
            login: session.identity.login.clone(),
            grant: session.to_json().map_err(AuthError::internal)?,
            created_at: now,
            last_used_at: now,
            revoked: false,
        };
        self.store
            .create_family(&family, &TokenHash::of(&refresh_token))
            .await?;
        tracing::info!(
            login = %session.identity.login,
            flow = ?session.flow,
            family = %family.id,
            roles = %claims.org_roles.comma_joined(),
            "signed in"
        );
        Ok(Issued {
            expires_in: lifetime(&claims),
            access_token,
            claims,
            refresh_token,
            family: family.id,
        })
    }
}

/// Seconds from issue to expiry.
pub(super) fn lifetime(claims: &Claims) -> u64 {
    u64::try_from(claims.exp.saturating_sub(claims.iat)).unwrap_or(0)
}
