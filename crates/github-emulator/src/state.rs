//! The emulated world: users, organizations and teams resolved from the seed, plus everything that
//! changes while the emulator runs (memberships, one-time codes, device grants, tokens, faults and
//! the test clock).
//!
//! All of it sits behind one mutex in [`crate::Emulator`]; no lock is held across an `await`.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::faults::{Endpoint, Fault};
use crate::seed::{Membership, Seed, split_team};

/// How long a web-flow code may be exchanged (GitHub: 10 minutes).
pub(crate) const CODE_LIFETIME: Duration = Duration::from_secs(600);

/// Scopes GitHub's docs tell SlideRule users to give a classic PAT (upstream-services §2.1).
pub(crate) const PAT_SCOPES: &str =
    "public_repo, read:enterprise, read:org, read:public_key, read:user";

#[derive(Debug, Clone)]
pub(crate) struct OrgInfo {
    pub login: String,
    pub id: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct TeamInfo {
    pub id: u64,
    pub slug: String,
    /// Index into [`Directory::orgs`].
    pub org: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct UserInfo {
    pub login: String,
    pub id: u64,
    pub name: Option<String>,
    /// Indices into [`Directory::teams`], in seed order.
    pub teams: Vec<usize>,
}

/// The immutable part of the world, resolved once from the seed.
#[derive(Debug, Clone)]
pub(crate) struct Directory {
    /// The seed's organization first, then organizations named only by `"org/slug"` teams.
    pub orgs: Vec<OrgInfo>,
    pub teams: Vec<TeamInfo>,
    pub users: Vec<UserInfo>,
    /// PAT → user index.
    pub pats: HashMap<String, usize>,
}

/// Index of the seed's own organization in [`Directory::orgs`].
pub(crate) const SEED_ORG: usize = 0;

impl Directory {
    fn from_seed(seed: &Seed) -> Directory {
        let mut orgs = vec![OrgInfo {
            login: seed.org.clone(),
            id: seed.org_id,
        }];
        let mut teams: Vec<TeamInfo> = Vec::new();
        let mut users = Vec::with_capacity(seed.users.len());
        let mut pats = HashMap::new();
        for (index, user) in seed.users.iter().enumerate() {
            let mut user_teams = Vec::new();
            for entry in &user.teams {
                // The seed was validated, so every entry splits.
                let Some((org_name, slug)) = split_team(entry) else {
                    continue;
                };
                let org = match org_name {
                    None => SEED_ORG,
                    Some(name) => {
                        match orgs.iter().position(|o| o.login.eq_ignore_ascii_case(name)) {
                            Some(found) => found,
                            None => {
                                // Ids follow the seed org's so they stay stable for a given seed.
                                let id = seed.org_id + orgs.len() as u64;
                                orgs.push(OrgInfo {
                                    login: name.to_owned(),
                                    id,
                                });
                                orgs.len() - 1
                            }
                        }
                    }
                };
                let team = match teams
                    .iter()
                    .position(|t| t.org == org && t.slug.eq_ignore_ascii_case(slug))
                {
                    Some(found) => found,
                    None => {
                        teams.push(TeamInfo {
                            id: 5001 + teams.len() as u64,
                            slug: slug.to_ascii_lowercase(),
                            org,
                        });
                        teams.len() - 1
                    }
                };
                if !user_teams.contains(&team) {
                    user_teams.push(team);
                }
            }
            for pat in &user.pats {
                pats.insert(pat.clone(), index);
            }
            users.push(UserInfo {
                login: user.login.clone(),
                id: user.id,
                name: user.name.clone(),
                teams: user_teams,
            });
        }
        Directory {
            orgs,
            teams,
            users,
            pats,
        }
    }

    /// Finds a user by login, ignoring case as GitHub does.
    pub fn user_index(&self, login: &str) -> Option<usize> {
        self.users
            .iter()
            .position(|u| u.login.eq_ignore_ascii_case(login))
    }
}

/// What a token lets its holder act as.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub user: usize,
    /// Comma separated, as GitHub reports scopes in token answers.
    pub scope: String,
}

/// A web-flow code waiting to be exchanged.
#[derive(Debug, Clone)]
pub(crate) struct AuthCode {
    pub user: usize,
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub expires_at: Instant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    Pending,
    Approved(usize),
    Denied,
}

/// A device-flow authorization waiting for its user.
#[derive(Debug, Clone)]
pub(crate) struct DeviceGrant {
    /// As shown to the user, `ABCD-1234`.
    pub user_code: String,
    pub client_id: String,
    pub scope: String,
    pub expires_at: Instant,
    pub interval: u64,
    pub last_poll: Option<Instant>,
    pub decision: Decision,
}

/// GitHub's primary rate-limit bookkeeping, per caller and hourly window.
#[derive(Debug, Default)]
pub(crate) struct RateWindow {
    pub reset_unix: u64,
    pub used: HashMap<Option<u64>, u64>,
}

pub(crate) struct State {
    pub seed: Seed,
    pub directory: Directory,
    /// Current membership per user index (changeable by tests).
    pub memberships: Vec<Membership>,
    pub tokens: HashMap<String, Grant>,
    pub codes: HashMap<String, AuthCode>,
    /// Keyed by device code.
    pub devices: HashMap<String, DeviceGrant>,
    pub faults: HashMap<Endpoint, Fault>,
    pub rate: RateWindow,
    pub public_url: Option<String>,
    /// Added to the real clock so tests can expire codes without sleeping.
    clock_offset: Duration,
}

impl State {
    pub fn new(seed: Seed) -> State {
        let directory = Directory::from_seed(&seed);
        let memberships = seed.users.iter().map(|u| u.membership).collect();
        State {
            seed,
            directory,
            memberships,
            tokens: HashMap::new(),
            codes: HashMap::new(),
            devices: HashMap::new(),
            faults: HashMap::new(),
            rate: RateWindow::default(),
            public_url: None,
            clock_offset: Duration::ZERO,
        }
    }

