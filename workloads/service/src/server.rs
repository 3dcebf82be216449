//! The service roles: `up` (everything in one process on embedded defaults), `api`, `worker`, `scheduler` and
//! `migrate` (cluster mode). Each stops gracefully on SIGTERM or Ctrl-C: the API drains open requests, a worker
//! finishes its current task.

use crate::config::{LogFormat, Settings};
use crate::http::{self, AppState};
use crate::metrics::Metrics;
use crate::queue::local::LocalQueue;
use crate::queue::redis_streams::RedisQueue;
use crate::queue::{Queue, TaskQueue};
use crate::store::Store;
use crate::worker::Worker;
use anyhow::Context;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Stream name of the section tasks in Redis.
pub const TASK_STREAM: &str = "aibid:tasks";

/// Options of the long-running roles that are not deployment settings.
#[derive(clap::Args, Clone, Debug)]
pub struct RoleOptions {
    /// Seconds a delivery may stay silent before another worker reclaims it.
    #[arg(long, default_value_t = 60)]
    pub reclaim_after: u64,
    /// Seconds between worker heartbeats.
    #[arg(long, default_value_t = 5)]
    pub heartbeat_every: u64,
    /// Seconds between scheduler rounds (reclaim, re-send, metrics).
    #[arg(long, default_value_t = 15)]
    pub schedule_every: u64,
    /// Redis stream carrying the tasks (separate deployments or tests sharing one Redis use different names).
    #[arg(long, default_value = TASK_STREAM)]
    pub task_stream: String,
}

pub fn init_logging(settings: &Settings) {
    let filter =
        tracing_subscriber::EnvFilter::try_new(format!("{},sqlx=warn", settings.log_level))
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match settings.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// A channel that turns true on SIGTERM or Ctrl-C.
pub fn shutdown_signal() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! { _ = ctrl_c => {}, _ = term => {} }
        tracing::info!("shutdown requested");
        let _ = tx.send(true);
    });
    rx
}

async fn wait_for(mut rx: watch::Receiver<bool>) {
    while !*rx.borrow() {
        if rx.changed().await.is_err() {
            return;
        }
    }
}

async fn connect_store(settings: &Settings) -> anyhow::Result<Store> {
    Store::connect(&settings.database_url, settings.database_pool_size)
        .await
        .with_context(|| {
            format!(
                "DATABASE_URL {}",
                crate::config::mask_url(&settings.database_url)
            )
        })
}

async fn redis_queue(settings: &Settings, options: &RoleOptions) -> anyhow::Result<Queue> {
    let url = settings
        .redis_url
        .as_deref()
        .context("REDIS_URL: required for this role (cluster mode)")?;
    let queue = RedisQueue::connect(
        url,
        &options.task_stream,
        Duration::from_secs(options.reclaim_after),
    )
    .await
    .with_context(|| format!("REDIS_URL {}", crate::config::mask_url(url)))?;
    Ok(Queue::Redis(queue))
}

async fn ensure_admin(settings: &Settings, store: &Store) -> anyhow::Result<()> {
    match (&settings.admin_email, &settings.admin_password) {
        (Some(email), Some(password)) => {
            if store
                .ensure_first_admin(email, password)
                .await
                .context("creating the first admin")?
            {
                tracing::info!(%email, "first admin created");
            }
        }
        _ => tracing::info!("ADMIN_EMAIL/ADMIN_PASSWORD not set: no first admin is created"),
    }
    Ok(())
}

/// The account a newcomer logs in with when `up` starts on an empty database and no ADMIN_EMAIL/ADMIN_PASSWORD.
pub const EMBEDDED_ADMIN_EMAIL: &str = "admin@aibid.local";

