//! Host-based routing for `--domain`: `login.DOMAIN` is the authenticator, `provisioner.DOMAIN`
//! the provisioner, `ps.DOMAIN` the v2-era client API, `CLUSTER.DOMAIN` a (simulated) cluster, anything else the web client.
//!
//! Rather than keep one router per host, a request for a named host is rewritten onto the
//! single-origin layout (`provisioner.DOMAIN/deploy` → `/provisioner/deploy`) before routing, and
//! tagged with its [`HostKind`] so the fallback can answer 404 JSON on API hosts instead of the
//! web client's page. Both layouts are thus served by the same routes and tested once.

use axum::extract::Request;
use axum::http::{Uri, header, uri::PathAndQuery};
use sliderule_protocol::ClusterName;
use sliderule_protocol::provisioner::node_groups::PUBLIC_CLUSTER_ALIAS;

/// Which service a request's host names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKind {
    /// The web client, or the single origin when no domain is configured.
    Web,
    Login,
    Provisioner,
    /// `ps.DOMAIN`: the v2-era client API.
    Ps,
    Cluster(ClusterName),
    /// `sliderule.DOMAIN`: the public cluster (in demo mode, `provisioner.public_cluster`).
    PublicCluster,
}

#[derive(Debug, Clone)]
pub struct HostRouting {
    /// Lowercase; may carry a port (`localhost:8443`), in which case the port must match too.
    domain: String,
}

impl HostRouting {
    pub fn new(domain: &str) -> Self {
        Self {
            domain: domain.to_ascii_lowercase(),
        }
    }

    pub fn classify(&self, host: &str) -> HostKind {
        let host = host.to_ascii_lowercase();
        let host = if self.domain.contains(':') {
            host.as_str()
        } else {
            host.split_once(':').map_or(host.as_str(), |(name, _)| name)
        };
        let Some(label) = host
            .strip_suffix(self.domain.as_str())
            .and_then(|rest| rest.strip_suffix('.'))
        else {
            return HostKind::Web;
        };
        match label {
            "login" => HostKind::Login,
            "provisioner" => HostKind::Provisioner,
            "ps" => HostKind::Ps,
            PUBLIC_CLUSTER_ALIAS => HostKind::PublicCluster,
            _ if label.contains('.') => HostKind::Web,
            // Reserved names (client, www, …) fail to parse and stay with the web client.
            _ => ClusterName::parse(label).map_or(HostKind::Web, HostKind::Cluster),
        }
    }
}

/// The request's path before host routing rewrote it, as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginalPath(pub String);

/// Operational paths answer the same on every host (load balancers probe each name).
const HOST_INDEPENDENT_PATHS: &[&str] = &["/health", "/ready", "/metrics"];

/// Tags the request with its host kind and rewrites API hosts onto single-origin paths.
pub fn route_by_host(routing: Option<&HostRouting>, mut request: Request) -> Request {
    let kind = match routing {
        None => HostKind::Web,
        Some(routing) => request_host(&request).map_or(HostKind::Web, |h| routing.classify(&h)),
    };
    let prefix = match &kind {
        HostKind::Provisioner => Some("/provisioner".to_owned()),
        HostKind::Ps => Some(crate::ps::MOUNT.to_owned()),
        HostKind::Cluster(name) => Some(format!("/clusters/{name}")),
        HostKind::PublicCluster => Some(format!("/clusters/{PUBLIC_CLUSTER_ALIAS}")),
        HostKind::Web | HostKind::Login => None,
    };
    // What the client addressed (`provisioner.DOMAIN/deploy`), which request signatures cover.
    let original = OriginalPath(request.uri().path().to_owned());
    request.extensions_mut().insert(original);
    let host_independent = HOST_INDEPENDENT_PATHS.contains(&request.uri().path());
    if let Some(prefix) = prefix
        && !host_independent
        && let Some(uri) = prefixed(request.uri(), &prefix)
    {
        *request.uri_mut() = uri;
    }
    request.extensions_mut().insert(kind);
    request
}

pub fn request_host(request: &Request) -> Option<String> {
    request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| request.uri().authority().map(|a| a.as_str().to_owned()))
}

fn prefixed(uri: &Uri, prefix: &str) -> Option<Uri> {
    let path_and_query = uri.path_and_query().map_or("/", PathAndQuery::as_str);
    let new = if path_and_query.starts_with('/') {
        format!("{prefix}{path_and_query}")
    } else {
        format!("{prefix}/{path_and_query}")
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(new.parse().ok()?);
    Uri::from_parts(parts).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routing() -> HostRouting {
        HostRouting::new("SlideRule.test")
    }

    #[test]
    fn login_and_provisioner_hosts_are_recognised_with_any_port() {
        assert_eq!(routing().classify("login.sliderule.test"), HostKind::Login);
        assert_eq!(
            routing().classify("PROVISIONER.sliderule.test:8443"),
            HostKind::Provisioner
        );
    }

    #[test]
    fn a_cluster_host_names_its_cluster() {
        assert_eq!(
            routing().classify("bob.sliderule.test"),
            HostKind::Cluster(ClusterName::parse("bob").unwrap())
        );
    }

    #[test]
    fn reserved_nested_and_foreign_hosts_stay_with_the_web_client() {
        for host in [
            "sliderule.test",
            "client.sliderule.test",
            "a.b.sliderule.test",
            "127.0.0.1:8080",
            "evilsliderule.test",
        ] {
            assert_eq!(routing().classify(host), HostKind::Web, "{host}");
        }
    }

    #[test]
    fn a_domain_with_a_port_requires_that_port() {
        let routing = HostRouting::new("localhost:8443");
        assert_eq!(routing.classify("login.localhost:8443"), HostKind::Login);
        assert_eq!(routing.classify("login.localhost:9999"), HostKind::Web);
    }

    #[test]
    fn provisioner_requests_are_rewritten_under_provisioner() {
        let request = Request::builder()
            .uri("/deploy?x=1")
            .header(header::HOST, "provisioner.sliderule.test")
            .body(axum::body::Body::empty())
            .unwrap();
        let request = route_by_host(Some(&routing()), request);
        assert_eq!(request.uri().to_string(), "/provisioner/deploy?x=1");
        assert_eq!(
            request.extensions().get::<HostKind>(),
            Some(&HostKind::Provisioner)
        );
    }

    #[test]
    fn without_a_domain_nothing_is_rewritten() {
        let request = Request::builder()
            .uri("/deploy")
            .header(header::HOST, "provisioner.sliderule.test")
            .body(axum::body::Body::empty())
            .unwrap();
        let request = route_by_host(None, request);
        assert_eq!(request.uri().path(), "/deploy");
        assert_eq!(request.extensions().get::<HostKind>(), Some(&HostKind::Web));
    }
}
