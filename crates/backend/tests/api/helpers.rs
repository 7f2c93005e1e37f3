//! Test harness: [`TestApp::spawn`] starts the real application on 127.0.0.1:0 with its own
//! data and web directories, and stops it when dropped.

use std::path::Path;

use std::sync::OnceLock;

use std::sync::Arc;

use github_emulator::{Emulator, RunningEmulator, Seed};
use sliderule_backend::app::AppState;
use sliderule_backend::clock::ManualClock;
use sliderule_backend::config::{self, ConfigSources, Mode};
use sliderule_backend::keys::{KeyBits, SigningKey};
use sliderule_backend::server::Application;
use tempfile::TempDir;
use tokio::sync::oneshot;

pub struct TestApp {
    pub address: String,
    /// The running application's state, for tests that need its keys or configuration.
    pub state: AppState,
    pub client: reqwest::Client,
    /// The application's clock; it stands still until a test advances it.
    pub clock: Arc<ManualClock>,
    /// The GitHub emulator on its own port, when the test asked for one.
    pub github: Option<RunningEmulator>,
    _dist: TempDir,
    _data: TempDir,
    stop: Option<oneshot::Sender<()>>,
}

/// Options for [`TestApp::spawn_with`]: configuration as `(dotted key, TOML value)` pairs.
#[derive(Default)]
pub struct TestConfig {
    pub values: Vec<(&'static str, toml::Value)>,
    /// Write a web client shell into the app's dist directory.
    pub with_web_client: bool,
    /// Run against a GitHub emulator on another port (serve mode) instead of the demo's
    /// in-process one.
    pub external_github: Option<Seed>,
    /// Run in serve mode against a GitHub emulator another test app already runs (replicas of
    /// one service share one GitHub).
    pub shared_github: Option<String>,
    /// The cloud driver, instead of the one the configuration names (the CloudFormation driver
    /// on moto).
    pub cloud: Option<Arc<dyn sliderule_backend::cloud::Cloud>>,
    /// Cost Explorer (on moto) for the budgets' reconciliation.
    pub costs: Option<Arc<dyn sliderule_backend::budgets::cost_explorer::CostSource>>,
    /// The mailer of notifications (SES on moto).
    pub mailer: Option<Arc<dyn sliderule_backend::notifications::Mailer>>,
    /// Where test summaries are read (S3 on moto).
    pub summaries: Option<Arc<dyn sliderule_backend::cloud::TestSummaries>>,
    /// AWS for KMS signing (moto with test credentials).
    pub aws: Option<aws_config::SdkConfig>,
    /// Sign with the data directory's keyring (a key generated at start, rotatable with the
    /// `keys` operations) instead of the shared fixed test key file.
    pub data_dir_keyring: bool,
    /// The client [`TestApp::get`] and friends use, instead of a plain one (the TLS tests give
    /// one that trusts their CA and resolves the domain's hosts to 127.0.0.1).
    pub client: Option<reqwest::Client>,
}

/// The OAuth App credentials the external emulator expects.
pub const GITHUB_CLIENT_ID: &str = "sliderule-test-app";
pub const GITHUB_CLIENT_SECRET: &str = "sliderule-test-secret";

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(TestConfig::default()).await
    }

    pub async fn spawn_with(options: TestConfig) -> Self {
        let data = TempDir::new().expect("temporary data directory");
        let dist = TempDir::new().expect("temporary dist directory");
        if options.with_web_client {
            write_web_client(dist.path());
        }
        let mut flags = vec![
            ("bind", toml::Value::String("127.0.0.1:0".into())),
            ("data_dir", path_value(data.path())),
            ("web.dist_dir", path_value(dist.path())),
            // Budgets have their own tests (which turn them on); elsewhere deploys are free.
            ("budgets.enabled", toml::Value::Boolean(false)),
        ];
        if !options.data_dir_keyring {
            // RSA generation takes a moment: every test app signs with one key made once.
            let key_file = data.path().join("signing.pem");
            std::fs::write(&key_file, test_signing_key_pem()).expect("write the test key");
            flags.push(("authenticator.signing_key_file", path_value(&key_file)));
        }
        let mut mode = Mode::Demo;
        let mut github = None;
        let mut github_url = options.shared_github;
        if let Some(mut seed) = options.external_github {
            seed.client_id = Some(GITHUB_CLIENT_ID.into());
            seed.client_secret = Some(GITHUB_CLIENT_SECRET.into());
            let running = Emulator::new(seed)
                .spawn("127.0.0.1:0".parse().expect("an address"))
                .await
                .expect("the GitHub emulator starts");
            github_url = Some(running.url());
            github = Some(running);
        }
        if let Some(url) = github_url {
            mode = Mode::Serve;
            flags.extend([
                ("github.web_url", toml::Value::String(url.clone())),
                ("github.api_url", toml::Value::String(url)),
                (
                    "github.client_id",
                    toml::Value::String(GITHUB_CLIENT_ID.into()),
                ),
                (
                    "github.client_secret",
                    toml::Value::String(GITHUB_CLIENT_SECRET.into()),
                ),
                // Serve mode's CloudFormation driver refuses to start without the bundled
                // template's network; nothing here reaches AWS (tests on moto bring their own
                // driver).
                (
                    "provisioner.parameters.VpcId",
                    toml::Value::String("vpc-0test".into()),
                ),
                (
                    "provisioner.parameters.SubnetIds",
                    toml::Value::String("subnet-0test".into()),
                ),
                // Tests make many sign-ins from one address; the limit has its own test.
                (
                    "authenticator.rate_limit_burst",
                    toml::Value::Integer(100_000),
                ),
                (
                    "authenticator.rate_limit_per_sec",
                    toml::Value::Integer(100_000),
                ),
            ]);
        }
        flags.extend(options.values);
        if mode == Mode::Serve {
            // As an operator does before starting a release: serve mode refuses an unmigrated
            // store.
            sliderule_backend::store::SqliteStore::migrate(&data.path().join("state.db"))
                .expect("store migrate");
        }
        let config = config::load(
            mode,
            ConfigSources {
                flags,
                ..Default::default()
            },
        )
        .expect("test configuration is valid");
        let clock = Arc::new(ManualClock::new());
        let overrides = sliderule_backend::app::Overrides {
            clock: Some(clock.clone()),
            cloud: options.cloud,
            costs: options.costs,
            mailer: options.mailer,
            summaries: options.summaries,
            aws: options.aws,
        };
        let app = Application::build_with(config, overrides)
            .await
            .expect("application binds");
        let address = format!("{}://{}", app.scheme(), app.local_addr());
        let state = app.state().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        let client = options.client.unwrap_or_else(|| {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("http client")
        });
        Self {
            address,
            state,
            client,
            clock,
            github,
            _dist: dist,
            _data: data,
            stop: Some(stop),
        }
    }

    /// The application in serve mode against the demo users' GitHub emulator on another port.
    pub async fn with_github() -> Self {
        Self::with_github_and(Vec::new()).await
    }

    /// As [`TestApp::with_github`], with configuration values.
    pub async fn with_github_and(values: Vec<(&'static str, toml::Value)>) -> Self {
        Self::spawn_with(TestConfig {
            values,
            external_github: Some(Seed::demo()),
            ..Default::default()
        })
        .await
    }

    /// The external emulator's controls.
    pub fn emulator(&self) -> &Emulator {
        self.github
            .as_ref()
            .expect("this test app runs with an external GitHub emulator")
            .emulator()
    }

    /// The application's data directory (its store and keys).
    pub fn data_dir(&self) -> &Path {
        self._data.path()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// A CORS preflight for a POST to `path` from `origin`; the `Access-Control-Allow-Origin`
    /// it answers, if any.
    pub async fn preflight(&self, path: &str, origin: &str) -> Option<String> {
        let response = self
            .client
            .request(reqwest::Method::OPTIONS, self.url(path))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "authorization,content-type",
            )
            .send()
            .await
            .unwrap();
        response
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap().to_owned())
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request is sent")
    }

    /// A GET with an explicit Host header, as a client of `login.DOMAIN` etc. would send.
    pub async fn get_on_host(&self, host: &str, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .header(reqwest::header::HOST, host)
            .send()
            .await
            .expect("request is sent")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The value of the `/metrics` sample named exactly `sample`, labels included (e.g.
/// `sliderule_clusters{state="running"}`), if there is one.
pub async fn metric(app: &TestApp, sample: &str) -> Option<f64> {
    let text = app.get("/metrics").await.text().await.ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix(sample)?.strip_prefix(' ')?.parse().ok())
}

pub fn test_signing_key_pem() -> &'static str {
    static PEM: OnceLock<String> = OnceLock::new();
    PEM.get_or_init(|| {
        SigningKey::generate(KeyBits::Rsa2048)
            .expect("generate a test key")
            .private_pem()
            .to_owned()
    })
}