/// `up` on an empty database without ADMIN_EMAIL/ADMIN_PASSWORD: create a supervisor with a random password and
/// print it once on the terminal (never logged), so the web UI can be used right away.
async fn ensure_embedded_admin(store: &Store) -> anyhow::Result<()> {
    let password: String = random_secret().chars().take(16).collect();
    if store
        .ensure_first_admin(EMBEDDED_ADMIN_EMAIL, &password)
        .await
        .context("creating the first admin")?
    {
        eprintln!(
            "first start: log in as {EMBEDDED_ADMIN_EMAIL} with password {password} \
             (shown once; set ADMIN_EMAIL and ADMIN_PASSWORD to choose your own)"
        );
    }
    Ok(())
}

fn app_state(
    settings: Arc<Settings>,
    store: Store,
    queue: Queue,
    metrics: Arc<Metrics>,
    jwt_secret: &str,
    shutdown: &watch::Receiver<bool>,
) -> AppState {
    AppState {
        settings,
        store,
        queue,
        metrics,
        keys: Arc::new(http::auth::Keys::new(jwt_secret.as_bytes())),
        shutdown: shutdown.clone(),
    }
}

async fn serve(state: AppState, port: u16, shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
    serve_router(http::router(state), port, shutdown).await
}

async fn serve_router(
    router: axum::Router,
    port: u16,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(("0.0.0.0", port))
        .await
        .with_context(|| format!("cannot listen on port {port}"))?;
    tracing::info!(port, "listening");
    let server = axum::serve(listener, router).with_graceful_shutdown(wait_for(shutdown.clone()));
    // Draining waits for open requests; one that never ends (a client that keeps a stream open) must not keep the
    // process from exiting, so draining is bounded.
    let drain_limit = async {
        wait_for(shutdown).await;
        tokio::time::sleep(DRAIN_LIMIT).await;
    };
    tokio::select! {
        served = server => served?,
        _ = drain_limit => tracing::warn!(port, "requests still open after the drain limit; closing them"),
    }
    Ok(())
}

/// How long a stopping server waits for open requests.
const DRAIN_LIMIT: Duration = Duration::from_secs(10);

/// `aibid up`: SQLite, in-process queue, API + UI + workers + scheduler in one process.
pub async fn up(settings: Settings, options: RoleOptions) -> anyhow::Result<()> {
    let settings = Arc::new(settings);
    let store = connect_store(&settings).await?;
    store.migrate().await.context("database migration")?;
    // Kept in the database, so sessions survive a restart of the embedded process.
    let jwt_secret = match &settings.jwt_secret {
        Some(secret) => secret.clone(),
        None => store
            .instance_secret("jwt", &random_secret())
            .await
            .context("the session signing key")?,
    };
    if settings.admin_email.is_none() && settings.admin_password.is_none() {
        ensure_embedded_admin(&store).await?;
    } else {
        ensure_admin(&settings, &store).await?;
    }
    let queue = match &settings.redis_url {
        Some(_) => redis_queue(&settings, &options).await?,
        None => Queue::Local(LocalQueue::default()),
    };
    // The in-process queue is empty after a restart: unfinished work comes back from the database.
    if let Queue::Local(_) = queue {
        for task in store.unfinished_tasks().await? {
            queue.enqueue(&task).await?;
        }
    }
    let metrics = Arc::new(Metrics::new());
    let shutdown = shutdown_signal();
    let worker = build_worker(&settings, &store, &queue, &metrics, &options, "up")?;
    let workers = tokio::spawn(worker.run(settings.worker_concurrency, shutdown.clone()));
    let scheduler = tokio::spawn(scheduler_loop(
        settings.clone(),
        store.clone(),
        queue.clone(),
        metrics.clone(),
        options.clone(),
        shutdown.clone(),
    ));
    let state = app_state(
        settings.clone(),
        store,
        queue,
        metrics,
        &jwt_secret,
        &shutdown,
    );
    eprintln!(
        "aibid is running: http://127.0.0.1:{}/ (API docs at /docs)",
        settings.api_port
    );
    serve(state, settings.api_port, shutdown).await?;
    let _ = workers.await;
    let _ = scheduler.await;
    Ok(())
}