    pub fn now(&self) -> Instant {
        Instant::now() + self.clock_offset
    }

    pub fn unix_now(&self) -> u64 {
        (SystemTime::now() + self.clock_offset)
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }

    pub fn advance_clock(&mut self, by: Duration) {
        self.clock_offset += by;
    }

    /// Resolves an OAuth token or PAT to what it may do.
    pub fn grant_for(&self, token: &str) -> Option<Grant> {
        if let Some(grant) = self.tokens.get(token) {
            return Some(grant.clone());
        }
        self.directory.pats.get(token).map(|&user| Grant {
            user,
            scope: PAT_SCOPES.to_owned(),
        })
    }

    /// Mints a new OAuth token (GitHub's `gho_` prefix, 36 base62 characters).
    pub fn mint_token(&mut self, user: usize, scope: String) -> String {
        let token = format!("gho_{}", random_string(BASE62, 36));
        self.tokens.insert(token.clone(), Grant { user, scope });
        token
    }

    /// Drops codes and device grants nobody can use any more, so a long demo does not grow.
    pub fn purge_expired(&mut self) {
        let now = self.now();
        self.codes.retain(|_, code| code.expires_at > now);
        // Kept an hour past expiry so a late poll still hears `expired_token`, not an unknown code.
        let grace = Duration::from_secs(3600);
        self.devices
            .retain(|_, grant| grant.expires_at + grace > now);
    }

    /// Counts one API call and returns (limit, remaining, reset) for GitHub's rate-limit headers.
    pub fn count_api_call(&mut self, caller: Option<u64>) -> (u64, u64, u64) {
        let now = self.unix_now();
        if now >= self.rate.reset_unix {
            self.rate.reset_unix = now + 3600;
            self.rate.used.clear();
        }
        // GitHub's limits: 5000 an hour for a user, 60 for anonymous callers.
        let limit = if caller.is_some() { 5000 } else { 60 };
        let used = self.rate.used.entry(caller).or_insert(0);
        *used += 1;
        (limit, limit.saturating_sub(*used), self.rate.reset_unix)
    }

    /// The reset time of the current window (for rate-limit faults, which count nothing).
    pub fn rate_reset(&mut self) -> u64 {
        let now = self.unix_now();
        if now >= self.rate.reset_unix {
            self.rate.reset_unix = now + 3600;
            self.rate.used.clear();
        }
        self.rate.reset_unix
    }
}

pub(crate) const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
pub(crate) const HEX: &[u8] = b"0123456789abcdef";
/// User codes avoid vowels (no words) and look-alikes (0/O, 1/I) since people type them.
pub(crate) const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ23456789";

/// A random string over `alphabet`, drawn from v4 UUIDs (the OS random source).
pub(crate) fn random_string(alphabet: &[u8], len: usize) -> String {
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for byte in uuid::Uuid::new_v4().into_bytes() {
            if out.len() == len {
                break;
            }
            // The tiny modulo bias does not matter for an emulator's codes.
            out.push(alphabet[usize::from(byte) % alphabet.len()] as char);
        }
    }
    out
}

/// Normalizes a typed user code: case, spaces and the hyphen do not matter.
pub(crate) fn normalize_user_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn teams_in_other_orgs_create_those_orgs_once() {
        let mut seed = Seed::demo();
        seed.users[0].teams = vec!["other/gedi".into(), "icesat2".into()];
        seed.users[2].teams = vec!["Other/gedi".into()];
        let directory = Directory::from_seed(&seed);
        assert_eq!(directory.orgs.len(), 2);
        assert_eq!(directory.orgs[1].login, "other");
        // alice's gedi and carol's Other/gedi are the same team.
        assert_eq!(directory.users[0].teams[0], directory.users[2].teams[0]);
        // bob's icesat2 and alice's icesat2 are the same team in the seed org.
        assert_eq!(directory.users[0].teams[1], directory.users[1].teams[0]);
        assert_eq!(directory.teams[directory.users[1].teams[0]].org, SEED_ORG);
    }

    #[test]
    fn tokens_look_like_github_oauth_tokens() {
        let mut state = State::new(Seed::demo());
        let token = state.mint_token(0, "read:org".into());
        assert!(token.starts_with("gho_"));
        assert_eq!(token.len(), 40);
        assert!(token[4..].chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(token, state.mint_token(0, String::new()));
    }

    #[test]
    fn user_codes_ignore_case_and_separators() {
        assert_eq!(normalize_user_code(" bcdf-23gh "), "BCDF23GH");
    }

    #[test]
    fn the_rate_window_counts_down_per_caller() {
        let mut state = State::new(Seed::demo());
        let (limit, first, _) = state.count_api_call(Some(1001));
        let (_, second, _) = state.count_api_call(Some(1001));
        let (anonymous_limit, _, _) = state.count_api_call(None);
        assert_eq!(limit, 5000);
        assert_eq!(first, 4999);
        assert_eq!(second, 4998);
        assert_eq!(anonymous_limit, 60);
    }
}
