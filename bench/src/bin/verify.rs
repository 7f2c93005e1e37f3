//! `verify`: RS256 signing and verification in-process, the way every part of the project does
//! them (`sliderule_backend::keys`).
//!
//! Generates one key, signs a token with the claims a PAT login issues, and times tight loops:
//!
//! - `sign`: `SigningKey::sign` (claims to JSON, base64url, RSA private-key operation), then the
//!   bare RSA signature with the private key parsed from DER on every call (as jsonwebtoken 11
//!   does) and with it parsed once.
//! - `verify`: `keys::verify` with issuer and audience checks, the full path a request's bearer
//!   token takes (header, key lookup, RSA, claims into `Claims`).
//! - `rsa only, key parsed per call`: the bare RSA-PKCS1-SHA256 check exactly as jsonwebtoken
//!   makes it (building the public key from `n` and `e` every time), to show what the JWT layer
//!   adds.
//! - `rsa only, key parsed once`: the same check with a pre-parsed key, the floor.
//!
//! Single-threaded figures are per core; `verify` is also run on every core at once. Each loop
//! runs several rounds and reports the best (least disturbed) and the median.
//!
//! `cargo run --release -p sliderule-bench --bin verify -- --help` lists the options.

use std::hint::black_box;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair, RsaPublicKeyComponents,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use clap::Parser;
use serde_json::json;
use sliderule_backend::keys::{Expected, KeyBits, KeySet, SigningKey, verify};

const ISSUER: &str = "http://127.0.0.1:8080";

/// RS256 sign and verify rates in-process (see the module documentation).
#[derive(Debug, Parser)]
#[command(name = "verify")]
struct Args {
    /// RSA modulus size
    #[arg(long, value_parser = ["2048", "3072", "4096"], default_value = "2048")]
    bits: String,
    /// Seconds each round of a loop runs
    #[arg(short, long, default_value_t = 1.0)]
    seconds: f64,
    /// Rounds of each loop; the best and the median are reported (the best is the least
    /// disturbed by anything else running on the machine)
    #[arg(short, long, default_value_t = 5)]
    rounds: usize,
    /// Threads for the all-cores verify run [default: one per core]
    #[arg(long)]
    threads: Option<usize>,
}

/// Runs `operation` repeatedly for `seconds`; returns operations per second.
fn rate(seconds: f64, mut operation: impl FnMut() -> bool) -> anyhow::Result<f64> {
    // A short warm-up fills caches and settles the CPU clock.
    let warm = Instant::now();
    while warm.elapsed() < Duration::from_millis(200) {
        if !operation() {
            bail!("the operation failed during warm-up");
        }
    }
    let limit = Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut count: u64 = 0;
    let mut failures: u64 = 0;
    loop {
        // Checking the clock every 16 operations keeps its cost out of the figure.
        for _ in 0..16 {
            if !operation() {
                failures += 1;
            }
            count += 1;
        }
        if started.elapsed() >= limit {
            break;
        }
    }
    if failures > 0 {
        bail!("{failures} of {count} operations failed");
    }
    Ok(count as f64 / started.elapsed().as_secs_f64())
}

/// Operations per second over several rounds.
#[derive(Debug, Clone, Copy)]
struct Rates {
    best: f64,
    median: f64,
}

/// Runs `once` (one timed round) `rounds` times.
fn best_of(rounds: usize, mut once: impl FnMut() -> anyhow::Result<f64>) -> anyhow::Result<Rates> {
    let mut rates = Vec::with_capacity(rounds);
    for _ in 0..rounds.max(1) {
        rates.push(once()?);
    }
    rates.sort_by(f64::total_cmp);
    Ok(Rates {
        best: rates[rates.len() - 1],
        median: rates[rates.len() / 2],
    })
}

fn line(what: &str, threads: usize, rates: Rates) {
    let per_core = rates.best / threads as f64;
    println!(
        "| {what} | {threads} | {:.0} | {:.0} | {per_core:.0} | {:.1} |",
        rates.best,
        rates.median,
        1e6 / per_core
    );
}

