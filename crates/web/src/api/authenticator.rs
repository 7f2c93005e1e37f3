//! Calls to the authenticator: registration, the PKCE authorization URL, the token endpoint
//! (code exchange and refresh) and revocation. None of them needs an access token.

use gloo_net::http::Request;
use sliderule_protocol::Scopes;
use sliderule_protocol::authenticator::paths;
use sliderule_protocol::authenticator::{
    ClientRecord, RegisterRequest, RevokeRequest, TokenRequest, TokenResponse,
};

use sliderule_protocol::organizations::accounts::paths as local;
use sliderule_protocol::organizations::accounts::{AccountView, NewAccountRequest};
use sliderule_protocol::organizations::{LocalTokenRequest, PasswordChangeRequest};

use super::{ApiError, decode, send, url};

/// The authenticator at one base URL (its issuer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authenticator {
    base: String,
}

/// What the authorization request binds: the client, where to come back, the PKCE challenge
/// and our own state.
pub struct Authorize<'a> {
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub state: &'a str,
    pub code_challenge: &'a str,
    pub scope: Scopes,
}

impl Authenticator {
    pub fn new(base: impl Into<String>) -> Self {
        Self { base: base.into() }
    }

    /// Where to send the browser to sign in (the authenticator forwards to GitHub).
    pub fn authorize_url(&self, request: &Authorize<'_>) -> String {
        let query = web_sys::UrlSearchParams::new().expect("URLSearchParams exists in browsers");
        for (key, value) in [
            ("response_type", "code"),
            ("client_id", request.client_id),
            ("redirect_uri", request.redirect_uri),
            ("state", request.state),
            ("code_challenge", request.code_challenge),
            ("code_challenge_method", "S256"),
        ] {
            query.append(key, value);
        }
        query.append("scope", &request.scope.to_string());
        format!(
            "{}?{}",
            url(&self.base, paths::LOGIN),
            String::from(query.to_string())
        )
    }

    /// Registers this web client (RFC 7591) for `redirect_uri`, asking for every scope so that
    /// administrators can sign in with it too.
    pub async fn register(&self, redirect_uri: &str) -> Result<ClientRecord, ApiError> {
        let body = RegisterRequest {
            redirect_uris: vec![redirect_uri.to_owned()],
            client_name: Some("SlideRule web client".to_owned()),
            grant_types: Some(vec!["authorization_code".into(), "refresh_token".into()]),
            response_types: Some(vec!["code".into()]),
            token_endpoint_auth_method: Some("none".into()),
            code_challenge_method: Some("S256".into()),
            scope: Some(Scopes::ALL.to_string()),
        };
        post_json(&url(&self.base, paths::REGISTER), &body).await
    }

    /// Exchanges the one-time code from the callback for tokens.
    pub async fn exchange_code(
        &self,
        code: &str,
        code_verifier: &str,
        client_id: &str,
        redirect_uri: &str,
    ) -> Result<TokenResponse, ApiError> {
        let body = TokenRequest {
            grant_type: Some("authorization_code".into()),
            code: Some(code.into()),
            redirect_uri: Some(redirect_uri.into()),
            client_id: Some(client_id.into()),
            code_verifier: Some(code_verifier.into()),
            refresh_token: None,
        };
        post_json(&url(&self.base, paths::TOKEN), &body).await
    }

    /// Spends a refresh token for a new access token and its successor.
    pub async fn refresh(
        &self,
        refresh_token: &str,
        client_id: Option<&str>,
    ) -> Result<TokenResponse, ApiError> {
        let body = TokenRequest {
            grant_type: Some("refresh_token".into()),
            client_id: client_id.map(str::to_owned),
            refresh_token: Some(refresh_token.into()),
            ..TokenRequest::default()
        };
        post_json(&url(&self.base, paths::TOKEN), &body).await
    }

    /// Signs a local account in with its username and password.
    pub async fn local_token(
        &self,
        username: &str,
        password: &str,
    ) -> Result<TokenResponse, ApiError> {
        let body = LocalTokenRequest {
            username: username.to_owned(),
            password: password.to_owned().into(),
        };
        post_json(&url(&self.base, local::TOKEN), &body).await
    }

    /// Creates one's own local account (where self sign-up is on).
    pub async fn signup(&self, request: &NewAccountRequest) -> Result<AccountView, ApiError> {
        post_json(&url(&self.base, local::SIGNUP), request).await
    }

    /// A local account changes its password (with its access token).
    pub async fn change_password(
        &self,
        access_token: &str,
        current: &str,
        new: &str,
    ) -> Result<(), ApiError> {
        let body = PasswordChangeRequest {
            current_password: current.to_owned().into(),
            new_password: new.to_owned().into(),
        };
        let request = Request::post(&url(&self.base, local::PASSWORD))
            .header("Authorization", &format!("Bearer {access_token}"))
            .json(&body)
            .map_err(|e| ApiError::Unexpected(e.to_string()))?;
        let response = send(request).await?;
        if response.ok() {
            Ok(())
        } else {
            Err(super::error_of(response).await)
        }
    }

    /// Revokes a refresh token and its whole family (RFC 7009).
    pub async fn revoke(&self, refresh_token: &str) -> Result<(), ApiError> {
        let body = RevokeRequest {
            token: refresh_token.into(),
            token_type_hint: Some("refresh_token".into()),
        };
        let request = Request::post(&url(&self.base, paths::REVOKE))
            .json(&body)
            .map_err(|e| ApiError::Unexpected(e.to_string()))?;
        let response = send(request).await?;
        if response.ok() {
            Ok(())
        } else {
            Err(super::error_of(response).await)
        }
    }
}

async fn post_json<B: serde::Serialize, T: serde::de::DeserializeOwned>(
    url: &str,
    body: &B,
) -> Result<T, ApiError> {
    let request = Request::post(url)
        .json(body)
        .map_err(|e| ApiError::Unexpected(e.to_string()))?;
    decode(send(request).await?).await
}
