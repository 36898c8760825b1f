//! The command line: `bazaar serve` (default) and `bazaar openapi`.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::config::Settings;
use crate::startup::{contract, Application};

#[derive(Debug, Parser)]
#[command(
    name = "bazaar",
    version,
    about = "Bazaar: an OpenAPI-first backend for storefront MVPs"
)]
pub struct Cli {
    /// TOML configuration file (also `BAZAAR_CONFIG`); environment variables override it.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve,
    /// Print the OpenAPI contract to stdout and exit.
    Openapi {
        #[arg(long, value_enum, default_value_t = Format::Yaml)]
        format: Format,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Yaml,
    Json,
}

/// Runs the command; the exit code is non-zero on any failure.
pub async fn run(cli: Cli) -> std::process::ExitCode {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Openapi { format } => {
            print!("{}", contract(matches!(format, Format::Yaml)));
            std::process::ExitCode::SUCCESS
        }
        Command::Serve => match serve(cli.config).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("bazaar: {e:#}");
                std::process::ExitCode::FAILURE
            }
        },
    }
}

async fn serve(config: Option<PathBuf>) -> anyhow::Result<()> {
    let settings = Settings::load(config.as_deref())?;
    crate::telemetry::init(settings.telemetry.log_format, &settings.telemetry.log_level);
    let app = Application::build(settings).await?;
    let base = format!("http://{}", app.addr());
    let metrics = match app.metrics_addr() {
        Some(addr) => format!("http://{addr}/metrics"),
        None => format!("{base}/metrics"),
    };
    // Signal handlers first: whoever reads the next line may send SIGTERM at once.
    let running = app.run_until_stopped();
    tracing::info!(
        api = %format!("{base}/api/v1"),
        docs = %format!("{base}/docs"),
        metrics = %metrics,
        "Bazaar is listening"
    );
    running.await?;
    tracing::info!("stopped");
    Ok(())
}
