//! Application state: built once from the configuration, shared by every handler.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::Deref;
use std::sync::Arc;

use github_emulator::Emulator;

use crate::authenticator::Authenticator;
use crate::clock::Clock;
use crate::cloud::Cloud;
use crate::config::{Config, Mode};
use crate::github::{GitHub, HttpGitHub};
use crate::http::host::HostRouting;
use crate::http::metrics::Metrics;
use crate::http::rate_limit::RateLimiter;
use crate::http::spa::SpaFiles;
use crate::keys::Keyring;
use crate::provisioner::Provisioner;
use crate::store::Store;

#[derive(Clone)]
pub struct AppState(Arc<App>);

impl Deref for AppState {
    type Target = App;

    fn deref(&self) -> &App {
        &self.0
    }
}

pub struct App {
    pub config: Config,
    pub urls: PublicUrls,
    pub metrics: Arc<Metrics>,
    pub spa: SpaFiles,
    pub host_routing: Option<HostRouting>,
    /// The keys we sign with and publish: `keys.current()` for the set in force now,
    /// `keys.verify(…)` to check one of our tokens.
    pub keys: Arc<Keyring>,
    pub github: Arc<dyn GitHub>,
    /// Demo mode's in-process GitHub, mounted under `/_github/`.
    pub emulator: Option<Emulator>,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub authenticator: Authenticator,
    pub provisioner: Provisioner,
    /// Per-IP limits of the sign-in endpoints.
    pub auth_rate_limit: Arc<RateLimiter>,
}

/// What [`AppState::new`] is built from besides the configuration: the parts tests replace.
pub struct Parts {
    pub keys: Arc<Keyring>,
    pub emulator: Option<Emulator>,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub cloud: Arc<dyn Cloud>,
}

impl AppState {
    /// `local_addr` is the address actually bound (port 0 resolved), used to derive public URLs.
    pub fn new(config: Config, parts: Parts, local_addr: SocketAddr) -> anyhow::Result<Self> {
        let Parts {
            keys,
            emulator,
            store,
            clock,
            cloud,
        } = parts;
        let urls = PublicUrls::derive(&config, local_addr);
        let mut github_config = config.github.clone();
        if emulator.is_some() {
            let emulated = format!("{}{}", urls.authenticator, crate::demo::GITHUB_MOUNT);
            github_config.web_url = emulated.clone();
            github_config.api_url = emulated;
            // The emulator takes any OAuth App; GitHub's authorize page needs some client id.
            github_config
                .client_id
                .get_or_insert_with(|| "sliderule-demo".to_owned());
        }
        // The demo's GitHub calls go to its own public URL; with --domain that name resolves
        // for the user's client (or browser), not necessarily here, so pin it to the address
        // this process listens on.
        let own_host = url::Url::parse(&urls.authenticator)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .filter(|_| emulator.is_some() && config.domain.is_some());
        let loopback = match local_addr.ip() {
            ip if ip.is_unspecified() => {
                SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), local_addr.port())
            }
            _ => local_addr,
        };
        let own_chain = match emulator {
            Some(_) => crate::demo::own_certificate_chain(&config)?,
            None => None,
        };
        let github: Arc<dyn GitHub> = Arc::new(HttpGitHub::resolving(
            &github_config,
            own_host.as_deref().map(|host| (host, loopback)),
            own_chain.as_deref(),
        )?);
        let authenticator = Authenticator::new(
            &config,
            &urls,
            github.clone(),
            &github_config,
            store.clone(),
        )?;
        let provisioner = Provisioner::new(&config, cloud, store.clone(), clock.clone());
        let host_routing = config.domain.as_deref().map(HostRouting::new);
        let spa = SpaFiles::new(config.web.dist_dir.clone());
        let auth_rate_limit = RateLimiter::new(
            config.authenticator.rate_limit_per_sec,
            config.authenticator.rate_limit_burst,
        );
        Ok(Self(Arc::new(App {
            config,
            urls,
            metrics: Metrics::new(),
            spa,
            host_routing,
            keys,
            github,
            emulator,
            store,
            clock,
            authenticator,
            provisioner,
            auth_rate_limit,
        })))
    }
}

