use clap::Parser;

// glibc's malloc, not mimalloc: mimalloc kept 15 MiB more resident at idle,
// against a 60 MiB budget per replica, and once a regex compiled per request was
// gone glibc met the throughput bar too (docs/benchmarks.md).

#[tokio::main]
async fn main() -> std::process::ExitCode {
    bazaar::cli::run(bazaar::cli::Cli::parse()).await
}