/// `aibid api`: HTTP API and UI (also on UI_PORT and METRICS_PORT when those differ).
pub async fn api(settings: Settings, options: RoleOptions) -> anyhow::Result<()> {
    settings.require_cluster()?;
    let jwt_secret = settings.jwt_secret.clone().unwrap_or_default();
    let settings = Arc::new(settings);
    let store = connect_store(&settings).await?;
    if let Err(e) = ensure_admin(&settings, &store).await {
        tracing::warn!(error = %format!("{e:#}"), "first admin not checked (database not ready?)");
    }
    let queue = redis_queue(&settings, &options).await?;
    let shutdown = shutdown_signal();
    let state = app_state(
        settings.clone(),
        store,
        queue,
        Arc::new(Metrics::new()),
        &jwt_secret,
        &shutdown,
    );
    serve_all(api_port_routers(&settings, &state), shutdown).await
}

/// Serves each (port, router) until shutdown; the first server error ends the role.
async fn serve_all(
    routers: Vec<(u16, axum::Router)>,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let servers: Vec<_> = routers
        .into_iter()
        .map(|(port, router)| tokio::spawn(serve_router(router, port, shutdown.clone())))
        .collect();
    for server in servers {
        server.await.context("server task")??;
    }
    Ok(())
}

/// What the `api` role serves on each of its distinct ports. `/metrics` is served on METRICS_PORT only: when that
/// is a port of its own, it carries just the metrics and the probes, and the public API/UI ports leave it out.
pub fn api_port_routers(settings: &Settings, state: &AppState) -> Vec<(u16, axum::Router)> {
    let mut ports = vec![settings.api_port];
    for extra in [settings.ui_port, settings.metrics_port] {
        if !ports.contains(&extra) {
            ports.push(extra);
        }
    }
    let metrics_shares_a_public_port =
        settings.metrics_port == settings.api_port || settings.metrics_port == settings.ui_port;
    ports
        .into_iter()
        .map(|port| {
            let router = if port != settings.metrics_port {
                http::router_with(state.clone(), false)
            } else if metrics_shares_a_public_port {
                http::router(state.clone())
            } else {
                http::probe_router(state.clone())
            };
            (port, router)
        })
        .collect()
}

/// `aibid monitor`: the task-monitor page and its API only (queues, workers, failed tasks, retry), on API_PORT and
/// METRICS_PORT; the operator publishes it on the guide's port 5555.
pub async fn monitor(settings: Settings, options: RoleOptions) -> anyhow::Result<()> {
    settings.require_cluster()?;
    let jwt_secret = settings.jwt_secret.clone().unwrap_or_default();
    let settings = Arc::new(settings);
    let store = connect_store(&settings).await?;
    let queue = redis_queue(&settings, &options).await?;
    let shutdown = shutdown_signal();
    let state = app_state(
        settings.clone(),
        store,
        queue,
        Arc::new(Metrics::new()),
        &jwt_secret,
        &shutdown,
    );
    let mut ports = vec![settings.api_port];
    if settings.metrics_port != settings.api_port {
        ports.push(settings.metrics_port);
    }
    let routers = ports
        .into_iter()
        .map(|port| (port, http::monitor_router(state.clone())))
        .collect();
    serve_all(routers, shutdown).await
}

fn build_worker(
    settings: &Settings,
    store: &Store,
    queue: &Queue,
    metrics: &Arc<Metrics>,
    options: &RoleOptions,
    prefix: &str,
) -> anyhow::Result<Worker> {
    Ok(Worker {
        id: format!("{prefix}-{}-{}", hostname(), std::process::id()),
        host: hostname(),
        store: store.clone(),
        queue: queue.clone(),
        writer: crate::pipeline::section_writer(settings, Some(metrics.clone()))?,
        metrics: metrics.clone(),
        backoff: Duration::from_secs(2),
        heartbeat_every: Duration::from_secs(options.heartbeat_every.max(1)),
    })
}

