//! `vigil-agent`: parse the command line, load settings, start logging, run the agent
//! until SIGTERM or SIGINT.

use std::path::PathBuf;

use anyhow_free::Result;
use clap::{Parser, Subcommand};
use vigil_agent::config::AgentSettings;

/// Errors of `main` are printed as sentences; a plain alias keeps anyhow out of the
/// agent's dependencies.
mod anyhow_free {
    pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;
}

#[derive(Parser)]
#[command(
    name = "vigil-agent",
    version,
    about = "The Vigil metrics agent: host metrics, Prometheus scraping, buffered delivery."
)]
struct Cli {
    /// A TOML file layered over the defaults (agent/config/agent.toml).
    #[arg(long, short, global = true, env = "VIGIL_AGENT_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the agent (the default).
    Run,
    /// Print the settings in effect (defaults, file, environment) as JSON and exit.
    Config,
    /// Scrape one Prometheus target once and print the points the agent would send
    /// (one JSON object a line), then the round's summary on stderr; exit status 1
    /// when the round failed. For checking an exporter and the tag mapping.
    Scrape {
        /// The exposition URL, e.g. http://127.0.0.1:9100/metrics.
        url: String,
        /// The `job` tag.
        #[arg(long, default_value = "scrape")]
        job: String,
    },
}

fn main() -> std::process::ExitCode {
    match run_cli() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vigil-agent: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run_cli() -> Result<()> {
    let cli = Cli::parse();
    let settings = AgentSettings::load(cli.config.as_deref())?;
    match cli.command.unwrap_or(Command::Run) {
        Command::Config => {
            let mut shown = settings.clone();
            if !shown.server.ingest_key.is_empty() {
                shown.server.ingest_key = "<set>".into();
            }
            println!("{}", serde_json::to_string_pretty(&shown)?);
            Ok(())
        }
        Command::Scrape { url, job } => scrape_once(&settings, url, job),
        Command::Run => {
            // Colours only on a terminal: journald and log files get plain text.
            tracing_subscriber::fmt()
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| "info".into()),
                )
                .init();
            actix_rt::System::new().block_on(async move {
                vigil_agent::run::run(settings, shutdown_signal()).await?;
                Ok(())
            })
        }
    }
}

fn scrape_once(settings: &AgentSettings, url: String, job: String) -> Result<()> {
    let target = vigil_agent::config::Target {
        instance: vigil_agent::config::instance_of(&url)
            .ok_or_else(|| format!("{url:?} is not an http:// URL"))?,
        url,
        job,
        interval: settings.scrape.timeout,
        timeout: settings.scrape.timeout,
        tags: Default::default(),
    };
    let scraper = vigil_agent::scrape::Scraper::new(
        target,
        &settings.global_tags(),
        settings.scrape.max_body_bytes,
    );
    let round = actix_rt::System::new().block_on(async move { scraper.scrape().await });
    for point in &round.points {
        println!("{}", serde_json::to_string(point)?);
    }
    eprintln!(
        "{} samples, {} skipped, {} points, {:?}",
        round.samples,
        round.skipped,
        round.points.len(),
        round.duration
    );
    match round.error {
        Some(error) => Err(format!("the scrape failed (up = 0): {error}").into()),
        None => Ok(()),
    }
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("installing a SIGTERM handler");
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received."),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received."),
    }
}
