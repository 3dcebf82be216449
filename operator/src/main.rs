//! `aibid-operator`: `run` the controller, print the CRDs (`crdgen`), `render -f CR.yaml` every child, or
//! `diagnose NAME` an installation.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use aibid_operator::crd::BiddingDeployment;
use aibid_operator::render::{self, Credentials, Observed};
use aibid_operator::{metrics::Metrics, run};
use anyhow::Context as _;
use clap::{Parser, Subcommand};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "aibid-operator",
    version,
    about = "Runs BiddingDeployments as the aibid production stack"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Reconcile BiddingDeployments (all namespaces, or one with --namespace).
    Run {
        #[arg(long, env = "WATCH_NAMESPACE")]
        namespace: Option<String>,
        /// Address of /metrics and /health.
        #[arg(long, env = "HTTP_ADDR", default_value = "0.0.0.0:8080")]
        http_addr: SocketAddr,
        /// Namespace of the leader Lease (the operator's own namespace).
        #[arg(long, env = "POD_NAMESPACE", default_value = "aibid-system")]
        lease_namespace: String,
        #[arg(long, default_value = "aibid-operator-leader")]
        lease_name: String,
        /// This replica's identity in the Lease (the pod name).
        #[arg(long, env = "POD_NAME")]
        identity: Option<String>,
        #[arg(long, default_value_t = 15)]
        lease_seconds: u64,
    },
    /// Print the CustomResourceDefinitions as YAML.
    Crdgen,
    /// Print what the troubleshooting guide checks by hand: conditions, components, volumes, backups,
    /// restores, warning events and the task queue of one BiddingDeployment.
    Diagnose {
        name: String,
        /// Namespace of the BiddingDeployment (default: the kubeconfig's).
        #[arg(short = 'n', long)]
        namespace: Option<String>,
    },
    /// Print every child of a BiddingDeployment as YAML (deterministic; secrets show placeholders).
    Render {
        #[arg(short = 'f', long = "file")]
        file: PathBuf,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Crdgen => print!("{}", aibid_operator::crd::crd_yaml()?),
        Command::Diagnose { name, namespace } => {
            let client = kube::Client::try_default()
                .await
                .context("connecting to the Kubernetes API")?;
            let ns = namespace.unwrap_or_else(|| client.default_namespace().to_string());
            print!(
                "{}",
                aibid_operator::diagnose::report(&client, &ns, &name).await?
            );
        }
        Command::Render { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let bd: BiddingDeployment = serde_yaml::from_str(&text)
                .with_context(|| format!("{} is not a BiddingDeployment", file.display()))?;
            let observed = Observed {
                credentials: Credentials::placeholders(),
                migrated_version: Some(bd.spec.version.clone()),
                secret_digests: Default::default(),
            };
            print!(
                "{}",
                render::to_yaml_stream(&render::render_all(&bd, &observed))?
            );
        }
        Command::Run {
            namespace,
            http_addr,
            lease_namespace,
            lease_name,
            identity,
            lease_seconds,
        } => {
            tracing_subscriber::fmt()
                .json()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| "info,kube=warn".into()),
                )
                .init();
            let client = kube::Client::try_default()
                .await
                .context("connecting to the Kubernetes API")?;
            let metrics = Metrics::shared();
            let identity = aibid_operator::lease::identity(identity);
            let config = run::RunConfig {
                namespace,
                identity,
                lease_namespace,
                lease_name,
                lease_duration: Duration::from_secs(lease_seconds),
            };
            let http = tokio::spawn(run::serve_http(http_addr, metrics.clone()));
            let mut terminate =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .context("installing the SIGTERM handler")?;
            // SIGTERM (Kubernetes stopping the pod) and Ctrl-C both stop reconciling and release the Lease.
            let shutdown = async move {
                tokio::select! {
                    _ = terminate.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            };
            tokio::select! {
                result = run::run_until(client, config, metrics, shutdown) => result?,
                served = http => served??,
            }
        }
    }
    Ok(())
}