/// `aibid worker`: consumes section tasks from Redis.
pub async fn worker(settings: Settings, options: RoleOptions) -> anyhow::Result<()> {
    let settings = Arc::new(settings);
    let store = connect_store(&settings).await?;
    let queue = redis_queue(&settings, &options).await?;
    let metrics = Arc::new(Metrics::new());
    let worker = build_worker(&settings, &store, &queue, &metrics, &options, "worker")?;
    let shutdown = shutdown_signal();
    let probes = probe_server(&settings, &store, &queue, &metrics, shutdown.clone()).await?;
    worker.run(settings.worker_concurrency, shutdown).await;
    probes.await.context("probe server task")??;
    Ok(())
}

/// `aibid scheduler`: periodic jobs only.
pub async fn scheduler(settings: Settings, options: RoleOptions) -> anyhow::Result<()> {
    let settings = Arc::new(settings);
    let store = connect_store(&settings).await?;
    let queue = redis_queue(&settings, &options).await?;
    let metrics = Arc::new(Metrics::new());
    let shutdown = shutdown_signal();
    let probes = probe_server(&settings, &store, &queue, &metrics, shutdown.clone()).await?;
    scheduler_loop(settings, store, queue, metrics, options, shutdown).await;
    probes.await.context("probe server task")??;
    Ok(())
}

/// `aibid migrate`: applies the migrations and creates the first admin.
pub async fn migrate(settings: Settings) -> anyhow::Result<()> {
    let store = connect_store(&settings).await?;
    store.migrate().await.context("database migration")?;
    ensure_admin(&settings, &store).await?;
    eprintln!("database is up to date");
    Ok(())
}

/// The server on METRICS_PORT of the worker and scheduler: `/health`, `/ready` and `/metrics` (404 when
/// METRICS_ENABLED is false). It runs even with metrics off, because the Kubernetes probes of these pods call it;
/// a port that cannot be bound stops the role with an error rather than leaving the probes failing.
async fn probe_server(
    settings: &Arc<Settings>,
    store: &Store,
    queue: &Queue,
    metrics: &Arc<Metrics>,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<tokio::task::JoinHandle<anyhow::Result<()>>> {
    // No route of the probe router checks tokens; the key only completes the shared state.
    let state = app_state(
        settings.clone(),
        store.clone(),
        queue.clone(),
        metrics.clone(),
        &random_secret(),
        &shutdown,
    );
    let listener = tokio::net::TcpListener::bind(("0.0.0.0", settings.metrics_port))
        .await
        .with_context(|| {
            format!(
                "METRICS_PORT: cannot listen on port {}",
                settings.metrics_port
            )
        })?;
    tracing::info!(port = settings.metrics_port, "probes and metrics listening");
    let router = http::probe_router(state);
    Ok(tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(wait_for(shutdown))
            .await?;
        Ok(())
    }))
}

/// Every `--schedule-every` seconds: re-enqueue tasks whose worker went silent and queued tasks the queue lost,
/// refresh gauges; every hour: retention cleanup.
async fn scheduler_loop(
    settings: Arc<Settings>,
    store: Store,
    queue: Queue,
    metrics: Arc<Metrics>,
    options: RoleOptions,
    shutdown: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(options.schedule_every.max(1)));
    let mut last_cleanup = 0i64;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = wait_for(shutdown.clone()) => return,
        }
        if let Err(e) = scheduler_round(
            &settings,
            &store,
            &queue,
            &metrics,
            &options,
            &mut last_cleanup,
        )
        .await
        {
            tracing::warn!(error = %format!("{e:#}"), "scheduler round failed");
        }
    }
}

/// Seconds of silence after which a worker that did not stop cleanly leaves the task monitor.
const WORKER_FORGOTTEN_AFTER: i64 = 86_400;

