//! Affiliates: people outside the GitHub organization who may use clusters, listed in a file
//! (TOML or JSON, chosen by extension) keyed by GitHub login:
//!
//! ```toml
//! [octocat]
//! active = true
//! clusters = ["octo-lab"]
//! max_nodes = 4
//! max_ttl = 240
//! allowed_scopes = "sliderule:access provisioner:access"   # or a list
//! ```
//!
//! Loaded once at start; an unreadable or invalid file stops start-up naming the entry.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use sliderule_protocol::{ClusterName, Scopes};

use super::grant::Affiliate;
use crate::config::ConfigError;

const KEY: &str = "authenticator.affiliates_file";

#[derive(Debug, Clone, Default)]
pub struct Affiliates(HashMap<String, Affiliate>);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    #[serde(default)]
    active: bool,
    #[serde(default)]
    clusters: Vec<String>,
    max_nodes: Option<u32>,
    max_ttl: Option<u32>,
    allowed_scopes: Option<ScopeList>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ScopeList {
    Text(String),
    List(Vec<String>),
}

impl Affiliates {
    pub fn none() -> Self {
        Self::default()
    }

    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::new(KEY, format!("cannot read {}: {e}", path.display())))?;
        let json = path.extension().is_some_and(|ext| ext == "json");
        Self::parse(&text, json)
            .map_err(|problem| ConfigError::new(KEY, format!("{}: {problem}", path.display())))
    }

    pub fn parse(text: &str, json: bool) -> Result<Self, String> {
        let entries: HashMap<String, Entry> = if json {
            serde_json::from_str(text).map_err(|e| e.to_string())?
        } else {
            toml::from_str(text).map_err(|e| e.message().to_owned())?
        };
        let mut affiliates = HashMap::new();
        for (login, entry) in entries {
            let affiliate = entry
                .into_affiliate()
                .map_err(|e| format!("{login}: {e}"))?;
            affiliates.insert(login.to_ascii_lowercase(), affiliate);
        }
        Ok(Self(affiliates))
    }

    /// The entry of a GitHub login (logins are case-insensitive), active or not.
    pub fn get(&self, login: &str) -> Option<&Affiliate> {
        self.0.get(&login.to_ascii_lowercase())
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Entry {
    fn into_affiliate(self) -> Result<Affiliate, String> {
        let clusters = self
            .clusters
            .iter()
            .map(|name| ClusterName::parse(name).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        let allowed_scopes = match self.allowed_scopes {
            None => None,
            Some(ScopeList::Text(text)) => Some(Scopes::parse(&text).map_err(|e| e.to_string())?),
            Some(ScopeList::List(list)) => {
                Some(Scopes::parse(&list.join(" ")).map_err(|e| e.to_string())?)
            }
        };
        Ok(Affiliate {
            active: self.active,
            clusters,
            max_nodes: self.max_nodes,
            max_ttl: self.max_ttl,
            allowed_scopes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sliderule_protocol::Scope;

    #[test]
    fn a_toml_file_gives_each_login_its_entry() {
        let affiliates = Affiliates::parse(
            r#"
            [OctoCat]
            active = true
            clusters = ["octo-lab"]
            max_nodes = 4
            allowed_scopes = ["sliderule:access", "provisioner:access"]

            [former]
            active = false
            "#,
            false,
        )
        .unwrap();
        let octocat = affiliates.get("octocat").unwrap();
        assert!(octocat.active);
        assert_eq!(octocat.clusters[0].as_str(), "octo-lab");
        assert_eq!(octocat.max_nodes, Some(4));
        assert_eq!(octocat.max_ttl, None);
        let scopes = octocat.allowed_scopes.unwrap();
        assert!(scopes.contains(Scope::ProvisionerAccess));
        assert!(!scopes.contains(Scope::RunnerAccess));
        assert!(!affiliates.get("former").unwrap().active);
        assert!(affiliates.get("nobody").is_none());
    }

    #[test]
    fn a_json_file_works_the_same() {
        let affiliates = Affiliates::parse(
            r#"{"octocat": {"active": true, "clusters": ["lab"], "max_ttl": 60,
                "allowed_scopes": "sliderule:access"}}"#,
            true,
        )
        .unwrap();
        assert_eq!(affiliates.get("octocat").unwrap().max_ttl, Some(60));
    }

    #[test]
    fn an_invalid_cluster_or_scope_names_the_login() {
        let error =
            Affiliates::parse(r#"{"octocat": {"clusters": ["Bad Name"]}}"#, true).unwrap_err();
        assert!(error.starts_with("octocat: "), "{error}");
        let error =
            Affiliates::parse(r#"{"octocat": {"allowed_scopes": "root"}}"#, true).unwrap_err();
        assert!(error.contains("root"), "{error}");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let error = Affiliates::parse(r#"{"octocat": {"max_node": 3}}"#, true).unwrap_err();
        assert!(error.contains("max_node"), "{error}");
    }
}