/// Where people and clients reach each service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrls {
    /// The authenticator's base URL, also the JWT issuer.
    pub authenticator: String,
    pub provisioner: String,
    /// Where the web client is (the single origin, or the bare domain).
    pub web: String,
    pub domain: String,
}

impl PublicUrls {
    pub fn derive(config: &Config, local_addr: SocketAddr) -> Self {
        // How this process itself is reached: https only when it terminates TLS.
        let own_scheme = if config.server.tls() { "https" } else { "http" };
        match &config.domain {
            Some(domain) => {
                // Serve mode on a domain is reached on the standard https port, whether TLS ends
                // here or at a proxy in front. The demo on a domain is reached at the port it
                // listens on, over https when it terminates TLS itself.
                let (scheme, port) = match config.mode {
                    Mode::Serve => ("https", String::new()),
                    Mode::Demo if domain.contains(':') => (own_scheme, String::new()),
                    Mode::Demo => (own_scheme, format!(":{}", local_addr.port())),
                };
                let authenticator = config
                    .authenticator
                    .issuer
                    .clone()
                    .unwrap_or_else(|| format!("{scheme}://login.{domain}{port}"));
                Self {
                    authenticator,
                    provisioner: format!("{scheme}://provisioner.{domain}{port}"),
                    web: format!("{scheme}://{domain}{port}"),
                    domain: domain.clone(),
                }
            }
            None => {
                let reachable = match local_addr.ip() {
                    ip if ip.is_unspecified() => {
                        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), local_addr.port())
                    }
                    _ => local_addr,
                };
                let base = config
                    .authenticator
                    .issuer
                    .clone()
                    .unwrap_or_else(|| format!("{own_scheme}://{reachable}"));
                let base = base.trim_end_matches('/').to_owned();
                let domain = url::Url::parse(&base)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_owned))
                    .unwrap_or_else(|| reachable.ip().to_string());
                Self {
                    provisioner: format!("{base}/provisioner"),
                    web: base.clone(),
                    authenticator: base,
                    domain,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConfigSources, load};

    fn config(mode: Mode, domain: Option<&str>, tls: bool) -> Config {
        let mut flags = Vec::new();
        if let Some(domain) = domain {
            flags.push(("domain", toml::Value::String(domain.into())));
        }
        let mut config = load(
            Mode::Demo,
            ConfigSources {
                flags,
                ..Default::default()
            },
        )
        .unwrap();
        // Serve mode's GitHub requirements are beside the point here.
        config.mode = mode;
        if tls {
            config.server.tls_cert_file = Some("cert.pem".into());
            config.server.tls_key_file = Some("key.pem".into());
        }
        config
    }

    fn urls(mode: Mode, domain: Option<&str>, tls: bool) -> PublicUrls {
        let addr: SocketAddr = "0.0.0.0:8443".parse().unwrap();
        PublicUrls::derive(&config(mode, domain, tls), addr)
    }

    #[test]
    fn tls_makes_the_processs_own_urls_https() {
        let demo = urls(Mode::Demo, Some("sliderule.test"), true);
        assert_eq!(demo.authenticator, "https://login.sliderule.test:8443");
        assert_eq!(demo.provisioner, "https://provisioner.sliderule.test:8443");
        assert_eq!(demo.web, "https://sliderule.test:8443");
        let single = urls(Mode::Serve, None, true);
        assert_eq!(single.authenticator, "https://127.0.0.1:8443");
        assert_eq!(single.provisioner, "https://127.0.0.1:8443/provisioner");
        // Serve mode on a domain is https on the standard port either way.
        let serve = urls(Mode::Serve, Some("sliderule.test"), true);
        assert_eq!(serve.authenticator, "https://login.sliderule.test");
    }

    #[test]
    fn without_tls_the_demo_stays_plain_http() {
        let demo = urls(Mode::Demo, Some("sliderule.test"), false);
        assert_eq!(demo.authenticator, "http://login.sliderule.test:8443");
        assert_eq!(urls(Mode::Demo, None, false).web, "http://127.0.0.1:8443");
        let serve = urls(Mode::Serve, Some("sliderule.test"), false);
        assert_eq!(serve.web, "https://sliderule.test");
    }
}
