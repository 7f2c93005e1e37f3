//! A closed-loop HTTP/1.1 load generator.
//!
//! Each of `connections` workers owns one keep-alive connection and a [`Script`] that says what to
//! send next and whether an answer was right; it sends a request, waits for the whole answer,
//! and sends the next one at once (no think time). Scripts may have a set-up phase (see
//! [`Script::ready`]); the clock starts when every connection is done with it. Requests that start during the warm-up are
//! sent but not counted; after it, every request's latency (from just before sending to the last
//! byte of the body) goes into a `Vec`, so the percentiles are exact rather than bucketed.
//!
//! Being closed-loop, it measures the latency each connection sees at the throughput the server
//! reaches; it does not model clients that keep arriving while the server is slow (no correction
//! for coordinated omission).
//!
//! Two clients: [`ClientKind::Hyper`] drives `hyper::client::conn::http1` directly (the lightest
//! client there is, so as much CPU as possible is left to the server on a small machine), and
//! [`ClientKind::Reqwest`] is what the project's own code uses, for comparison.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use http::{HeaderValue, Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// One request a [`Script`] wants sent.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: Method,
    pub path: &'static str,
    /// A JSON body, if any.
    pub json: Option<Bytes>,
    /// Whether the call is part of the measurement. Set-up calls (the sign-in that starts a
    /// refresh chain) are sent but never counted.
    pub measured: bool,
    /// An access token sent as `Authorization: Bearer …`.
    pub bearer: Option<Arc<str>>,
}

impl Call {
    pub fn get(path: &'static str) -> Self {
        Self {
            method: Method::GET,
            path,
            json: None,
            measured: true,
            bearer: None,
        }
    }

    pub fn post_json(path: &'static str, body: impl Into<Bytes>) -> Self {
        Self {
            method: Method::POST,
            path,
            json: Some(body.into()),
            measured: true,
            bearer: None,
        }
    }

    /// The same call, with `Authorization: Bearer <token>`.
    pub fn bearer(mut self, token: Arc<str>) -> Self {
        self.bearer = Some(token);
        self
    }

    /// The same call, sent but not counted.
    pub fn setup(mut self) -> Self {
        self.measured = false;
        self
    }
}

/// What one connection sends, one call at a time.
pub trait Script: Send + 'static {
    /// The next call.
    fn next_call(&mut self) -> Call;
    /// Checks the answer to the last call: `None` when the request failed below HTTP (connection
    /// refused, reset, ...). `Err` says why it counts as an error.
    fn check(&mut self, answer: Option<(StatusCode, &[u8])>) -> Result<(), String>;
    /// Whether the script's set-up is done. Until every connection's is, calls are sent before
    /// the clock starts (neither warm-up nor measurement): for example the sign-ins that create
    /// the refresh tokens a refresh benchmark spends.
    fn ready(&self) -> bool {
        true
    }
}

/// How long one connection's set-up may take before it gives up (and reports an error).
const SETUP_TIMEOUT: Duration = Duration::from_secs(120);

/// Which HTTP client the workers use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ClientKind {
    /// `hyper::client::conn::http1`, one connection per worker.
    Hyper,
    /// A `reqwest::Client` per worker (so again one connection each).
    Reqwest,
}

/// How much load, for how long.
#[derive(Debug, Clone)]
pub struct Plan {
    pub connections: usize,
    pub warmup: Duration,
    pub duration: Duration,
    /// Stop once this many requests have been counted (across all connections).
    pub max_requests: u64,
    pub client: ClientKind,
}

/// What a run measured.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Latency of every counted request that succeeded, in nanoseconds, sorted.
    pub latencies_ns: Vec<u64>,
    /// Counted requests that failed (transport error, wrong status, wrong body).
    pub errors: u64,
    /// The first few distinct error reasons.
    pub error_samples: Vec<String>,
    /// From the end of the warm-up to the last counted request's completion.
    pub window: Duration,
}

impl Outcome {
    pub fn completed(&self) -> u64 {
        self.latencies_ns.len() as u64
    }

    /// Successful requests per second over the measured window.
    pub fn rate(&self) -> f64 {
        let secs = self.window.as_secs_f64();
        if secs > 0.0 {
            self.completed() as f64 / secs
        } else {
            0.0
        }
    }

    /// The `q` quantile (0..=1) of the successful requests' latency, by the nearest-rank method.
    pub fn quantile(&self, q: f64) -> Duration {
        let n = self.latencies_ns.len();
        if n == 0 {
            return Duration::ZERO;
        }
        let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
        Duration::from_nanos(self.latencies_ns[rank - 1])
    }

