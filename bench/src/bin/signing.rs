//! `signing`: what owners' request signing costs per request (provisioner.md, "Request
//! signing"), measured in-process: the Ed25519 verification alone, and the whole check the
//! middleware makes (parse, canonical string, key lookup with the file's change check,
//! verification, and the replay record written to SQLite).
//!
//! `cargo run --release -p sliderule-bench --bin signing -- --help`.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use aws_lc_rs::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use clap::Parser;
use sliderule_backend::provisioner::signing::{OwnerKeys, Presented, canonical};
use sliderule_backend::store::SqliteStore;
use sliderule_bench::{load_average, millis};

#[derive(Debug, Parser)]
#[command(about = "The cost of verifying an owner's signed request")]
struct Args {
    /// Verifications timed
    #[arg(short = 'n', long, default_value_t = 2000)]
    rounds: usize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    match runtime.block_on(run(&args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("signing: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let index = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}

fn report(what: &str, times: &mut [Duration]) {
    times.sort();
    println!(
        "| {what} | {} | {} | {} | {} |",
        times.len(),
        millis(quantile(times, 0.5)),
        millis(quantile(times, 0.99)),
        millis(times[times.len() - 1])
    );
}

fn key_line(public: &[u8]) -> String {
    let mut blob = Vec::new();
    for part in [b"ssh-ed25519".as_slice(), public] {
        blob.extend_from_slice(&u32::try_from(part.len()).unwrap_or(0).to_be_bytes());
        blob.extend_from_slice(part);
    }
    format!("ssh-ed25519 {} bench", STANDARD.encode(blob))
}

async fn run(args: &Args) -> anyhow::Result<()> {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| anyhow::anyhow!("a key"))?;
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|_| anyhow::anyhow!("a key"))?;
    let dir = tempfile::Builder::new()
        .prefix("sliderule-bench-")
        .tempdir()?;
    let file = dir.path().join("owner-keys.json");
    std::fs::write(
        &file,
        serde_json::json!({ "alice": key_line(pair.public_key().as_ref()) }).to_string(),
    )?;
    let keys = OwnerKeys::new(Some(file));
    let store = SqliteStore::open(&dir.path().join("state.db"))?;
    let body = br#"{"cluster":"carol","node_capacity":1,"ttl":15}"#;
    let host = "provisioner.sliderule.test";

    println!("# signing, load average {}", load_average());
    println!("\n| measurement | n | p50 ms | p99 ms | max ms |");
    println!("|---|---:|---:|---:|---:|");
    let now = sliderule_backend::clock::Clock::now(&sliderule_backend::clock::SystemClock);
    let timestamp = now.unix_timestamp().to_string();
    let message = canonical(host, "/deploy", &timestamp, body);
    let signature = pair.sign(message.as_bytes());
    let public = UnparsedPublicKey::new(&ED25519, pair.public_key().as_ref().to_vec());
    let mut times = Vec::with_capacity(args.rounds);
    for _ in 0..args.rounds {
        let started = Instant::now();
        public
            .verify(message.as_bytes(), signature.as_ref())
            .map_err(|_| anyhow::anyhow!("verifies"))?;
        times.push(started.elapsed());
    }
    report("Ed25519 verification alone", &mut times);

    let mut times = Vec::with_capacity(args.rounds);
    for round in 0..args.rounds {
        // Ed25519 is deterministic: another body each time gives another signature, as every
        // request has (the replay record refuses repeats).
        let body = format!(
            r#"{{"cluster":"carol","node_capacity":1,"ttl":{}}}"#,
            15 + round
        );
        let body = body.as_bytes();
        let message = canonical(host, "/deploy", &timestamp, body);
        let encoded = STANDARD.encode(pair.sign(message.as_bytes()).as_ref());
        let started = Instant::now();
        keys.verify(
            &store,
            "alice",
            Presented {
                timestamp: &timestamp,
                signature: &encoded,
            },
            &canonical(host, "/deploy", &timestamp, body),
            now,
        )
        .await?;
        times.push(started.elapsed());
    }
    report(
        "the whole check (canonical string, key lookup, verification, replay record in SQLite)",
        &mut times,
    );
    Ok(())
}
