//! The one typed configuration of a backend process.
//!
//! It is loaded once at start (see [`load`]) from defaults for the run mode, a TOML file,
//! `SLIDERULE_…` environment variables and command-line flags, in that order of precedence, and
//! then validated. Unknown keys are errors everywhere: a misspelt `org` key that silently let every
//! GitHub user in is a real incident in a peer project. `backend.example.toml` documents every key.

mod load;
mod secret;
mod store_url;
mod template;
mod urls;
mod validate;

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use sliderule_protocol::{Pricing, Usd};

pub use load::{ConfigSources, load, load_for_store};
pub use secret::Secret;
pub use store_url::StoreUrl;
pub use urls::PublicUrls;

/// How the process runs; decides defaults and which checks apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Everything embedded on one origin, zero configuration, emulated GitHub and simulated cloud.
    Demo,
    /// Real GitHub and AWS.
    Serve,
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mode::Demo => "demo",
            Mode::Serve => "serve",
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// How the process runs. Set by the subcommand, not by the file.
    #[serde(skip_deserializing, default = "default_mode")]
    pub mode: Mode,
    /// Enables host-based routing for `login.DOMAIN`, `provisioner.DOMAIN` and `CLUSTER.DOMAIN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Address to listen on; port 0 picks a free port.
    #[serde(default = "default_bind")]
    pub bind: SocketAddr,
    /// Where SQLite, generated keys and other local state live.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub authenticator: AuthenticatorConfig,
    #[serde(default)]
    pub provisioner: ProvisionerConfig,
    #[serde(default)]
    pub github: GithubConfig,
    #[serde(default)]
    pub aws: AwsConfig,
    #[serde(default)]
    pub store: StoreConfig,
    #[serde(default)]
    pub web: WebConfig,
    #[serde(default)]
    pub demo: DemoConfig,
    #[serde(default)]
    pub budgets: BudgetsConfig,
    #[serde(default)]
    pub organizations: OrganizationsConfig,
    #[serde(default)]
    pub accounts: AccountsConfig,
    #[serde(default)]
    pub notifications: NotificationsConfig,
}

fn default_mode() -> Mode {
    Mode::Serve
}

fn default_bind() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

fn default_data_dir() -> PathBuf {
    PathBuf::from(".sliderule")
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// A request that takes longer is answered 503 `timeout`.
    pub request_timeout_secs: u64,
    /// Bodies larger than this are answered 413.
    pub body_limit_bytes: usize,
    /// How long shutdown waits for requests in flight.
    pub shutdown_grace_secs: u64,
    /// PEM certificate chain (the server's certificate first) to serve HTTPS with, so no proxy
    /// is needed in front; set together with `tls_key_file`. Unset: plain HTTP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key of that certificate (PKCS#8, PKCS#1 or SEC1). A secret: only its path is
    /// ever printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key_file: Option<PathBuf>,
}

