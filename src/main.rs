use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    bazaar::cli::run(bazaar::cli::Cli::parse()).await
}
