//! `sliderule-backend keys generate|rotate|list|retire`: the signing keys of a data directory.
//!
//! The work is done by [`crate::keys::admin`]; this module parses flags and prints results for
//! people (stdout) and scripts (exit codes: 0 done, 2 refused or misused, 1 the machine failed).
//! Nothing printed here ever contains private key material: only key ids and times.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{ArgGroup, Args, Subcommand};
use time::OffsetDateTime;

use crate::config::Mode;
use crate::keys::admin::{self, AdminError, Generated, KeyAdmin, KeyStatus, RetireTarget};
use crate::keys::manifest::{KeyState, RetireOutcome, format_time};
use crate::keys::{KeyBits, RELOAD_INTERVAL};

#[derive(Debug, Subcommand)]
pub(super) enum KeysCommand {
    /// Create the data directory's keyring with a first key (nothing happens if it has one).
    Generate {
        #[command(flatten)]
        target: Target,
        /// RSA modulus size of the new key: 2048, 3072 or 4096
        #[arg(long, default_value = "2048", value_parser = parse_bits)]
        bits: KeyBits,
    },
    /// Add a new key: published now, signing after the publish lead.
    Rotate {
        #[command(flatten)]
        target: Target,
        /// RSA modulus size of the new key: 2048, 3072 or 4096
        #[arg(long, default_value = "2048", value_parser = parse_bits)]
        bits: KeyBits,
        /// Seconds between publishing the key and signing with it. Shorter than the default
        /// (one JWKS cache lifetime plus one reload interval), clients holding a cached JWKS
        /// reject tokens the new key signs until their cache expires.
        #[arg(long, value_name = "SECS", default_value_t = admin::DEFAULT_PUBLISH_LEAD.as_secs())]
        publish_lead: u64,
    },
    /// Show every key: created, signs from, state, and when a replaced key may be retired.
    List {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        lifetime: Lifetime,
    },
    /// Stop publishing a key (tokens it signed stop verifying).
    #[command(group(ArgGroup::new("which").required(true).args(["kid", "expired"])))]
    Retire {
        #[command(flatten)]
        target: Target,
        /// The key id to retire
        // Key ids are base64url thumbprints and one in 32 starts with `-`: taken as a value,
        // not as an unknown flag.
        #[arg(allow_hyphen_values = true)]
        kid: Option<String>,
        /// Retire every key that no longer signs and whose tokens have all expired
        #[arg(long)]
        expired: bool,
        /// Retire the key even if tokens it signed may still be valid (they stop verifying)
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        lifetime: Lifetime,
    },
}

