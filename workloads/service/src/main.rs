//! `aibid`: one binary, several roles. The pipeline on the command line (`analyze`, `generate`, `eval`), the
//! service in one process (`up`) or as cluster roles (`api`, `worker`, `scheduler`, `monitor`, `migrate`), and
//! `config check`.

use aibid::{cli, config, server};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "aibid",
    version,
    about = "Tender in, proposal out: 招标文件 -> 投标技术方案"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Settings options shared by the service roles (the environment still wins over these, as the guide orders).
#[derive(clap::Args, Clone, Default)]
struct SettingsArgs {
    /// TOML config file with lower-case setting names (database_url = "...").
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Sets one setting, e.g. --set API_PORT=8080 (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_pair)]
    set: Vec<(String, String)>,
}

fn parse_pair(raw: &str) -> Result<(String, String), String> {
    raw.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .ok_or_else(|| format!("expected NAME=VALUE, got {raw:?}"))
}

impl SettingsArgs {
    fn load(&self) -> anyhow::Result<config::Settings> {
        config::load(self.config.as_deref(), &self.set)
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))
    }
}

#[derive(Subcommand)]
enum Command {
    /// Reads a tender and prints its requirement ledger (a summary, or the full report with --json).
    Analyze {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Runs the whole pipeline once: tender -> outline -> sections -> checks -> .docx.
    Generate(cli::generate::GenerateArgs),
    /// Scores `analyze` against every *.labels.json in DIR and prints a per-document, per-field table.
    Eval { dir: PathBuf },
    /// Everything in one process: SQLite, in-process queue, API + web UI + workers + scheduler.
    Up {
        #[command(flatten)]
        settings: SettingsArgs,
        #[command(flatten)]
        options: server::RoleOptions,
    },
    /// The HTTP API and web UI (cluster mode: DATABASE_URL, REDIS_URL, JWT_SECRET).
    Api {
        #[command(flatten)]
        settings: SettingsArgs,
        #[command(flatten)]
        options: server::RoleOptions,
    },
    /// A queue worker that writes sections.
    Worker {
        #[command(flatten)]
        settings: SettingsArgs,
        #[command(flatten)]
        options: server::RoleOptions,
    },
    /// The task monitor alone: queues, workers with heartbeats, failed tasks and retry (the guide's port 5555).
    Monitor {
        #[command(flatten)]
        settings: SettingsArgs,
        #[command(flatten)]
        options: server::RoleOptions,
    },
    /// Periodic jobs: reclaim stale tasks, retention cleanup, queue metrics.
    Scheduler {
        #[command(flatten)]
        settings: SettingsArgs,
        #[command(flatten)]
        options: server::RoleOptions,
    },
    /// Applies database migrations and creates the first admin.
    Migrate {
        #[command(flatten)]
        settings: SettingsArgs,
    },
    /// Benchmark helper: creates COUNT no-op tasks and puts them on the Redis queue (hack/bench-queue.sh).
    #[command(hide = true)]
    BenchEnqueue {
        #[arg(long)]
        count: usize,
        #[command(flatten)]
        settings: SettingsArgs,
        #[command(flatten)]
        options: server::RoleOptions,
    },
    /// Configuration tools.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Prints the effective configuration with secrets masked, or says which setting is wrong.
    Check(SettingsArgs),
}

fn run_role<F, Fut>(settings: &SettingsArgs, role: F) -> anyhow::Result<ExitCode>
where
    F: FnOnce(config::Settings) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let settings = settings.load()?;
    server::init_logging(&settings);
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(role(settings))?;
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Analyze { file, json } => cli::analyze::run(&file, json),
        Command::Generate(args) => cli::generate::run(&args),
        Command::Eval { dir } => cli::eval::run(&dir),
        Command::Up { settings, options } => run_role(&settings, |s| server::up(s, options)),
        Command::Api { settings, options } => run_role(&settings, |s| server::api(s, options)),
        Command::Worker { settings, options } => {
            run_role(&settings, |s| server::worker(s, options))
        }
        Command::Monitor { settings, options } => {
            run_role(&settings, |s| server::monitor(s, options))
        }
        Command::Scheduler { settings, options } => {
            run_role(&settings, |s| server::scheduler(s, options))
        }
        Command::Migrate { settings } => run_role(&settings, server::migrate),
        Command::BenchEnqueue {
            count,
            settings,
            options,
        } => run_role(&settings, |s| server::bench_enqueue(s, options, count)),
        Command::Config {
            command: ConfigCommand::Check(args),
        } => args.load().map(|settings| {
            print!("{}", settings.render_masked());
            ExitCode::SUCCESS
        }),
    };
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