    pub fn max(&self) -> Duration {
        Duration::from_nanos(self.latencies_ns.last().copied().unwrap_or(0))
    }

    pub fn mean(&self) -> Duration {
        let n = self.latencies_ns.len() as u64;
        if n == 0 {
            return Duration::ZERO;
        }
        let sum: u128 = self.latencies_ns.iter().map(|&ns| u128::from(ns)).sum();
        Duration::from_nanos((sum / u128::from(n)) as u64)
    }
}

/// When a run counts and when it stops.
#[derive(Debug, Clone, Copy)]
struct Timing {
    measure_from: Instant,
    end: Instant,
}

/// The clock of a run, started once every connection has finished its set-up.
struct Start {
    everyone_ready: tokio::sync::Barrier,
    timing: tokio::sync::OnceCell<Timing>,
    warmup: Duration,
    duration: Duration,
}

impl Start {
    async fn timing(&self) -> Timing {
        *self
            .timing
            .get_or_init(|| async {
                let now = Instant::now();
                Timing {
                    measure_from: now + self.warmup,
                    end: now + self.warmup + self.duration,
                }
            })
            .await
    }
}

/// Runs `plan` against `addr`; `script(i)` makes connection `i`'s script. Must be called within a
/// Tokio runtime (the workers are spawned onto it).
pub async fn run<S, F>(addr: SocketAddr, plan: &Plan, mut script: F) -> anyhow::Result<Outcome>
where
    S: Script,
    F: FnMut(usize) -> S,
{
    let start = Arc::new(Start {
        everyone_ready: tokio::sync::Barrier::new(plan.connections),
        timing: tokio::sync::OnceCell::new(),
        warmup: plan.warmup,
        duration: plan.duration,
    });
    let budget = Arc::new(AtomicI64::new(
        i64::try_from(plan.max_requests).unwrap_or(i64::MAX),
    ));
    let mut workers = tokio::task::JoinSet::new();
    for index in 0..plan.connections {
        let worker = Worker {
            addr,
            start: start.clone(),
            budget: budget.clone(),
            script: script(index),
            capacity: expected_per_worker(plan),
        };
        match plan.client {
            ClientKind::Hyper => workers.spawn(worker.run_hyper()),
            ClientKind::Reqwest => workers.spawn(worker.run_reqwest()),
        };
    }
    let mut outcome = Outcome::default();
    let mut last_done: Option<Instant> = None;
    while let Some(joined) = workers.join_next().await {
        let tally = joined.context("a load worker panicked")?;
        outcome.latencies_ns.extend(tally.latencies_ns);
        outcome.errors += tally.errors;
        for sample in tally.error_samples {
            if outcome.error_samples.len() < 5 && !outcome.error_samples.contains(&sample) {
                outcome.error_samples.push(sample);
            }
        }
        last_done = last_done.max(tally.last_done);
    }
    outcome.latencies_ns.sort_unstable();
    if let (Some(timing), Some(last_done)) = (start.timing.get(), last_done) {
        outcome.window = last_done.saturating_duration_since(timing.measure_from);
    }
    Ok(outcome)
}

/// A guess at how many latencies one worker records, so its `Vec` rarely grows.
fn expected_per_worker(plan: &Plan) -> usize {
    let per_worker = plan.max_requests / plan.connections.max(1) as u64;
    usize::try_from(per_worker.min(1 << 20)).unwrap_or(1 << 20)
}

struct Worker<S> {
    addr: SocketAddr,
    start: Arc<Start>,
    budget: Arc<AtomicI64>,
    script: S,
    capacity: usize,
}

#[derive(Default)]
struct Tally {
    latencies_ns: Vec<u64>,
    errors: u64,
    error_samples: Vec<String>,
    last_done: Option<Instant>,
}

impl Tally {
    fn error(&mut self, reason: String) {
        self.errors += 1;
        if self.error_samples.len() < 5 && !self.error_samples.contains(&reason) {
            self.error_samples.push(reason);
        }
    }
}

/// What the worker loop needs from a client: send one call, return the status and whole body.
trait Connection {
    async fn send(&mut self, call: Call) -> Result<(StatusCode, Bytes), String>;
}

impl<S: Script> Worker<S> {
    /// Takes a request from the shared budget, or says the run is over.
    fn take_budget(&self) -> bool {
        self.budget.fetch_sub(1, Ordering::Relaxed) > 0
    }

