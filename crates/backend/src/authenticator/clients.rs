//! The OAuth clients the browser flow accepts: the web client's pre-registered id from the
//! configuration, and clients registered dynamically (kept in the store).

use sliderule_protocol::Scopes;
use sliderule_protocol::authenticator::oauth::ClientRecord;
use time::OffsetDateTime;

use super::Authenticator;
use super::error::AuthError;
use sliderule_protocol::codes;

/// What the flows need to know about a client.
#[derive(Debug, Clone)]
pub struct Client {
    pub redirect_uris: Vec<String>,
    /// The most it may ask for.
    pub scope: Scopes,
}

impl Authenticator {
    /// The client, if known and alive; a dynamically registered one is marked used.
    pub async fn client(
        &self,
        client_id: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Client>, AuthError> {
        if let Some(web) = &self.web_client
            && web.client_id == client_id
        {
            // Our own web client may ask for everything, "sign in as administrator" included.
            return Ok(Some(Client {
                redirect_uris: web.redirect_uris.clone(),
                scope: Scopes::ALL,
            }));
        }
        let Some(stored) = self
            .store
            .use_client(client_id, now, self.client_unused_for)
            .await?
        else {
            return Ok(None);
        };
        let record: ClientRecord =
            serde_json::from_str(&stored.record).map_err(AuthError::internal)?;
        Ok(Some(Client {
            redirect_uris: record.redirect_uris,
            scope: record.scope,
        }))
    }

    /// The client, or the 400 `invalid_client` every flow answers for an unknown one.
    pub async fn known_client(
        &self,
        client_id: &str,
        now: OffsetDateTime,
    ) -> Result<Client, AuthError> {
        self.client(client_id, now).await?.ok_or_else(|| {
            AuthError::refused(
                codes::INVALID_CLIENT,
                "client_id is not registered (or its registration expired); register again",
            )
        })
    }
}
