//! `tracing` set-up: the level from `RUST_LOG` (default below), lines for a person or
//! JSON objects for a log pipeline, colours only on a terminal.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Used when `RUST_LOG` is unset or invalid.
pub const DEFAULT_FILTER: &str = "info,sqlx=warn,lapin=warn,actix_server=warn";

/// How log events are written to standard output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// One line per event; ANSI colours only when stdout is a terminal and
    /// `NO_COLOR` is unset.
    #[default]
    Text,
    /// One JSON object per line (timestamp, level, fields, spans).
    Json,
}

/// Whether text logs get ANSI colours: never into a file or pipe, so a log file can
/// be grepped (for the generated admin password, say).
pub fn use_colour(is_terminal: bool, no_color: Option<&str>) -> bool {
    is_terminal && no_color.is_none_or(str::is_empty)
}

/// Installs the global subscriber; a second call (tests) is a no-op.
pub fn init_logging() {
    init_logging_as(LogFormat::Text);
}

pub fn init_logging_as(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let _ = match format {
        LogFormat::Text => {
            let no_color = std::env::var("NO_COLOR").ok();
            builder
                .with_ansi(use_colour(
                    std::io::stdout().is_terminal(),
                    no_color.as_deref(),
                ))
                .try_init()
        }
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::use_colour;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(use_colour(true, None));
        assert!(use_colour(true, Some("")));
        assert!(!use_colour(true, Some("1")));
        assert!(!use_colour(false, None));
    }
}
