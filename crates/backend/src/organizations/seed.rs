//! Organizations and local accounts created at start-up: the demo's (organization `icesat2`,
//! accounts `erin` and `frank`), or those of `organizations.seed_file`. Seeding only creates
//! what is missing, so restarting never undoes what admins changed since.

use std::path::Path;

use serde::Deserialize;
use sliderule_protocol::organizations::{Bounds, MembershipState, Username, check_password};
use sliderule_protocol::{ClusterName, Version};
use time::OffsetDateTime;

use crate::authenticator::passwords;
use crate::store::{AccountRow, OrganizationRow, Store};

/// What a seed file holds.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    #[serde(default)]
    pub organizations: Vec<SeedOrganization>,
    #[serde(default)]
    pub accounts: Vec<SeedAccount>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SeedOrganization {
    pub name: ClusterName,
    #[serde(default)]
    pub min_nodes: u32,
    pub max_nodes: u32,
    #[serde(default)]
    pub version: Option<Version>,
    #[serde(default)]
    pub is_public: bool,
    #[serde(default)]
    pub admins: Vec<String>,
    /// Logins or local accounts made active members.
    #[serde(default)]
    pub members: Vec<String>,
}

#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SeedAccount {
    pub username: Username,
    /// An Argon2id PHC string (what a real seed should carry)…
    #[serde(default)]
    pub password_hash: Option<String>,
    /// …or the password itself (demos and tests), hashed when seeded.
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

impl std::fmt::Debug for SeedAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeedAccount")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// The release the demo's organization runs: the last of the v2 era, which the `sliderule` 4.x
/// client's version check accepts (and the 5.x client's only warns about).
pub const V2_RELEASE: &str = "v4.20.0";

/// Argon2id hashes of `demo-password-erin` and `demo-password-frank`.
const DEMO_HASHES: [&str; 2] = [
    "$argon2id$v=19$m=19456,t=2,p=1$DE0A3YPPer3f2cHb5r8J0Q$7e8hqPK9MEaiaFmi+YNeKQa2tlIayeob4pEiBkQEH4k",
    "$argon2id$v=19$m=19456,t=2,p=1$WzOY5v0lNZz68ADT5tB5Yg$OJDM989jbukCaTREe28tRpBb1Ty5CDnCRWPOU5k2kjw",
];

/// The demo's password of a demo account.
pub fn demo_password(username: &str) -> String {
    format!("demo-password-{username}")
}

impl Seed {
    /// The demo's: organization `icesat2` (the `icesat2` team's cluster, plus `erin`), 0–6
    /// nodes; `erin`, a member, and `frank`, who belongs nowhere.
    pub fn demo() -> Self {
        // Hashed once, here: the demo's passwords are public, and every demo start (and every
        // test application) would otherwise spend Argon2's deliberate cost on them.
        let account = |name: &str, hash: &str| SeedAccount {
            username: Username::parse(name).expect("a valid demo username"),
            password_hash: Some(hash.to_owned()),
            password: None,
            email: Some(format!("{name}@example.org")),
        };
        Self {
            organizations: vec![SeedOrganization {
                name: ClusterName::parse("icesat2").expect("a valid name"),
                min_nodes: 0,
                max_nodes: 6,
                // A v2-era organization: the 4.x client's version check needs a 4.x server.
                version: Some(Version::parse(V2_RELEASE).expect("a valid version")),
                is_public: false,
                admins: Vec::new(),
                members: vec!["erin".into()],
            }],
            accounts: vec![
                account("erin", DEMO_HASHES[0]),
                account("frank", DEMO_HASHES[1]),
            ],
        }
    }

