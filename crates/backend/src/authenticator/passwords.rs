//! Password hashing for local accounts: Argon2id with the `argon2` crate's defaults (OWASP's
//! recommended 19 MiB, 2 passes, 1 lane), stored as PHC strings, so parameters can be raised
//! later without invalidating what is stored.
//!
//! Checking takes the same work whether or not the account exists: an unknown username is
//! checked against a hash made once at start-up, and the result thrown away. Hashing is slow on
//! purpose, so it runs on the blocking pool.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};

use super::random::RandomError;

/// Why a hash could not be made.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error(transparent)]
    Random(#[from] RandomError),
    #[error("cannot hash the password: {0}")]
    Argon2(String),
    #[error("the hashing task stopped: {0}")]
    Task(String),
}

/// A new Argon2id PHC string for `password`, with a fresh 16-byte salt.
pub fn hash_now(password: &str) -> Result<String, HashError> {
    let mut salt = [0u8; 16];
    SystemRandom::new()
        .fill(&mut salt)
        .map_err(|_| RandomError)?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| HashError::Argon2(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| HashError::Argon2(e.to_string()))
}

/// Whether `password` matches `hash` (a PHC string). A hash that does not parse matches nothing.
pub fn matches_now(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A hash no password is known for: what an unknown username is checked against.
fn decoy() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        // The salt's randomness does not matter here; a failure still yields a valid PHC string.
        hash_now("decoy password nobody knows").unwrap_or_else(|_| {
            "$argon2id$v=19$m=19456,t=2,p=1$ZGVjb3lzYWx0ZGVjb3k$dGhpcyBpcyBub3QgYSByZWFsIGhhc2ggYXQgYWxs"
                .to_owned()
        })
    })
}

/// [`hash_now`] on the blocking pool.
pub async fn hash(password: &str) -> Result<String, HashError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash_now(&password))
        .await
        .map_err(|e| HashError::Task(e.to_string()))?
}

/// Checks `password` against `hash`, or against the decoy when there is no account, taking the
/// same time either way. True only for a real hash that matches.
pub async fn check(hash: Option<&str>, password: &str) -> bool {
    let (hash, real) = match hash {
        Some(hash) => (hash.to_owned(), true),
        None => (decoy().to_owned(), false),
    };
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || matches_now(&hash, &password) && real)
        .await
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_is_an_argon2id_phc_string_that_matches_only_its_password() {
        let hash = hash_now("demo-password-erin").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(!hash.contains("demo-password-erin"));
        assert!(matches_now(&hash, "demo-password-erin"));
        assert!(!matches_now(&hash, "demo-password-eriN"));
        assert!(!matches_now("not a hash", "demo-password-erin"));
    }

    #[test]
    fn two_hashes_of_one_password_differ_by_their_salt() {
        assert_ne!(
            hash_now("same password!").unwrap(),
            hash_now("same password!").unwrap()
        );
    }

    #[tokio::test]
    async fn an_unknown_account_never_matches_even_the_decoys_password() {
        assert!(!check(None, "decoy password nobody knows").await);
        let hash = hash("right password").await.unwrap();
        assert!(check(Some(&hash), "right password").await);
    }

    #[test]
    fn checking_an_unknown_account_costs_about_what_checking_a_real_one_does() {
        let hash = hash_now("right password").unwrap();
        let _ = decoy();
        // The fastest of five interleaved runs each: noise from other tests only adds time.
        let once = |h: &str| {
            let start = std::time::Instant::now();
            std::hint::black_box(matches_now(h, "wrong password"));
            start.elapsed()
        };
        let (mut real, mut unknown) = (std::time::Duration::MAX, std::time::Duration::MAX);
        for _ in 0..5 {
            real = real.min(once(&hash));
            unknown = unknown.min(once(decoy()));
        }
        let ratio = real.as_secs_f64() / unknown.as_secs_f64();
        assert!(
            (0.5..2.0).contains(&ratio),
            "real {real:?} vs unknown {unknown:?}"
        );
    }
}
