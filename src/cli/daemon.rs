//! `pstation serve`: the station daemon — the store, start-up recovery, the print engine and
//! the HTTP API — until SIGTERM or Ctrl-C, which stop it safely (the job printing now is
//! finished and its outcome recorded first). `start` is shared with `pstation demo`.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::{CmdResult, Exit};
use crate::api;
use crate::config::Settings;
use crate::printer::DriverSettings;
use crate::station::render::Renderer;
use crate::station::{Station, StationOptions, engine};
use crate::store::{Store, StoreKey};

/// `pstation serve`: the configuration and its overrides.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeArgs {
    /// Station configuration (TOML); the embedded default when absent.
    #[arg(long, env = "PSTATION_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data folder (overrides daemon.data_dir).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Printer device URI (overrides daemon.device).
    #[arg(long, value_name = "URI")]
    pub device: Option<String>,
    /// API address (overrides daemon.listen; port 0 picks a free port, printed).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
}

/// A running daemon.
pub struct Running {
    /// The station.
    pub station: Arc<Station>,
    /// The API's bound address.
    pub addr: std::net::SocketAddr,
    /// Cancel to stop.
    pub shutdown: CancellationToken,
    /// The engine task (ends after the current job).
    pub engine: JoinHandle<()>,
    /// The HTTP server task.
    pub server: JoinHandle<()>,
    /// The TLS API's bound address and server task, when `api.tls_listen` is set.
    pub tls: Option<(std::net::SocketAddr, JoinHandle<()>)>,
    /// The background tasks: retention (purging ended jobs' personal data), and the central
    /// office link (status to the webhook, NATS intake and status).
    pub background: Vec<JoinHandle<()>>,
    /// Jobs moved to needs-verification at start.
    pub recovered: Vec<String>,
    /// The data folder's lock, held while the daemon runs.
    pub lock: crate::fsio::DataLock,
    /// The store's log checkpoints, off the commits' path (stops when dropped).
    pub checkpoints: crate::store::Checkpointer,
}

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data folder.
    #[error("{0}: data-dir: cannot create the data folder: {1} — check its permissions")]
    DataDir(String, std::io::Error),
    /// Another daemon holds the data folder.
    #[error(
        "{0}: data-dir-busy: another pstation daemon is running on this data folder — stop it first (one daemon owns a store and its printer)"
    )]
    Busy(String),
    /// The store.
    #[error("{0}")]
    Store(#[from] crate::store::StoreError),
    /// Rendering set-up (fonts, template).
    #[error("{0}")]
    Render(#[from] crate::station::render::RenderError),
    /// The listening socket.
    #[error(
        "{0}: listen: cannot listen: {1} — another station may be running, or choose another address"
    )]
    Listen(String, std::io::Error),
    /// The TLS API (certificate, key, client CA, address).
    #[error("{0}")]
    Tls(#[from] crate::api::tls::TlsError),
    /// The store key (missing, unreadable, not a key, readable by others, in the data folder).
    #[error("{0}")]
    Key(#[from] crate::store::KeyError),
}

/// Opens the store, recovers, starts the engine and the API. Must run inside a tokio runtime.
pub async fn start(
    settings: Settings,
    driver: DriverSettings,
    today: Option<time::Date>,
) -> Result<Running, StartError> {
    let data = settings.daemon.data_dir.clone();
    let shown = data.display().to_string();
    // The TLS files first: a wrong one stops the start before anything is opened.
    let tls = match settings.api.tls.clone() {
        None => None,
        Some(t) => {
            let config = tokio::task::spawn_blocking({
                let t = t.clone();
                move || crate::api::tls::server_config(&t)
            })
            .await
            .map_err(|e| StartError::DataDir(shown.clone(), std::io::Error::other(e)))??;
            Some((t, config))
        }
    };
    // The store key: without it nothing is created or opened (another station's key is refused
    // by the store itself).
    let key = tokio::task::spawn_blocking({
        let (path, data) = (settings.daemon.key_file.clone(), data.clone());
        move || {
            let key = StoreKey::load(&path)?;
            std::fs::create_dir_all(&data)
                .map_err(|e| StartError::DataDir(data.display().to_string(), e))?;
            crate::store::crypt::check_outside(&path, &data)?;
            Ok::<_, StartError>(key)
        }
    })
    .await
    .map_err(|e| StartError::DataDir(shown.clone(), std::io::Error::other(e)))??;
    // SQLite would open a store it cannot write read-only, without a word: find out first.
    let probed = tokio::task::spawn_blocking({
        let data = data.clone();
        move || crate::fsio::probe_write(&data)
    })
    .await
    .map_err(|e| StartError::DataDir(shown.clone(), std::io::Error::other(e)))?;
    if let Err(io) = probed {
        return Err(StartError::Store(crate::station::disk_io_problem(
            &io, &data,
        )));
    }
    // One daemon per store: a second one would "recover" the first one's printing job.
    let lock = match crate::fsio::DataLock::try_acquire(&data) {
        Ok(Some(lock)) => lock,
        Ok(None) => return Err(StartError::Busy(shown)),
        Err(e) => return Err(StartError::DataDir(shown, e)),
    };
    let db = data.join("station.db");
    let max_store_mb = settings.daemon.max_store_mb;
    let gate = settings.reader.device.is_some();
    let (store, recovered, checkpoints) = tokio::task::spawn_blocking(move || {
        let mut store = Store::open(&db, &key)?;
        store.set_size_limit(max_store_mb * 1024 * 1024)?;
        let checkpoints = store.checkpoint_in_background(&db)?;
        let recovered = store.recover()?;
        // With a document reader configured, booklets printed before wait for their read too.
        store.set_read_gate(gate);
        let gated = store.gate_printed()?;
        if gated > 0 {
            tracing::info!(
                jobs = gated,
                "printed jobs now wait for the document reader"
            );
        }
        Ok::<_, crate::store::StoreError>((store, recovered, checkpoints))
    })
    .await
    .map_err(|e| StartError::DataDir(shown.clone(), std::io::Error::other(e)))??;
    for job in &recovered {
        tracing::warn!(%job, "left printing by the last run: needs verification");
    }
    let renderer = {
        let s = settings.clone();
        tokio::task::spawn_blocking(move || Renderer::new(s))
            .await
            .map_err(|e| StartError::DataDir(shown.clone(), std::io::Error::other(e)))??
    };
    let listen = settings.daemon.listen;
    let station = Station::new(
        store,
        StationOptions {
            settings,
            driver,
            today,
        },
        renderer,
    );
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| StartError::Listen(listen.to_string(), e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| StartError::Listen(listen.to_string(), e))?;
    if let Err(e) = lock.announce(&format!("http://{addr}")) {
        tracing::warn!(error = %e, "cannot write the daemon's address into station.lock");
    }
    let shutdown = station.closing.clone();
    // Every line the engine (and the driver under it) logs names the printer.
    let printer = station.options.settings.daemon.device.name();
    let engine = tokio::spawn(
        engine::run(station.clone(), shutdown.clone())
            .instrument(tracing::info_span!("engine", printer = %printer)),
    );
    // Status back to the central office, when it has given a webhook; jobs from and status to
    // its NATS server, when it has one.
    let central = &station.options.settings.central;
    let mut background = vec![
        tokio::spawn(crate::station::retention::run(
            station.clone(),
            shutdown.clone(),
        )),
        // The document reader, when one is configured.
        tokio::spawn(crate::station::reading::run(
            station.clone(),
            shutdown.clone(),
        )),
    ];
    if let Some(hook) = central.webhook.clone() {
        background.push(tokio::spawn(crate::station::outbox::run(
            station.clone(),
            crate::station::outbox::WebhookDestination::new(hook),
            shutdown.clone(),
        )));
    }
    if let Some(nats) = central.nats.clone() {
        background.push(tokio::spawn(crate::station::nats::run(
            station.clone(),
            nats,
            central.station_id.clone(),
            shutdown.clone(),
        )));
    }
    let app = api::router(station.clone());
    // The same routes over TLS, when configured.
    let tls = match tls {
        None => None,
        Some((t, config)) => {
            let listener = crate::api::tls::TlsListener::bind(&t, config, shutdown.clone()).await?;
            let tls_addr = axum::serve::Listener::local_addr(&listener)
                .map_err(|e| crate::api::tls::TlsError::Listen(t.listen, e))?;
            let (app, stop) = (app.clone(), shutdown.clone());
            let task = tokio::spawn(crate::api::serve::serve(listener, app, stop));
            tracing::info!(addr = %tls_addr, client_certificates = t.client_ca.is_some(), "TLS API serving");
            Some((tls_addr, task))
        }
    };
    let stop = shutdown.clone();
    let server = tokio::spawn(crate::api::serve::serve(listener, app, stop));
    tracing::info!(%addr, "station serving");
    Ok(Running {
        station,
        addr,
        shutdown,
        engine,
        server,
        tls,
        background,
        recovered,
        lock,
        checkpoints,
    })
}

pub(super) fn run(args: ServeArgs, out: &mut dyn Write, err: &mut dyn Write) -> CmdResult {
    let Some(mut settings) = super::load_settings(args.config.as_deref(), err)? else {
        return Ok(Exit::InvalidInput);
    };
    if !super::apply_overrides(&mut settings, args.data_dir, args.device.as_deref(), err)? {
        return Ok(Exit::InvalidInput);
    }
    if let Some(l) = &args.listen {
        match l.parse() {
            Ok(a) => settings.daemon.listen = a,
            Err(_) => {
                writeln!(
                    err,
                    "--listen: config-value: {l:?} is not an address like 127.0.0.1:8631"
                )?;
                return Ok(Exit::InvalidInput);
            }
        }
    }
    let Some(runtime) = super::runtime(err)? else {
        return Ok(Exit::Internal);
    };
    runtime.block_on(async move {
        let running = match start(settings, DriverSettings::DEFAULT, None).await {
            Ok(r) => r,
            Err(e) => {
                writeln!(err, "{e}")?;
                return Ok(Exit::InvalidInput);
            }
        };
        for job in &running.recovered {
            writeln!(
                out,
                "job {job}: was printing when the station stopped — needs verification"
            )?;
        }
        if let Some((tls_addr, _)) = &running.tls {
            writeln!(out, "listening-tls https://{tls_addr}")?;
        }
        writeln!(out, "listening http://{}", running.addr)?;
        out.flush()?;
        wait_for_stop_signal().await;
        writeln!(out, "stopping: finishing the current job")?;
        out.flush()?;
        running.shutdown.cancel();
        let _ = running.engine.await;
        let _ = running.server.await;
        if let Some((_, task)) = running.tls {
            let _ = task.await;
        }
        for task in running.background {
            let _ = task.await;
        }
        writeln!(out, "stopped")?;
        Ok(Exit::Ok)
    })
}

async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
