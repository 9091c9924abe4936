//! `vigil`: the server's command line.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use vigil::app::{prepare_database, Application};
use vigil::config::Settings;

#[derive(Parser)]
#[command(name = "vigil", version, about = "Metrics monitoring server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: migrations, actors, HTTP API.
    Serve {
        /// Configuration file layered over config/default.toml.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Create the database if missing and apply pending migrations, then exit.
    Migrate {
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Print the effective configuration (defaults + file + environment) and exit.
    Config {
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    vigil::telemetry::init_logging();
    match Cli::parse().command {
        Command::Serve { config } => {
            let settings = Settings::load(config.as_deref())?;
            Application::build(settings)
                .await?
                .run_until_stopped()
                .await
        }
        Command::Migrate { config } => {
            let settings = Settings::load(config.as_deref())?;
            prepare_database(&settings).await?.close().await;
            tracing::info!("Migrations applied.");
            Ok(())
        }
        Command::Config { config } => {
            let settings = Settings::load(config.as_deref())?;
            println!("{settings:#?}");
            Ok(())
        }
    }
}