fn path_value(path: &Path) -> toml::Value {
    toml::Value::String(path.display().to_string())
}

pub const SHELL_MARKER: &str = "<!-- sliderule test shell -->";

fn write_web_client(dir: &Path) {
    std::fs::write(
        dir.join("index.html"),
        format!("<!doctype html><html><body>{SHELL_MARKER}</body></html>"),
    )
    .expect("write index.html");
    std::fs::write(dir.join("app-0123abcd.js"), "console.log('app');").expect("write asset");
}

/// The error envelope of a response, checked to have exactly its two fields.
pub async fn envelope(response: reqwest::Response) -> (reqwest::StatusCode, String, String) {
    let status = response.status();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "error responses are JSON, got {content_type:?}"
    );
    let body: serde_json::Value = response.json().await.expect("JSON body");
    let object = body.as_object().expect("envelope is an object");
    assert_eq!(object.len(), 2, "envelope has exactly two fields: {body}");
    (
        status,
        body["error"]
            .as_str()
            .expect("error is a string")
            .to_owned(),
        body["error_description"]
            .as_str()
            .expect("error_description is a string")
            .to_owned(),
    )
}

/// The GitHub emulator on a free port, and the backend's GitHub client pointed at it.
pub async fn emulator_with(
    seed: github_emulator::Seed,
) -> (
    github_emulator::RunningEmulator,
    sliderule_backend::github::HttpGitHub,
) {
    let running = github_emulator::Emulator::new(seed)
        .spawn("127.0.0.1:0".parse().expect("an address"))
        .await
        .expect("emulator starts");
    let config = sliderule_backend::config::GithubConfig {
        web_url: running.url(),
        api_url: running.url(),
        client_id: Some("sliderule-test".into()),
        ..Default::default()
    };
    let github = sliderule_backend::github::HttpGitHub::new(&config).expect("client");
    (running, github)
}

