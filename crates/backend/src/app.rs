//! The application, built once from the configuration and shared by every handler and job.
//!
//! [`AppState::build`] is the one place that chooses store, cloud, keys and GitHub by
//! configuration (the way `cloud::driver` chooses the cloud). It opens no socket, so a server
//! ([`crate::server`]), a one-shot command (`sliderule-backend reap`) and, later, a Lambda are
//! thin callers of the same function; tests replace the clock or the cloud through
//! [`Overrides`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::Deref;
use std::sync::Arc;

use anyhow::Context;
use github_emulator::Emulator;

use crate::authenticator::Authenticator;
use crate::budgets::Budgets;
use crate::budgets::cost_explorer::{CostExplorer, CostSource};
use crate::clock::{Clock, SystemClock};
use crate::cloud::Cloud;
use crate::config::{Config, Mode, PublicUrls};
use crate::github::{GitHub, HttpGitHub};
use crate::http::calls::{MeteredCloud, MeteredCosts, MeteredGitHub};
use crate::http::host::HostRouting;
use crate::http::metrics::Metrics;
use crate::http::rate_limit::RateLimiter;
use crate::http::spa::SpaFiles;
use crate::keys::Keyring;
use crate::notifications::ses::Ses;
use crate::notifications::{Mailer, Notifier};
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
    /// AWS Cost Explorer, when budgets reconcile with it.
    pub costs: Option<Arc<dyn CostSource>>,
}

/// What tests and benchmarks give instead of what the configuration would build.
#[derive(Default)]
pub struct Overrides {
    /// The clock (a manual one in tests); the system clock otherwise.
    pub clock: Option<Arc<dyn Clock>>,
    /// The cloud (the CloudFormation driver on moto, a wrapper that fails on cue); the driver
    /// `provisioner.cloud` names otherwise.
    pub cloud: Option<Arc<dyn Cloud>>,
    /// Cost Explorer (on moto); built from `aws` when budgets reconcile with it otherwise.
    pub costs: Option<Arc<dyn CostSource>>,
    /// Delivers notifications (SES on moto); built from `aws` when `notifications.sender` is set
    /// otherwise.
    pub mailer: Option<Arc<dyn Mailer>>,
    /// Test summaries (S3 on moto); the driver's own otherwise.
    pub summaries: Option<Arc<dyn crate::cloud::TestSummaries>>,
    /// The AWS configuration of KMS signing and of a DynamoDB store (moto with test
    /// credentials); from `aws` otherwise.
    pub aws: Option<aws_config::SdkConfig>,
}

impl AppState {
    /// Builds the application from `config`: the signing keys, the store, the cloud driver,
    /// GitHub (the demo's in-process emulator or the real one) and the services over them.
    /// `config.bind` is the address this process is reached at (a server sets it to the
    /// address it bound, see [`PublicUrls::of`]). A key file, template or store the
    /// configuration points at but that cannot be used fails here, before anything is served.
    pub async fn build(config: Config, overrides: Overrides) -> anyhow::Result<Self> {
        let clock = overrides
            .clock
            .unwrap_or_else(|| Arc::new(SystemClock) as Arc<dyn Clock>);
        let keys = match &config.authenticator.kms_key_id {
            Some(key_id) => {
                let sdk = match &overrides.aws {
                    Some(sdk) => sdk.clone(),
                    None => {
                        crate::cloud::cloudformation::config_loader(&config.aws)
                            .load()
                            .await
                    }
                };
                let set = crate::keys::kms::key_set(
                    &sdk,
                    key_id,
                    &config.authenticator.kms_previous_key_ids,
                )
                .await
                .context("reading the signing keys from AWS KMS")?;
                Keyring::fixed_set(set)
            }
            // Reading (or generating) the keys is file I/O and RSA work: off the async workers.
            None => {
                let config = config.clone();
                let clock = clock.clone();
                tokio::task::spawn_blocking(move || Keyring::open(&config, clock))
                    .await
                    .context("loading the signing keys stopped")??
            }
        };
        let emulator = match config.mode {
            Mode::Demo => Some(crate::demo::emulator(crate::demo::load_seed(&config)?)),
            Mode::Serve => None,
        };
        let store = crate::store::open(&config, overrides.aws.as_ref()).await?;
        seed_organizations(&config, store.as_ref(), clock.now()).await?;
        let urls = PublicUrls::of(&config);
        let metrics = Metrics::new();
        let (cloud, driver) = match overrides.cloud {
            Some(cloud) => (cloud, "custom"),
            None => {
                let cloud = crate::cloud::driver::from_config(
                    &config,
                    store.clone(),
                    clock.clone(),
                    &urls.authenticator,
                )
                .await?;
                (cloud, config.cloud().as_str())
            }
        };
        let cloud = MeteredCloud::wrap(cloud, metrics.cloud_calls.clone(), driver);
        let github = MeteredGitHub::wrap(
            github(&config, &urls, emulator.is_some())?,
            metrics.github_calls.clone(),
            if emulator.is_some() {
                "emulator"
            } else {
                "github"
            },
        );
        let authenticator = Authenticator::new(
            &config,
            &urls,
            github.clone(),
            &github_config(&config, &urls, emulator.is_some()),
            store.clone(),
        )?;
        let budgets = Budgets::new(
            &config,
            store.clone(),
            clock.clone(),
            metrics.budgets.clone(),
        )
        .map(Arc::new);
        let notifier = notifier(&config, store.clone(), &metrics, overrides.mailer).await;
        let mut provisioner = Provisioner::new(
            &config,
            cloud,
            store.clone(),
            clock.clone(),
            budgets,
            notifier,
        );
        provisioner.summaries = match overrides.summaries {
            Some(summaries) => Some(summaries),
            None => {
                crate::cloud::driver::summaries_from_config(&config, store.clone(), clock.clone())
                    .await
            }
        };
        if config.mode == Mode::Demo
            && let Some(public) = &provisioner.node_group_public_cluster
        {
            // The demo's public cluster, for node groups to attach to: a year, like an owner's.
            provisioner
                .ensure_cluster(
                    DEMO_PUBLIC_CLUSTER_OWNER,
                    public,
                    2,
                    sliderule_protocol::Ttl::from_minutes(525_600),
                )
                .await
                .context("deploying the demo's public cluster")?;
        }
        let costs = match overrides.costs {
            Some(costs) => Some(costs),
            None if config.budgets_enabled() && config.budgets.reconcile_with_cost_explorer => {
                let sdk = crate::cloud::cloudformation::config_loader(&config.aws)
                    .load()
                    .await;
                Some(Arc::new(CostExplorer::new(&sdk)) as Arc<dyn CostSource>)
            }
            None => None,
        }
        .map(|costs| MeteredCosts::wrap(costs, metrics.cloud_calls.clone()));
        let host_routing = config.domain.as_deref().map(HostRouting::new);
        let spa = SpaFiles::new(config.web.dist_dir.clone());
        let auth_rate_limit = RateLimiter::new(
            config.authenticator.rate_limit_per_sec,
            config.authenticator.rate_limit_burst,
        );
        Ok(Self(Arc::new(App {
            config,
            urls,
            metrics,
            spa,
            host_routing,
            keys: Arc::new(keys),
            github,
            emulator,
            store,
            clock,
            authenticator,
            provisioner,
            auth_rate_limit,
            costs,
        })))
    }
}