    /// Reads a seed file (TOML).
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        use anyhow::Context;
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let seed: Seed = toml::from_str(&text)
            .with_context(|| format!("{} is not a valid seed", path.display()))?;
        seed.check()?;
        Ok(seed)
    }

    /// Every rule a seed must follow, before anything is written.
    pub fn check(&self) -> anyhow::Result<()> {
        for org in &self.organizations {
            Bounds::new(org.min_nodes, org.max_nodes, u32::MAX)
                .map_err(|e| anyhow::anyhow!("organization {}: {e}", org.name))?;
        }
        for account in &self.accounts {
            match (&account.password, &account.password_hash) {
                (Some(password), None) => check_password(&account.username, password)
                    .map_err(|e| anyhow::anyhow!("account {}: {e}", account.username))?,
                (None, Some(_)) => {}
                _ => anyhow::bail!(
                    "account {}: give exactly one of password_hash and password",
                    account.username
                ),
            }
        }
        Ok(())
    }

    /// Creates what is missing; returns how many things were created.
    pub async fn apply(&self, store: &dyn Store, now: OffsetDateTime) -> anyhow::Result<usize> {
        let mut created = 0;
        for account in &self.accounts {
            if store.account(account.username.as_str()).await?.is_some() {
                continue;
            }
            let password_hash = match (&account.password_hash, &account.password) {
                (Some(hash), _) => hash.clone(),
                (None, Some(password)) => passwords::hash(password).await?,
                (None, None) => anyhow::bail!("account {} has no password", account.username),
            };
            let row = AccountRow {
                id: 0,
                username: account.username.as_str().to_owned(),
                password_hash,
                email: account.email.clone(),
                active: true,
                created_at: now,
                created_by: "seed".into(),
            };
            if store.create_account(&row).await?.is_some() {
                created += 1;
            }
        }
        for org in &self.organizations {
            let mut admins: Vec<String> =
                org.admins.iter().map(|a| a.to_ascii_lowercase()).collect();
            admins.sort();
            admins.dedup();
            let row = OrganizationRow {
                name: org.name.as_str().to_owned(),
                min_nodes: org.min_nodes,
                max_nodes: org.max_nodes,
                version: org.version.as_ref().map_or_else(
                    || Version::latest().as_str().to_owned(),
                    |v| v.as_str().to_owned(),
                ),
                is_public: org.is_public,
                admins,
                created_at: now,
                created_by: "seed".into(),
                revision: 0,
            };
            if store.create_organization(&row).await? {
                created += 1;
                for member in &org.members {
                    let member = member.to_ascii_lowercase();
                    store.request_membership(&row.name, &member, now).await?;
                    store
                        .decide_membership(
                            &row.name,
                            &member,
                            &[MembershipState::Pending],
                            MembershipState::Active,
                            "seed",
                            now,
                        )
                        .await?;
                }
            }
        }
        Ok(created)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{OrganizationStore, SqliteStore};

    #[tokio::test]
    async fn the_demo_seed_creates_icesat2_erin_and_frank_once() {
        let store = SqliteStore::open_in_memory().unwrap();
        let now = OffsetDateTime::UNIX_EPOCH;
        assert_eq!(Seed::demo().apply(&store, now).await.unwrap(), 3);
        assert_eq!(
            Seed::demo().apply(&store, now).await.unwrap(),
            0,
            "idempotent"
        );
        let org = store.organization("icesat2").await.unwrap().unwrap();
        assert_eq!((org.min_nodes, org.max_nodes), (0, 6));
        assert_eq!(org.version, "v4.20.0");
        let erin = store.membership("icesat2", "erin").await.unwrap().unwrap();
        assert_eq!(erin.state, MembershipState::Active);
        assert!(
            store
                .membership("icesat2", "frank")
                .await
                .unwrap()
                .is_none()
        );
        let frank = store.account("frank").await.unwrap().unwrap();
        assert!(passwords::matches_now(
            &frank.password_hash,
            "demo-password-frank"
        ));
    }

    #[test]
    fn a_seed_file_is_checked_before_anything_is_written() {
        let bad: Seed =
            toml::from_str("[[organizations]]\nname = \"x\"\nmin_nodes = 3\nmax_nodes = 2\n")
                .unwrap();
        assert!(
            bad.check()
                .unwrap_err()
                .to_string()
                .contains("min_nodes 3 is more than max_nodes 2")
        );
        let weak: Seed =
            toml::from_str("[[accounts]]\nusername = \"erin\"\npassword = \"short\"\n").unwrap();
        assert!(
            weak.check()
                .unwrap_err()
                .to_string()
                .contains("at least 12")
        );
        assert!(
            toml::from_str::<Seed>("[[organizations]]\nname = \"Bad_Name\"\nmax_nodes = 1\n")
                .is_err()
        );
    }
}
