//! `vigil`: the server's command line.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use vigil::app::{prepare_database, Application};
use vigil::config::Settings;
use vigil::model::Role;
use vigil::telemetry::logging::LogFormat;

// glibc's allocator spent about a quarter of the server's CPU in malloc/free under
// ingest (points decoded on one thread, freed on another, arenas per thread) and kept
// the freed memory: mimalloc's thread-local heaps make both cheaper.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Transparent huge pages off for this process. mimalloc gives freed memory back to the
/// kernel shortly after a request and faults it in again on the next one; with huge
/// pages every such fault zeroes 2 MiB, which took a quarter of the CPU of a one-series
/// day query (3.3 instead of 4.4-5.1 ms of CPU per answer without them).
fn disable_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes integers only and reads or writes no memory.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

#[derive(Parser)]
#[command(name = "vigil", version, about = "Metrics monitoring server")]
struct Cli {
    /// Log lines for a person (`text`, colours only on a terminal) or one JSON object
    /// per line (`json`). The level comes from `RUST_LOG`.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
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
    /// Manage users.
    User {
        #[command(subcommand)]
        action: UserAction,
        #[arg(long, global = true)]
        config: Option<PathBuf>,
    },
    /// Print the effective configuration (defaults + file + environment) and exit.
    Config {
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum UserAction {
    /// Add a user (creates the database and applies migrations first if needed).
    Add {
        #[arg(long)]
        email: String,
        /// At least 8 characters. Also read from VIGIL_USER_PASSWORD, which keeps it
        /// out of the shell history and the process list.
        #[arg(long, env = "VIGIL_USER_PASSWORD", hide_env_values = true)]
        password: String,
        /// viewer, editor or admin.
        #[arg(long, default_value = "viewer", value_parser = parse_role)]
        role: Role,
    },
}

fn parse_role(text: &str) -> Result<Role, String> {
    Role::parse(text).ok_or_else(|| format!("{text:?} is not one of viewer, editor, admin"))
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    disable_transparent_huge_pages();
    let cli = Cli::parse();
    vigil::telemetry::logging::init_logging_as(cli.log_format);
    match cli.command {
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
        Command::User {
            action:
                UserAction::Add {
                    email,
                    password,
                    role,
                },
            config,
        } => {
            let settings = Settings::load(config.as_deref())?;
            let pg = prepare_database(&settings).await?;
            let user = vigil::http::users::add_user(&pg, &email, password, role)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            pg.close().await;
            println!("Added {} ({}) with id {}.", user.email, user.role, user.id);
            Ok(())
        }
        Command::Config { config } => {
            let settings = Settings::load(config.as_deref())?;
            println!("{:#?}", settings.redacted());
            Ok(())
        }
    }
}
