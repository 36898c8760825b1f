use clap::Parser;

// mimalloc instead of glibc's malloc: requests move between Tokio's worker
// threads, and glibc's per-arena locks and chunk consolidation showed as a tenth
// of the server's time under load (see docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    bazaar::cli::run(bazaar::cli::Cli::parse()).await
}
