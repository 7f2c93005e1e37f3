//! Per-client-IP rate limiting of the sign-in endpoints (authenticator.md, "Abuse limits"): a
//! token bucket per IP, `burst` deep, refilled at `per_sec`; an empty bucket is answered 429 with
//! `Retry-After`. State is per process, which is what a single server needs; behind several
//! replicas each allows its share. A refused request's body is read after the answer
//! ([`super::middleware::finish_request_bodies`]), so that the connection can carry the retry.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// Buckets kept before idle ones are dropped.
const MAX_TRACKED: usize = 10_000;

#[derive(Debug)]
pub struct RateLimiter {
    per_sec: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl RateLimiter {
    pub fn new(per_sec: u32, burst: u32) -> Arc<Self> {
        Arc::new(Self {
            per_sec: f64::from(per_sec.max(1)),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        })
    }

    /// Takes one token for `ip` at `now`, or says how long until one is available.
    pub fn check(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() >= MAX_TRACKED {
            let (per_sec, burst) = (self.per_sec, self.burst);
            buckets.retain(|_, b| {
                b.tokens + now.duration_since(b.updated).as_secs_f64() * per_sec < burst
            });
        }
        let bucket = buckets.entry(ip).or_insert(Bucket {
            tokens: self.burst,
            updated: now,
        });
        let refill = now.duration_since(bucket.updated).as_secs_f64() * self.per_sec;
        bucket.tokens = (bucket.tokens + refill).min(self.burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / self.per_sec,
            ))
        }
    }
}

/// Middleware: 429 with `Retry-After` (whole seconds, at least 1) when the caller's bucket is
/// empty. Requests without a peer address (in-process calls) are not limited.
pub async fn limit(
    State(limiter): State<Arc<RateLimiter>>,
    request: Request,
    next: Next,
) -> Response {
    limited::<ApiError>(&limiter, request, next).await
}

/// [`limit`] for the v2 client API, whose 429 is in its own envelope.
pub async fn limit_v2(
    State(limiter): State<Arc<RateLimiter>>,
    request: Request,
    next: Next,
) -> Response {
    limited::<super::v2_error::V2Error>(&limiter, request, next).await
}

/// The refusal is `E` made from [`ApiError::TooManyRequests`], so each API keeps its envelope.
async fn limited<E: From<ApiError> + IntoResponse>(
    limiter: &RateLimiter,
    request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    if let Some(ip) = peer
        && let Err(wait) = limiter.check(ip, Instant::now())
    {
        let retry_after_secs = wait.as_secs_f64().ceil().max(1.0) as u64;
        // Decided from the headers alone; the body left unread is the business of
        // `middleware::finish_request_bodies`, which keeps the connection usable for the retry.
        return E::from(ApiError::TooManyRequests { retry_after_secs }).into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const OTHER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));

    #[test]
    fn a_burst_is_allowed_then_refused() {
        let limiter = RateLimiter::new(10, 20);
        let now = Instant::now();
        for i in 0..20 {
            assert!(limiter.check(IP, now).is_ok(), "request {i}");
        }
        let wait = limiter.check(IP, now).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_millis(100),
            "{wait:?}"
        );
    }

    #[test]
    fn the_bucket_refills_at_the_sustained_rate() {
        let limiter = RateLimiter::new(10, 20);
        let now = Instant::now();
        for _ in 0..20 {
            limiter.check(IP, now).unwrap();
        }
        let later = now + Duration::from_millis(500);
        for i in 0..5 {
            assert!(limiter.check(IP, later).is_ok(), "refilled request {i}");
        }
        assert!(limiter.check(IP, later).is_err());
    }

    #[test]
    fn each_ip_has_its_own_bucket() {
        let limiter = RateLimiter::new(10, 1);
        let now = Instant::now();
        limiter.check(IP, now).unwrap();
        assert!(limiter.check(IP, now).is_err());
        assert!(limiter.check(OTHER, now).is_ok());
    }
}
