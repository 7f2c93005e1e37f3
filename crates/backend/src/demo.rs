//! Demo mode's GitHub: the emulator mounted in-process under `/_github/`, seeded with the demo
//! users (or `--github-seed`), and the backend's GitHub client pointed at it (trusting the
//! demo's own certificate chain when it serves HTTPS).

use github_emulator::{Emulator, Membership, Seed};

use crate::config::{Config, ConfigError};

/// Where the emulator is mounted on the authenticator's origin.
pub const GITHUB_MOUNT: &str = "/_github";

/// The seed from `demo.github_seed`, or the built-in demo users.
pub fn load_seed(config: &Config) -> Result<Seed, ConfigError> {
    match &config.demo.github_seed {
        None => Ok(Seed::demo()),
        Some(path) => Seed::load(path)
            .map_err(|e| ConfigError::new("demo.github_seed", format!("{}: {e}", path.display()))),
    }
}

pub fn emulator(seed: Seed) -> Emulator {
    Emulator::new(seed)
}

/// The demo's own TLS certificate chain (PEM), when it serves HTTPS.
///
/// The demo's GitHub calls go to its own public URL, so they meet its own certificate: one from
/// a private CA would be refused (and no one could sign in) unless the operator also put that CA
/// in the system's trust store. The demo trusts the chain it serves instead.
pub fn own_certificate_chain(config: &Config) -> Result<Option<Vec<u8>>, ConfigError> {
    let Some(path) = config
        .server
        .tls_cert_file
        .as_ref()
        .filter(|_| config.server.tls())
    else {
        return Ok(None);
    };
    std::fs::read(path).map(Some).map_err(|e| {
        ConfigError::new(
            "server.tls_cert_file",
            format!("cannot read {}: {e}", path.display()),
        )
    })
}

/// One line per seeded user, for the demo's start-up banner.
pub fn describe_users(seed: &Seed) -> Vec<String> {
    seed.users
        .iter()
        .map(|user| {
            let standing = match user.membership {
                Membership::Admin => "organization admin",
                Membership::Member => "member",
                Membership::Pending => "invited, not yet a member",
                Membership::None => "GitHub user, not a member",
            };
            let teams = if user.teams.is_empty() {
                String::new()
            } else {
                format!(", teams {}", user.teams.join(", "))
            };
            let token = user
                .pats
                .first()
                .map(|pat| format!("  (token {pat})"))
                .unwrap_or_default();
            format!("  {:<8} {standing}{teams}{token}", user.login)
        })
        .collect()
}

/// The banner's lines about the demo's organization and local accounts (organizations.md).
pub fn describe_local_accounts(ps_url: &str) -> Vec<String> {
    use crate::organizations::seed::{V2_RELEASE, demo_password};
    vec![
        format!(
            "Organization icesat2 (0 to 6 nodes, {V2_RELEASE}; members: team icesat2, erin); \
             v2 client API at {ps_url}/api/"
        ),
        "Local accounts (\"Sign in with a username\"):".to_owned(),
        format!(
            "  {:<8} member of icesat2  (password {})",
            "erin",
            demo_password("erin")
        ),
        format!(
            "  {:<8} no organization   (password {})",
            "frank",
            demo_password("frank")
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_banner_names_the_local_accounts_and_their_passwords() {
        let text = describe_local_accounts("http://127.0.0.1:8080/ps").join("\n");
        assert!(
            text.contains("erin     member of icesat2  (password demo-password-erin)"),
            "{text}"
        );
        assert!(
            text.contains("frank    no organization   (password demo-password-frank)"),
            "{text}"
        );
        assert!(
            text.contains("v2 client API at http://127.0.0.1:8080/ps/api/"),
            "{text}"
        );
    }

    #[test]
    fn the_banner_names_every_demo_user_and_their_standing() {
        let lines = describe_users(&Seed::demo());
        let text = lines.join("\n");
        assert_eq!(lines.len(), 4);
        assert!(text.contains("alice    organization admin"), "{text}");
        assert!(
            text.contains("bob      member, teams icesat2  (token demo-pat-bob)"),
            "{text}"
        );
        assert!(
            text.contains("dave     GitHub user, not a member"),
            "{text}"
        );
    }
}