/// Who deployed the demo's public cluster, as its record and the audit log say.
pub const DEMO_PUBLIC_CLUSTER_OWNER: &str = "sliderule";

/// The notifications, when they are on: the outbox, and delivery by `mailer` or, with
/// `notifications.sender`, by SES.
async fn notifier(
    config: &Config,
    store: Arc<dyn Store>,
    metrics: &Metrics,
    mailer: Option<Arc<dyn Mailer>>,
) -> Option<Arc<Notifier>> {
    if !config.notifications_enabled() {
        return None;
    }
    let mailer = match (mailer, &config.notifications.sender) {
        (Some(mailer), _) => Some(mailer),
        (None, Some(sender)) => {
            let sdk = crate::cloud::cloudformation::config_loader(&config.aws)
                .load()
                .await;
            Some(Arc::new(Ses::new(&sdk, sender)) as Arc<dyn Mailer>)
        }
        (None, None) => None,
    };
    // The demo's operators get an address of their own.
    let alert = config
        .notifications
        .alert_email
        .clone()
        .or_else(|| (config.mode == Mode::Demo).then(|| "operators@example.org".to_owned()));
    Some(Arc::new(Notifier::new(
        store,
        alert,
        metrics.notifications.clone(),
        mailer,
    )))
}

/// Creates the seeded organizations and local accounts that are missing: those of
/// `organizations.seed_file`, or the demo's.
async fn seed_organizations(
    config: &Config,
    store: &dyn Store,
    now: time::OffsetDateTime,
) -> anyhow::Result<()> {
    use crate::organizations::seed::Seed;
    let seed = match (&config.organizations.seed_file, config.mode) {
        (Some(path), _) => Seed::load(path)?,
        (None, Mode::Demo) => Seed::demo(),
        (None, Mode::Serve) => return Ok(()),
    };
    let created = seed
        .apply(store, now)
        .await
        .context("seeding organizations and local accounts")?;
    if created > 0 {
        tracing::info!(created, "seeded organizations and local accounts");
    }
    Ok(())
}

/// GitHub's settings as the authenticator uses them: the demo's point at its own emulator.
fn github_config(
    config: &Config,
    urls: &PublicUrls,
    emulated: bool,
) -> crate::config::GithubConfig {
    let mut github = config.github.clone();
    if emulated {
        let emulator = format!("{}{}", urls.authenticator, crate::demo::GITHUB_MOUNT);
        github.web_url = emulator.clone();
        github.api_url = emulator;
        // The emulator takes any OAuth App; GitHub's authorize page needs some client id.
        github
            .client_id
            .get_or_insert_with(|| "sliderule-demo".to_owned());
    }
    github
}

/// The GitHub client. The demo's calls go to its own public URL: with `--domain` that name
/// resolves for the user's client (or browser), not necessarily here, so it is pinned to the
/// address this process listens on, and the certificate chain the demo serves is trusted for
/// it (the system roots stay in force for everything else).
fn github(config: &Config, urls: &PublicUrls, emulated: bool) -> anyhow::Result<Arc<dyn GitHub>> {
    let own_host = url::Url::parse(&urls.authenticator)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .filter(|_| emulated && config.domain.is_some());
    let loopback = match config.bind.ip() {
        ip if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), config.bind.port())
        }
        _ => config.bind,
    };
    let own_chain = if emulated {
        crate::demo::own_certificate_chain(config)?
    } else {
        None
    };
    Ok(Arc::new(HttpGitHub::resolving(
        &github_config(config, urls, emulated),
        own_host.as_deref().map(|host| (host, loopback)),
        own_chain.as_deref(),
    )?))
}