    async fn drive<C: Connection>(mut self, mut connection: C) -> Tally {
        let mut tally = Tally {
            latencies_ns: Vec::with_capacity(self.capacity),
            ..Tally::default()
        };
        let setup_started = Instant::now();
        while !self.script.ready() {
            if setup_started.elapsed() > SETUP_TIMEOUT {
                tally.error(format!(
                    "set-up not done after {} s; measuring anyway",
                    SETUP_TIMEOUT.as_secs()
                ));
                break;
            }
            let call = self.script.next_call();
            let sent = connection.send(call).await;
            let _ = self.script.check(
                sent.as_ref()
                    .ok()
                    .map(|(status, body)| (*status, &body[..])),
            );
            if sent.is_err() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        self.start.everyone_ready.wait().await;
        let timing = self.start.timing().await;
        loop {
            let now = Instant::now();
            if now >= timing.end {
                break;
            }
            let call = self.script.next_call();
            let counted = call.measured && now >= timing.measure_from;
            if counted && !self.take_budget() {
                break;
            }
            let started = Instant::now();
            let sent = connection.send(call).await;
            let elapsed = started.elapsed();
            let verdict = match &sent {
                Ok((status, body)) => self.script.check(Some((*status, body))),
                Err(reason) => {
                    // Not a `check` failure, so say it here; the script only learns it failed.
                    let _ = self.script.check(None);
                    Err(reason.clone())
                }
            };
            if counted {
                match verdict {
                    Ok(()) => tally
                        .latencies_ns
                        .push(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)),
                    Err(reason) => tally.error(reason),
                }
                tally.last_done = Some(Instant::now());
            }
            if sent.is_err() {
                // Do not spin on a server that is gone.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        tally
    }

    async fn run_hyper(self) -> Tally {
        let connection = HyperConnection {
            addr: self.addr,
            host: HeaderValue::from_str(&self.addr.to_string())
                .unwrap_or(HeaderValue::from_static("localhost")),
            sender: None,
        };
        self.drive(connection).await
    }

    async fn run_reqwest(self) -> Tally {
        let client = match reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .tcp_nodelay(true)
            .build()
        {
            Ok(client) => client,
            Err(e) => {
                let mut tally = Tally::default();
                tally.error(format!("cannot build the reqwest client: {e}"));
                return tally;
            }
        };
        let connection = ReqwestConnection {
            base: format!("http://{}", self.addr),
            client,
        };
        self.drive(connection).await
    }
}

struct HyperConnection {
    addr: SocketAddr,
    host: HeaderValue,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl HyperConnection {
    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, String> {
        let stream = TcpStream::connect(self.addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        stream
            .set_nodelay(true)
            .map_err(|e| format!("nodelay: {e}"))?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(async move {
            // Ends when the connection closes; the next send reports why.
            let _ = connection.await;
        });
        Ok(sender)
    }
}

impl Connection for HyperConnection {
    async fn send(&mut self, call: Call) -> Result<(StatusCode, Bytes), String> {
        let mut sender = match self.sender.take() {
            Some(sender) if !sender.is_closed() => sender,
            _ => self.connect().await?,
        };
        let mut request = Request::builder()
            .method(call.method)
            .uri(call.path)
            .header(header::HOST, self.host.clone());
        if call.json.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        if let Some(token) = &call.bearer {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = request
            .body(Full::new(call.json.unwrap_or_default()))
            .map_err(|e| format!("request: {e}"))?;
        sender
            .ready()
            .await
            .map_err(|e| format!("connection: {e}"))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("send: {e}"))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("body: {e}"))?
            .to_bytes();
        self.sender = Some(sender);
        Ok((status, body))
    }
}

struct ReqwestConnection {
    base: String,
    client: reqwest::Client,
}

impl Connection for ReqwestConnection {
    async fn send(&mut self, call: Call) -> Result<(StatusCode, Bytes), String> {
        let url = format!("{}{}", self.base, call.path);
        let mut request = self.client.request(call.method, url);
        if let Some(token) = &call.bearer {
            request = request.bearer_auth(token);
        }
        if let Some(json) = call.json {
            request = request
                .header(header::CONTENT_TYPE, "application/json")
                .body(json);
        }
        let response = request.send().await.map_err(|e| format!("send: {e}"))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| format!("body: {e}"))?;
        Ok((status, body))
    }
}
