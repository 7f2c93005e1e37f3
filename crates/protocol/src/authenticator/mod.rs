//! Request and response bodies of the authenticator (`login.<domain>`).
//!
//! Non-browser logins (PAT, device flow) answer with `"status":"success"` bodies the official
//! clients check; the browser flow is OAuth 2.1 with PKCE (register, authorize, callback, token),
//! plus refresh, revocation, userinfo, keys and discovery.

pub mod device;
pub mod discovery;
pub mod keys;
pub mod oauth;
pub mod pat;
pub mod userinfo;

pub use device::{
    DeviceCodeRequest, DeviceCodeResponse, DevicePollFailure, DevicePollPending, DevicePollReply,
    DevicePollRequest, PendingReason,
};
pub use discovery::DiscoveryDocument;
pub use keys::{Jwk, Jwks};
pub use oauth::{
    AuthorizeQuery, AuthorizeRequest, CallbackQuery, ClientRecord, GrantType, LegacyLogin,
    PkceAuthorize, RefreshRequest, RefreshResponse, RegisterRequest, Registration, ResponseType,
    RevokeRequest, TokenGrant, TokenInfo, TokenRequest, TokenResponse,
};
pub use pat::{LoginSuccess, PatRequest};
pub use userinfo::UserInfo;

/// The authenticator's paths, relative to its base URL (the issuer).
pub mod paths {
    /// Browser sign-in: OAuth 2.1 authorization endpoint, and v5's legacy login.
    pub const LOGIN: &str = "/auth/github/login";
    /// Where GitHub returns the browser.
    pub const CALLBACK: &str = "/auth/github/callback";
    /// OAuth token endpoint (authorization code and refresh token grants).
    pub const TOKEN: &str = "/auth/github/token";
    /// Dynamic client registration (RFC 7591).
    pub const REGISTER: &str = "/auth/github/register";
    /// Device flow start.
    pub const DEVICE: &str = "/auth/github/device";
    /// Device flow poll.
    pub const DEVICE_POLL: &str = "/auth/github/device/poll";
    /// Personal access token login.
    pub const PAT: &str = "/auth/github/pat";
    /// Guest login into a cookie, for cluster monitoring pages.
    pub const BASIC_LOGIN: &str = "/auth/github/basic/login";
    /// Refresh-token exchange with v5-compatible extra fields.
    pub const REFRESH: &str = "/auth/refresh";
    /// Token revocation (RFC 7009).
    pub const REVOKE: &str = "/auth/revoke";
    /// Who the bearer of an access token is.
    pub const USERINFO: &str = "/auth/userinfo";
    /// The key set.
    pub const JWKS: &str = "/.well-known/jwks.json";
    /// The key set at v5's path.
    pub const JWKS_V5: &str = "/auth/github/jwks";
    /// The signing key as PEM (HEAD's path; clusters download it at boot).
    pub const PEM: &str = "/auth/pem";
    /// The signing key as PEM at v5's path.
    pub const PEM_V5: &str = "/auth/github/pem";
    /// OpenID-style discovery.
    pub const OPENID_CONFIGURATION: &str = "/.well-known/openid-configuration";
    /// RFC 8414 discovery (same document).
    pub const OAUTH_AUTHORIZATION_SERVER: &str = "/.well-known/oauth-authorization-server";
}