fn run(args: Args) -> anyhow::Result<()> {
    if !args.seconds.is_finite() || args.seconds <= 0.0 {
        bail!("--seconds must be positive");
    }
    let bits = match args.bits.as_str() {
        "3072" => KeyBits::Rsa3072,
        "4096" => KeyBits::Rsa4096,
        _ => KeyBits::Rsa2048,
    };
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let key = SigningKey::generate(bits).context("cannot generate a key")?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("the clock is before 1970")?
        .as_secs();
    // What a PAT login of a team member issues.
    let claims = json!({
        "iss": ISSUER, "sub": "bob", "github_id": 1002,
        "aud": ["provisioner", "monitor", "runner", "bob", "icesat2"],
        "org": "SlideRuleEarth", "org_roles": ["member"],
        "scope": "sliderule:access provisioner:access monitor:access runner:access",
        "max_nodes": 10, "max_ttl": 720,
        "iat": now, "nbf": now, "exp": now + 12 * 3600,
        "jti": "0f8e1c1e-5b7e-4b8e-9d5f-2b1f6c3d4e5a",
    });
    let token = key.sign(&claims).context("cannot sign")?;
    let (n, e) = (
        URL_SAFE_NO_PAD.decode(&key.jwk().n)?,
        URL_SAFE_NO_PAD.decode(&key.jwk().e)?,
    );
    let (message, signature) = token.rsplit_once('.').context("a JWT has three parts")?;
    let signature = URL_SAFE_NO_PAD.decode(signature)?;
    let components = RsaPublicKeyComponents {
        n: n.as_slice(),
        e: e.as_slice(),
    };
    let parsed = components
        .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
        .map_err(|e| anyhow::anyhow!("cannot parse the public key: {e}"))?;

    let pkcs8 = pem_body(key.private_pem())?;
    let pair = RsaKeyPair::from_pkcs8(&pkcs8)
        .map_err(|e| anyhow::anyhow!("cannot parse the private key: {e}"))?;
    let random = SystemRandom::new();
    let mut rsa_signature = vec![0u8; pair.public_modulus_len()];

    let keys = KeySet::single(key);
    let expected = Expected {
        issuer: ISSUER,
        audience: Some("provisioner"),
    };
    verify(&token, &keys, expected).context("our own token does not verify")?;

    println!(
        "verify: RSA-{}, token of {} bytes, {} rounds of {} s per loop, {} core(s), load average {}",
        args.bits,
        token.len(),
        args.rounds,
        args.seconds,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        sliderule_bench::load_average(),
    );
    if cfg!(debug_assertions) {
        println!("warning: this is a debug build; use --release");
    }
    println!();
    println!("| operation | threads | best /s | median /s | best /s per core | µs each (best) |");
    println!("|---|---:|---:|---:|---:|---:|");

    let signer = keys.signing();
    line(
        "sign (SigningKey::sign)",
        1,
        best_of(args.rounds, || {
            rate(args.seconds, || {
                black_box(signer.sign(black_box(&claims))).is_ok()
            })
        })?,
    );
    line(
        "rsa sign only, key parsed per call (as jsonwebtoken does)",
        1,
        best_of(args.rounds, || {
            rate(args.seconds, || {
                RsaKeyPair::from_pkcs8(black_box(&pkcs8)).is_ok_and(|pair| {
                    pair.sign(
                        &RSA_PKCS1_SHA256,
                        &random,
                        black_box(message.as_bytes()),
                        &mut rsa_signature,
                    )
                    .is_ok()
                })
            })
        })?,
    );
    line(
        "rsa sign only, key parsed once",
        1,
        best_of(args.rounds, || {
            rate(args.seconds, || {
                pair.sign(
                    &RSA_PKCS1_SHA256,
                    &random,
                    black_box(message.as_bytes()),
                    &mut rsa_signature,
                )
                .is_ok()
            })
        })?,
    );
    line(
        "verify (keys::verify, iss + aud + exp)",
        1,
        best_of(args.rounds, || {
            rate(args.seconds, || {
                black_box(verify(black_box(&token), &keys, expected)).is_ok()
            })
        })?,
    );
    line(
        "rsa only, key parsed per call (as jsonwebtoken does)",
        1,
        best_of(args.rounds, || {
            rate(args.seconds, || {
                components
                    .verify(
                        &RSA_PKCS1_2048_8192_SHA256,
                        black_box(message.as_bytes()),
                        black_box(&signature),
                    )
                    .is_ok()
            })
        })?,
    );
    line(
        "rsa only, key parsed once",
        1,
        best_of(args.rounds, || {
            rate(args.seconds, || {
                parsed
                    .verify_sig(black_box(message.as_bytes()), black_box(&signature))
                    .is_ok()
            })
        })?,
    );

    if threads > 1 {
        let every_core = || {
            std::thread::scope(|scope| {
                let handles: Vec<_> = (0..threads)
                    .map(|_| {
                        scope.spawn(|| {
                            rate(args.seconds, || {
                                black_box(verify(black_box(&token), &keys, expected)).is_ok()
                            })
                        })
                    })
                    .collect();
                let mut total = 0.0;
                for handle in handles {
                    match handle.join() {
                        Ok(result) => total += result?,
                        Err(_) => bail!("a verifying thread panicked"),
                    }
                }
                Ok(total)
            })
        };
        line(
            "verify (keys::verify), every core",
            threads,
            best_of(args.rounds, every_core)?,
        );
    }
    Ok(())
}

/// The DER inside a PEM document.
fn pem_body(pem: &str) -> anyhow::Result<Vec<u8>> {
    let body: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    Ok(STANDARD.decode(body.trim())?)
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