/// The real `sliderule-backend demo` binary on a free port, killed if the test drops it.
pub struct RunningDemo {
    child: tokio::process::Child,
    /// From its `listening on …` line, e.g. `http://127.0.0.1:41234`.
    pub address: String,
    data: TempDir,
}

impl RunningDemo {
    /// Starts the demo with `extra` arguments and waits (at most 30 s) for its address.
    pub async fn start(extra: &[&std::ffi::OsStr]) -> Self {
        Self::start_in(TempDir::new().expect("temporary data directory"), extra).await
    }

    /// Starts the demo on the data directory `data` (another run's, after [`Self::kill`]).
    pub async fn start_in(data: TempDir, extra: &[&std::ffi::OsStr]) -> Self {
        use tokio::io::AsyncBufReadExt;

        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_sliderule-backend"))
            .args(["demo", "--bind", "127.0.0.1:0", "--data-dir"])
            .arg(data.path())
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("demo starts");
        let mut lines =
            tokio::io::BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let address = tokio::time::timeout(std::time::Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.expect("readable stdout") {
                if let Some(address) = line.strip_prefix("listening on ") {
                    return address.to_owned();
                }
            }
            panic!("the demo exited without printing its address");
        })
        .await
        .expect("the demo prints its address");
        // Keep reading: a closed pipe would end the demo at its next line of output.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self {
            child,
            address,
            data,
        }
    }

    /// SIGKILL, as a crash or an OOM kill ends a process: nothing is flushed or shut down.
    /// Returns the data directory, to start again on it.
    pub async fn kill(mut self) -> TempDir {
        self.child.kill().await.expect("SIGKILL is sent");
        self.data
    }

    /// Sends SIGTERM and returns the exit code (at most 20 s later).
    pub async fn terminate(mut self) -> Option<i32> {
        let pid = self.child.id().expect("still running").to_string();
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        assert!(killed.success());
        tokio::time::timeout(std::time::Duration::from_secs(20), self.child.wait())
            .await
            .expect("exits after SIGTERM")
            .expect("exit status")
            .code()
    }
}