impl ServerConfig {
    /// Whether the backend terminates TLS itself (public URLs are then `https`).
    pub fn tls(&self) -> bool {
        self.tls_cert_file.is_some() && self.tls_key_file.is_some()
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            request_timeout_secs: 30,
            body_limit_bytes: 64 * 1024,
            shutdown_grace_secs: 10,
            tls_cert_file: None,
            tls_key_file: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthenticatorConfig {
    /// The public base URL of the authenticator, the JWT `iss`. Derived when unset: the
    /// listening address in demo mode, `https://login.DOMAIN` with a domain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// PEM file with the RSA signing key, fixed for the life of the process; when unset, a
    /// rotatable keyring in `data_dir/keys/` (see `sliderule-backend keys`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_key_file: Option<PathBuf>,
    /// An AWS KMS key (id, alias or ARN; RSA_2048, `SIGN_VERIFY`) that signs tokens instead of a
    /// local key, in the `aws` section's region: replicas share it and no machine holds key
    /// material.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    /// KMS keys that signed before `kms_key_id`: still published (and their tokens accepted)
    /// until their last token has expired.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kms_previous_key_ids: Vec<String>,
    /// Key that signs the OAuth `state` (any bytes, at least 32); generated into `data_dir` when
    /// unset. Replicas must share it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_key_file: Option<PathBuf>,
    /// The same key given inline (at least 32 characters), for deployments that pass secrets in
    /// the environment (`SLIDERULE_AUTHENTICATOR__STATE_KEY`, e.g. from Secrets Manager) rather
    /// than as files: every Lambda execution environment and replica then shares it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_key: Option<Secret>,
    /// Access tokens of the web client's sign-in; it refreshes them.
    pub browser_token_lifetime_secs: u64,
    /// Access tokens of PAT and device logins; the official clients never refresh.
    pub client_token_lifetime_secs: u64,
    /// A refresh-token family dies this long after sign-in, however much it is used.
    pub refresh_absolute_secs: u64,
    /// A refresh-token family unused for this long dies.
    pub refresh_idle_secs: u64,
    /// A spent refresh token presented again within this window gets its successor, once.
    pub refresh_grace_secs: u64,
    /// Dynamically registered clients are forgotten after this many days unused.
    pub client_unused_days: u64,
    /// Members may deploy a cluster named after their login.
    pub personal_clusters: bool,
    /// Hosts (and their subdomains) the legacy and basic logins may redirect to. Default: the
    /// domain, `localhost` and `127.0.0.1`.
    pub allowed_redirect_hosts: Vec<String>,
    /// Affiliates: people outside the organization who may use clusters (TOML or JSON file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub affiliates_file: Option<PathBuf>,
    pub member_max_nodes: u32,
    pub member_max_ttl: u32,
    pub owner_max_nodes: u32,
    pub owner_max_ttl: u32,
    /// Per client IP on `/auth/*`: sustained requests per second, and the burst above it.
    pub rate_limit_per_sec: u32,
    pub rate_limit_burst: u32,
}

impl Default for AuthenticatorConfig {
    fn default() -> Self {
        Self {
            issuer: None,
            signing_key_file: None,
            kms_key_id: None,
            kms_previous_key_ids: Vec::new(),
            state_key_file: None,
            state_key: None,
            browser_token_lifetime_secs: 3600,
            client_token_lifetime_secs: 12 * 3600,
            refresh_absolute_secs: 14 * 24 * 3600,
            refresh_idle_secs: 2 * 24 * 3600,
            refresh_grace_secs: 5,
            client_unused_days: 30,
            personal_clusters: true,
            allowed_redirect_hosts: Vec::new(),
            affiliates_file: None,
            member_max_nodes: 10,
            member_max_ttl: 720,
            owner_max_nodes: 500,
            owner_max_ttl: 525_600,
            rate_limit_per_sec: 10,
            rate_limit_burst: 20,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CloudDriver {
    Cloudformation,
    Simulated,
}

impl CloudDriver {
    /// Its name in the configuration (and in metrics).
    pub fn as_str(self) -> &'static str {
        match self {
            CloudDriver::Cloudformation => "cloudformation",
            CloudDriver::Simulated => "simulated",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProvisionerConfig {
    /// `cloudformation` (default in serve mode) or `simulated` (default in demo mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloud: Option<CloudDriver>,
    /// Names this installation in the `sliderule:deployment` tag of its stacks, so it manages
    /// only its own. Default: the domain, or `sliderule-demo`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
    /// The operator's own cluster template; the bundled `deploy/cluster.yaml` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_file: Option<PathBuf>,
    /// Extra stack parameters passed to every cluster stack (e.g. `KeyName`, `InstanceType`).
    pub parameters: std::collections::BTreeMap<String, String>,
    /// How often the reaper looks for clusters past their deadline.
    pub reaper_period_secs: u64,
    /// How often a recorded destroy is looked at while the cloud is busy with the stack (an
    /// update to wait for, a delete to watch); the reaper sweeps this often while any is
    /// pending, so a destroy lands within this long of CloudFormation allowing it.
    pub destroy_poll_secs: u64,
    /// How often stacks and records are reconciled (adopt orphans, close vanished records).
    pub reconcile_period_secs: u64,
    /// Deadline given to an adopted orphan stack, minutes from its adoption.
    pub adopt_ttl_mins: u32,
    /// Refuse owner-level requests that are not signed (provisioner.md, "Request signing").
    /// Off by default: the 5.7.0 client signs only for the `developer` role. A signature that is
    /// present is verified either way.
    pub require_owner_signatures: bool,
    /// The owners' Ed25519 public keys: JSON `{"<login>": "ssh-ed25519 AAAA… comment"}`,
    /// re-read when it changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_keys_file: Option<PathBuf>,
    /// The cluster `sliderule` names in a node group's `cluster` (provisioner.md, "Per-user node
    /// groups"): the public cluster as it is deployed now. Unset, node groups name their cluster.
    /// In demo mode the provisioner deploys it at start (public, 2 nodes, for a year).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_cluster: Option<String>,
    /// The bucket the test runner writes its summaries to (`testrunner/<branch>-summary.json`),
    /// which `/report/tests` reads. Unset, the CloudFormation driver has no test runner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_bucket: Option<String>,
    /// Minutes after its start the test runner's stack is deleted, whatever the run did.
    pub test_runner_ttl_mins: u32,
}

impl Default for ProvisionerConfig {
    fn default() -> Self {
        Self {
            cloud: None,
            deployment: None,
            template_file: None,
            parameters: std::collections::BTreeMap::new(),
            reaper_period_secs: 30,
            destroy_poll_secs: 5,
            reconcile_period_secs: 600,
            adopt_ttl_mins: 60,
            require_owner_signatures: false,
            owner_keys_file: None,
            public_cluster: None,
            project_bucket: None,
            test_runner_ttl_mins: 80,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GithubConfig {
    /// The GitHub organization whose members may deploy clusters.
    pub org: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<Secret>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret_file: Option<PathBuf>,
    /// A token with `read:org`, used to re-check membership at every refresh.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_token: Option<Secret>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_token_file: Option<PathBuf>,
    pub web_url: String,
    pub api_url: String,
    /// Every GitHub call gives up after this long (then the sign-in fails with 502).
    pub timeout_secs: f64,
    /// How long a membership answer is reused (at most 300).
    pub membership_cache_secs: u64,
}

impl Default for GithubConfig {
    fn default() -> Self {
        Self {
            org: "SlideRuleEarth".into(),
            client_id: None,
            client_secret: None,
            client_secret_file: None,
            service_token: None,
            service_token_file: None,
            web_url: "https://github.com".into(),
            api_url: "https://api.github.com".into(),
            timeout_secs: 10.0,
            membership_cache_secs: 300,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AwsConfig {
    pub region: String,
    /// Overrides the AWS endpoint (moto in tests).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
}

impl Default for AwsConfig {
    fn default() -> Self {
        Self {
            region: "us-west-2".into(),
            endpoint_url: None,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// `sqlite:///path/state.db` or `dynamodb://TABLE` (in the region and endpoint of `[aws]`);
    /// defaults to `state.db` in `data_dir`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Create or upgrade the schema at start: on in demo mode; off in serve mode, which refuses a
    /// missing or older schema (run `sliderule-backend store migrate --config FILE`, once per
    /// release, before the replicas start).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrate_on_start: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebConfig {
    /// The built web client (Trunk's `dist/`), served with a single-page-app fallback.
    pub dist_dir: PathBuf,
    /// Origins allowed to call the token, refresh, revoke, register and userinfo endpoints.
    pub allowed_origins: Vec<String>,
    /// A pre-registered public OAuth client id the web client uses instead of registering.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Name of the public cluster, shown by the web client.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_cluster: Option<String>,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            dist_dir: PathBuf::from("dist"),
            allowed_origins: Vec::new(),
            client_id: None,
            public_cluster: None,
        }
    }
}

/// Budgets (provisioner.md, "Budgets"): prices, the defaults of new accounts, how often
/// charges are written, and Cost Explorer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BudgetsConfig {
    /// On in demo mode, off in serve mode unless set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// What each node costs per hour (USD).
    pub node_usd_per_hour: Usd,
    /// What every deployed cluster pays per hour besides its nodes (load balancer, monitor).
    pub cluster_usd_per_hour: Usd,
    /// Charges are written at least this often; 5 in demo mode, 300 in serve mode unless set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charge_period_secs: Option<u64>,
    /// A new account's balance (USD).
    pub initial_balance: Usd,
    /// Credited on the 1st of each month (UTC).
    pub monthly_allowance: Usd,
    /// The allowance never lifts a balance above this.
    pub max_balance: Usd,
    /// Compare our charges with AWS Cost Explorer's daily figures and write the difference.
    pub reconcile_with_cost_explorer: bool,
}

impl Default for BudgetsConfig {
    fn default() -> Self {
        Self {
            enabled: None,
            node_usd_per_hour: Pricing::DEMO.node_usd_per_hour,
            cluster_usd_per_hour: Pricing::DEMO.cluster_usd_per_hour,
            charge_period_secs: None,
            initial_balance: Usd::from_dollars(100),
            monthly_allowance: Usd::from_dollars(100),
            max_balance: Usd::from_dollars(200),
            reconcile_with_cost_explorer: false,
        }
    }
}

impl BudgetsConfig {
    pub fn pricing(&self) -> Pricing {
        Pricing {
            node_usd_per_hour: self.node_usd_per_hour,
            cluster_usd_per_hour: self.cluster_usd_per_hour,
        }
    }
}

/// Organizations (organizations.md): where they are seeded from.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OrganizationsConfig {
    /// A TOML file of organizations and local accounts created at start-up when missing; the
    /// demo's built-in seed (`icesat2`, `erin`, `frank`) when unset in demo mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed_file: Option<PathBuf>,
}

/// Local accounts (organizations.md, "Local accounts").
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccountsConfig {
    /// Whether people may create their own account; on in demo mode, off in serve mode unless
    /// set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub self_signup: Option<bool>,
}

/// E-mail notifications (provisioner.md, "E-mail notifications").
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotificationsConfig {
    /// On in demo mode (the outbox), off in serve mode unless set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Every notification also goes here (the operators' address).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert_email: Option<String>,
    /// The From address of mail delivered through Amazon SES (an identity SES has verified, in
    /// the `aws` section's region); unset, messages go to the outbox and the log only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
}

/// Knobs of demo mode only.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DemoConfig {
    /// Seed file of the embedded GitHub emulator; the built-in demo users when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub github_seed: Option<PathBuf>,
    /// Step delay of the simulated cloud, in seconds.
    pub cloud_delay_secs: f64,
}

impl Default for DemoConfig {
    fn default() -> Self {
        Self {
            github_seed: None,
            cloud_delay_secs: 2.0,
        }
    }
}

impl Config {
    /// Prints the effective configuration as TOML, secrets shown as `***`.
    pub fn to_redacted_toml(&self) -> String {
        toml::to_string(self).unwrap_or_else(|e| format!("# cannot print configuration: {e}\n"))
    }

    /// The `sliderule:deployment` tag of this installation's stacks.
    pub fn deployment(&self) -> String {
        self.provisioner
            .deployment
            .clone()
            .or_else(|| self.domain.clone())
            .unwrap_or_else(|| "sliderule-demo".to_owned())
    }

    /// The web client's pre-registered OAuth client id: configured, or in demo mode
    /// [`DEMO_WEB_CLIENT_ID`], so the demo's web client signs in without registering.
    pub fn web_client_id(&self) -> Option<String> {
        self.web.client_id.clone().or_else(|| match self.mode {
            Mode::Demo => Some(DEMO_WEB_CLIENT_ID.to_owned()),
            Mode::Serve => None,
        })
    }

    /// Whether budgets are kept: configured, or on in demo mode only.
    pub fn budgets_enabled(&self) -> bool {
        self.budgets.enabled.unwrap_or(self.mode == Mode::Demo)
    }

    /// Whether notifications are written: configured, or on in demo mode only.
    pub fn notifications_enabled(&self) -> bool {
        self.notifications
            .enabled
            .unwrap_or(self.mode == Mode::Demo)
    }

    /// Whether the store's schema is created or upgraded at start (see [`StoreConfig`]).
    pub fn migrate_store_on_start(&self) -> bool {
        self.store
            .migrate_on_start
            .unwrap_or(self.mode == Mode::Demo)
    }

    /// Whether people may sign themselves up for a local account.
    pub fn self_signup(&self) -> bool {
        self.accounts.self_signup.unwrap_or(self.mode == Mode::Demo)
    }

    /// How often charges are written: configured, or 5 s in demo mode and 300 s in serve mode.
    pub fn charge_period(&self) -> std::time::Duration {
        let default = match self.mode {
            Mode::Demo => 5,
            Mode::Serve => 300,
        };
        std::time::Duration::from_secs(self.budgets.charge_period_secs.unwrap_or(default))
    }

    /// The cloud driver in effect: configured, or the mode's default.
    pub fn cloud(&self) -> CloudDriver {
        self.provisioner.cloud.unwrap_or(match self.mode {
            Mode::Demo => CloudDriver::Simulated,
            Mode::Serve => CloudDriver::Cloudformation,
        })
    }
}

/// The web client's client id in demo mode, unless `web.client_id` says otherwise.
pub const DEMO_WEB_CLIENT_ID: &str = "sliderule-web";

/// Why a configuration was refused: the key and the problem, printed as one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {problem}")]
pub struct ConfigError {
    pub key: String,
    pub problem: String,
}

impl ConfigError {
    pub fn new(key: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            problem: problem.into(),
        }
    }
}
