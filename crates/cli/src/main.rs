//! `waooaw`: the one binary. Serves the platform, migrates, and talks to a running server.

mod bench;
mod bench_breaker;
mod bench_decide;
mod bench_handoff;
mod bench_overhead;
mod budgets_cmd;
mod client;
mod config;
mod decisions_cmd;
mod demo;
mod engine;
mod serve;
mod telemetry;

use anyhow::Result;

/// Wakes allocate small short-lived values on many threads; glibc malloc spent ~15% of a
/// `bench wake` profile in its locks and consolidation.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "waooaw", version, about = "WAOOAW: marketplace and runtime for an AI agent workforce")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the platform: API, webhooks, runtime (embedded SQLite and in-process bus by default).
    Serve(config::ServeArgs),
    /// `serve`, plus a demo tenant whose agents work on bundled, realistic fixtures (offline).
    Demo(config::ServeArgs),
    /// Spend (decisions, LLM calls, tokens, USD) of a running server, grouped.
    Costs(decisions_cmd::CostsCmd),
    /// LLM budgets of a running server: show them, set a tenant's or an instance's.
    #[command(subcommand)]
    Budgets(budgets_cmd::BudgetsCmd),
    /// Apply pending store migrations and exit.
    Migrate(config::StoreArgs),
    /// Events: publish one to a running server.
    #[command(subcommand)]
    Events(client::EventsCmd),
    /// Tenants of a running server.
    #[command(subcommand)]
    Tenants(client::TenantsCmd),
    /// Instances (hired agents) of a running server.
    #[command(subcommand)]
    Instances(client::InstancesCmd),
    /// Dead letters of a running server.
    #[command(subcommand, name = "dead-letters")]
    DeadLetters(client::DeadLettersCmd),
    /// The decision engine of a running server: make a decision, read the log and the tier split.
    #[command(subcommand)]
    Decisions(decisions_cmd::DecisionsCmd),
    /// Escalations of a running server: list them, answer one.
    #[command(subcommand)]
    Escalations(decisions_cmd::EscalationsCmd),
    /// Benchmarks (in process; print a table or JSON).
    #[command(subcommand)]
    Bench(bench::BenchCmd),
}

fn main() -> std::process::ExitCode {
    // Both rustls crypto providers may be linked in; pick one before any TLS client exists.
    waooaw_integrations::install_crypto_provider();
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve(args) => serve::serve(args).await,
        Command::Demo(args) => serve::serve_with(args, true).await,
        Command::Costs(c) => c.run().await,
        Command::Budgets(c) => c.run().await,
        Command::Migrate(args) => serve::migrate(args).await,
        Command::Events(c) => c.run().await,
        Command::Tenants(c) => c.run().await,
        Command::Instances(c) => c.run().await,
        Command::DeadLetters(c) => c.run().await,
        Command::Decisions(c) => c.run().await,
        Command::Escalations(c) => c.run().await,
        Command::Bench(c) => c.run().await,
    }
}