/// Which keys: the same flags as the serving modes, read the same way.
#[derive(Debug, Args)]
pub(super) struct Target {
    /// The data directory whose keyring to use [default: .sliderule]
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// TOML configuration file (see backend.example.toml)
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(super) struct Lifetime {
    /// The longest access-token lifetime, in seconds: how long a replaced key's tokens live
    /// [default: the longer of the configured browser and client token lifetimes]
    #[arg(long, value_name = "SECS")]
    max_token_lifetime: Option<u64>,
}

impl Lifetime {
    fn duration(&self, configured: Duration) -> Duration {
        self.max_token_lifetime
            .map_or(configured, Duration::from_secs)
    }
}

fn parse_bits(text: &str) -> Result<KeyBits, String> {
    text.parse()
}

pub(super) fn run(command: KeysCommand) -> ExitCode {
    let target = match &command {
        KeysCommand::Generate { target, .. }
        | KeysCommand::Rotate { target, .. }
        | KeysCommand::List { target, .. }
        | KeysCommand::Retire { target, .. } => target,
    };
    let (admin, configured_lifetime) = match open(target) {
        Ok(opened) => opened,
        Err(code) => return code,
    };
    let now = OffsetDateTime::now_utc();
    let result = match command {
        KeysCommand::Generate { bits, .. } => admin.generate(bits, now).map(print_generated),
        KeysCommand::Rotate {
            bits, publish_lead, ..
        } => rotate(&admin, bits, Duration::from_secs(publish_lead), now),
        KeysCommand::List { lifetime, .. } => admin
            .list(lifetime.duration(configured_lifetime), now)
            .map(|keys| print_list(&keys, now)),
        KeysCommand::Retire {
            kid,
            expired,
            force,
            lifetime,
            ..
        } => {
            // clap requires exactly one of the two.
            let which = match kid {
                Some(kid) if !expired => RetireTarget::Kid(kid),
                _ => RetireTarget::Expired,
            };
            admin
                .retire(&which, lifetime.duration(configured_lifetime), force, now)
                .map(|outcomes| print_retired(&which, &outcomes))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: keys: {e}");
            if e.is_usage() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// Loads the configuration as the serving modes do. Only `data_dir` and
/// `authenticator.signing_key_file` matter here, so serve mode's requirements (GitHub
/// credentials, a public issuer) are not checked: the demo mode's checks are the ones every
/// mode shares.
/// Also answers the longest access-token lifetime the configuration allows.
fn open(target: &Target) -> Result<(KeyAdmin, Duration), ExitCode> {
    let mut flags = Vec::new();
    if let Some(dir) = &target.data_dir {
        flags.push(("data_dir", toml::Value::String(dir.display().to_string())));
    }
    let config = super::load(Mode::Demo, target.config.as_deref(), flags)?;
    let auth = &config.authenticator;
    let longest = auth
        .browser_token_lifetime_secs
        .max(auth.client_token_lifetime_secs);
    Ok((KeyAdmin::new(&config), Duration::from_secs(longest)))
}

fn print_generated(generated: Generated) {
    match generated {
        Generated::Created { kid } => println!("generated key {kid}; it signs from now on"),
        Generated::Exists { kid } => {
            println!("a keyring already exists (key {kid} signs); nothing generated");
        }
        Generated::Converted { kid } => {
            println!("converted signing.pem into a keyring; key {kid} keeps signing");
        }
        Generated::ConfiguredFile { path, kid } => println!(
            "the signing key comes from authenticator.signing_key_file ({}), key {kid}; nothing generated",
            path.display()
        ),
    }
}

fn rotate(
    admin: &KeyAdmin,
    bits: KeyBits,
    lead: Duration,
    now: OffsetDateTime,
) -> Result<(), AdminError> {
    if lead < admin::DEFAULT_PUBLISH_LEAD {
        eprintln!(
            "warning: a publish lead of {} s is shorter than {} s (one JWKS cache lifetime and one reload): clients holding a JWKS cached before now may reject tokens the new key signs until their cache expires",
            lead.as_secs(),
            admin::DEFAULT_PUBLISH_LEAD.as_secs()
        );
    }
    let rotated = admin.rotate(bits, lead, now)?;
    println!(
        "added key {} (RSA {bits}): published now, signs from {} (in {} s)",
        rotated.kid,
        format_time(rotated.signs_from),
        (rotated.signs_from - now).whole_seconds().max(0)
    );
    println!(
        "until then key {} signs; running servers publish the new key within {} s",
        rotated.replaces,
        RELOAD_INTERVAL.as_secs()
    );
    println!(
        "once its tokens have expired (see `keys list`), retire the old key with `sliderule-backend keys retire --expired`"
    );
    Ok(())
}

fn print_list(keys: &[KeyStatus], now: OffsetDateTime) {
    let row = |kid: &str, created: &str, signs_from: &str, state: &str, retire: &str| {
        println!("{kid:<43}  {created:<20}  {signs_from:<20}  {state:<14}  {retire}");
    };
    row("KID", "CREATED", "SIGNS FROM", "STATE", "RETIRE AFTER");
    for key in keys {
        let signs_from = if key.signs_from == OffsetDateTime::UNIX_EPOCH {
            "always".to_owned()
        } else {
            format_time(key.signs_from)
        };
        let retire = match (key.state, key.retire_after, key.retired_at) {
            (KeyState::Retired, _, Some(at)) => format!("retired at {}", format_time(at)),
            (_, Some(after), _) if after <= now => format!("{} (due)", format_time(after)),
            (_, Some(after), _) => format_time(after),
            _ => "-".to_owned(),
        };
        row(
            &key.kid,
            &format_time(key.created_at),
            &signs_from,
            &key.state.to_string(),
            &retire,
        );
    }
}

fn print_retired(which: &RetireTarget, outcomes: &[(String, RetireOutcome)]) {
    if outcomes.is_empty() && *which == RetireTarget::Expired {
        println!("no key to retire: every key signs, is pending, or may have live tokens");
    }
    for (kid, outcome) in outcomes {
        match outcome {
            RetireOutcome::Retired => println!(
                "retired key {kid}: no longer published; running servers drop it within {} s",
                RELOAD_INTERVAL.as_secs()
            ),
            RetireOutcome::AlreadyRetired(at) => {
                println!("key {kid} was already retired at {}", format_time(*at));
            }
        }
    }
}