pub async fn scheduler_round(
    settings: &Settings,
    store: &Store,
    queue: &Queue,
    metrics: &Metrics,
    options: &RoleOptions,
    last_cleanup: &mut i64,
) -> anyhow::Result<()> {
    let now = crate::store::now();
    for task in store
        .stale_tasks(now - options.reclaim_after as i64)
        .await?
    {
        tracing::info!(task = %task.id, worker = ?task.worker, "reclaiming a stale task");
        if store
            .requeue_task(&task.id, "worker stopped sending heartbeats")
            .await?
        {
            queue.enqueue(&task.id).await?;
        }
    }
    resend_lost_tasks(store, queue, now - options.reclaim_after as i64).await?;
    if let Ok(length) = queue.length().await {
        metrics
            .queue_length
            .get_or_create(&crate::metrics::QueueLabels {
                queue: queue.name().into(),
            })
            .set(length as i64);
    }
    if now - *last_cleanup >= 3600 {
        *last_cleanup = now;
        // A killed worker stays on the monitor, silent, for a day, so its death can be seen; then it goes.
        let pruned = store.prune_workers(now - WORKER_FORGOTTEN_AFTER).await?;
        if pruned > 0 {
            tracing::info!(pruned, "silent workers removed from the monitor's list");
        }
        let removed = retention_cleanup(settings, store, now).await?;
        if removed > 0 {
            tracing::info!(removed, "expired files removed");
        }
    }
    Ok(())
}

/// Re-sends tasks that are queued in the database since before `cutoff` but absent from the Redis stream (Redis
/// restarted empty, or was unreachable when they were sent). The in-process queue needs none of this: it lives
/// and dies with the process, and `up` re-sends unfinished tasks on start.
pub async fn resend_lost_tasks(store: &Store, queue: &Queue, cutoff: i64) -> anyhow::Result<usize> {
    let Queue::Redis(redis) = queue else {
        return Ok(0);
    };
    // The database first, then the stream: a task sent in between is seen in the stream, not sent twice.
    let queued = store.queued_tasks_before(cutoff).await?;
    if queued.is_empty() {
        return Ok(0);
    }
    let outstanding = redis.outstanding_task_ids().await?;
    let mut resent = 0;
    for task in queued.iter().filter(|t| !outstanding.contains(*t)) {
        tracing::info!(%task, "re-sending a queued task the queue does not hold");
        queue.enqueue(task).await?;
        resent += 1;
    }
    Ok(resent)
}

/// Deletes uploaded and exported files older than RETENTION_DAYS (the rows stay, for the audit trail).
pub async fn retention_cleanup(
    settings: &Settings,
    store: &Store,
    now: i64,
) -> anyhow::Result<usize> {
    let cutoff = now - i64::from(settings.retention_days) * 86_400;
    let expired = store.stored_files_older_than(cutoff).await?;
    Ok(crate::files::remove_stored(settings, &expired).await)
}

fn hostname() -> String {
    std::env::var("HOSTNAME").unwrap_or_else(|_| "local".into())
}

fn random_secret() -> String {
    use rand::distr::{Alphanumeric, SampleString};
    Alphanumeric.sample_string(&mut rand::rng(), 48)
}

/// Creates `count` no-op tasks in one benchmark project and enqueues them (for hack/bench-queue.sh).
pub async fn bench_enqueue(
    settings: Settings,
    options: RoleOptions,
    count: usize,
) -> anyhow::Result<()> {
    let store = connect_store(&settings).await?;
    store.migrate().await.context("database migration")?;
    let queue = redis_queue(&settings, &options).await?;
    let org = store
        .create_organisation(&format!("bench-{}", crate::store::new_id()))
        .await?;
    let user = store
        .create_user(
            &org,
            &format!("{}@bench.invalid", crate::store::new_id()),
            "bench-password",
            crate::store::accounts::Role::BidManager,
        )
        .await?;
    let project = store.create_project(&org, &user, "queue benchmark").await?;
    let mut ids = Vec::with_capacity(count);
    for _ in 0..count {
        ids.push(store.create_task(&project.id, "noop", None).await?);
    }
    for id in &ids {
        queue.enqueue(id).await?;
    }
    println!("{}", project.id);
    Ok(())
}
