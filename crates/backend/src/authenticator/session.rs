//! What one sign-in established, kept (as JSON) with its one-time code and its refresh-token
//! family, so every token of the session is minted from the same facts: who, what GitHub said,
//! which scopes were asked for, and through which flow.

use serde::{Deserialize, Serialize};
use sliderule_protocol::Scopes;

use super::grant::{Flow, GitHubIdentity};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub identity: GitHubIdentity,
    pub requested: Scopes,
    pub flow: Flow,
    /// The OAuth client that started it (browser sign-in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The organization a v2 token is issued for (`org_name`), kept so refreshes keep it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub v2_organization: Option<String>,
}

impl Session {
    pub fn new(identity: GitHubIdentity, requested: Scopes, flow: Flow) -> Self {
        Self {
            identity,
            requested,
            flow,
            client_id: None,
            v2_organization: None,
        }
    }

    /// The session of a v2 token for `organization`.
    pub fn for_v2(mut self, organization: impl Into<String>) -> Self {
        self.v2_organization = Some(organization.into());
        self
    }

    pub fn for_client(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::github::Membership;

    #[test]
    fn a_session_survives_its_json() {
        let session = Session::new(
            GitHubIdentity {
                login: "bob".into(),
                github_id: 1002,
                membership: Membership::Member,
                teams: vec!["icesat2".into()],
            },
            Scopes::MEMBER,
            Flow::Browser,
        )
        .for_client("c1");
        let json = session.to_json().unwrap();
        assert!(json.contains(r#""membership":"member""#), "{json}");
        assert_eq!(Session::from_json(&json).unwrap(), session);
    }
}
