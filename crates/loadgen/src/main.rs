//! A load generator for the lesson servers, and the benchmarks built on it.
//!
//!     scripts/bench            every lesson server against its baseline (over 20 min)
//!     scripts/bench --quick    the same, shorter, one run each (under a minute)
//!     scripts/bench claims     four claims about HTTP and WebSocket, measured
//!
//! Each load also runs on its own, against any server, your modified lesson included
//! (build with `cargo build --release -p loadgen`, then):
//!
//!     target/release/loadgen http --addr 127.0.0.1:5000 --target '/hello?name=x'
//!     target/release/loadgen ws-echo --url ws://127.0.0.1:5001/ --connections 64
//!     target/release/loadgen fanout --url ws://127.0.0.1:5002/ --clients 100
//!     target/release/loadgen baseline http --addr 127.0.0.1:6000
//!
//! It only ever connects to the address it is given; use it on your own machine.

use anyhow::Context as _;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

mod baseline;
mod bench;
mod claims;
mod cluster;
mod crowd;
mod first_build;
mod load;
mod push;
mod stats;
mod token;
mod wrk;

#[derive(Parser)]
#[command(about = "Load generator and benchmarks for the lesson servers")]
struct Args {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Subcommand)]
enum Commands {
    /// Every benchmark, with baselines; prints a table, writes target/bench/.
    Bench {
        /// One short run of each: a smoke test, not a measurement.
        #[arg(long)]
        quick: bool,
        /// Where to write the markdown and JSON results.
        #[arg(long, default_value = "target/bench")]
        out: PathBuf,
        /// Only these groups (repeat it): http, defences, tls, echo, fanout, flood, idle,
        /// storm, cluster, proxy, push, build.
        #[arg(long, value_name = "GROUP")]
        only: Vec<String>,
    },
    /// Four claims about HTTP and WebSocket, measured (lessons/measuring.md).
    Claims {
        /// Where to write claims.md.
        #[arg(long, default_value = "target/bench")]
        out: PathBuf,
    },
    /// GET requests from several connections, for a while.
    Http {
        #[arg(long)]
        addr: String,
        #[arg(long, default_value = "/")]
        target: String,
        #[arg(long, default_value_t = 64)]
        connections: usize,
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
        /// A new TCP connection for every request (with `Connection: close`).
        #[arg(long)]
        new_connection: bool,
    },
    /// WebSocket round trips: send a binary message, wait for it to come back.
    WsEcho {
        #[arg(long)]
        url: String,
        #[arg(long, default_value_t = 1)]
        connections: usize,
        #[arg(long, default_value_t = 32)]
        size: usize,
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
    },
    /// Chat fan-out: many clients, a few senders, every message to everyone.
    Fanout {
        #[arg(long)]
        url: String,
        #[arg(long, default_value_t = 100)]
        clients: usize,
        #[arg(long, default_value_t = 1)]
        senders: usize,
        /// Messages per sender.
        #[arg(long, default_value_t = 300)]
        messages: usize,
        /// Messages per second, per sender.
        #[arg(long, default_value_t = 100.0)]
        rate: f64,
        /// Clients that connect and never read.
        #[arg(long, default_value_t = 0)]
        stuck: usize,
        #[arg(long, default_value_t = 100)]
        size: usize,
        #[arg(long, value_enum, default_value = "text")]
        protocol: load::Protocol,
    },
    /// Opens WebSocket connections and holds them, idle, for a while.
    Idle {
        #[arg(long)]
        url: String,
        #[arg(long, default_value_t = 1000)]
        count: usize,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// Lesson 13's ways to hear a room: clients that listen, lines said, what it cost.
    Push {
        #[arg(long)]
        addr: String,
        #[arg(long, value_enum)]
        way: push::Way,
        #[arg(long, default_value = "100")]
        clients: usize,
        /// Lines to say once every client is in (0: none, the room stays idle).
        #[arg(long, default_value = "100")]
        lines: u64,
        /// Lines a second.
        #[arg(long, default_value = "10")]
        rate: f64,
        /// Seconds to hold an idle room (with --lines 0).
        #[arg(long, default_value = "60")]
        hold: f64,
    },
    /// Runs a baseline server: the least the same stack can do.
    Baseline {
        #[arg(value_enum)]
        kind: baseline::Baseline,
        #[arg(long, default_value = "127.0.0.1:0")]
        addr: String,
    },
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let outcome = match args.command {
        Commands::Bench { quick, out, only } => {
            bench::run(bench::Options { quick, out_dir: out, only }).await.map(|rows| {
                println!("{}", bench::markdown(&rows));
            })
        }
        Commands::Claims { out } => claims(&out).await,
        Commands::Http { addr, target, connections, seconds, new_connection } => {
            let result = load::http(
                &addr,
                &target,
                connections,
                Duration::from_secs_f64(seconds),
                new_connection,
            )
            .await;
            print_json(&result);
            Ok(())
        }
        Commands::WsEcho { url, connections, size, seconds } => {
            load::ws_echo(&url, connections, size, Duration::from_secs_f64(seconds))
                .await
                .map(|r| print_json(&r))
        }
        Commands::Fanout { url, clients, senders, messages, rate, stuck, size, protocol } => {
            let plan = load::FanoutPlan { clients, senders, messages, rate, stuck, size, protocol };
            load::fanout(&url, plan).await.map(|r| print_json(&r))
        }
        Commands::Idle { url, count, seconds } => match load::idle(&url, count).await {
            Ok(sockets) => {
                println!("{} connections open; holding them for {seconds} s", sockets.len());
                tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
                Ok(())
            }
            Err(err) => Err(err),
        },
        Commands::Push { addr, way, clients, lines, rate, hold } => {
            push_load(&addr, push::Plan { way, clients, count: lines, rate, hold }).await
        }
        Commands::Baseline { kind, addr } => baseline::serve(kind, &addr).await.map_err(Into::into),
    };
    if let Err(err) = outcome {
        // `{:#}` prints the error with its causes, on one line.
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}

/// `loadgen claims`: the tables, printed and written to `out/claims.md`.
async fn claims(out: &std::path::Path) -> anyhow::Result<()> {
    let me = std::env::current_exe()?;
    let bin_dir = me.parent().context("no folder")?.to_path_buf();
    let tables = claims::run(&bin_dir, &me).await?;
    println!("{tables}");
    std::fs::create_dir_all(out)?;
    std::fs::write(out.join("claims.md"), format!("# Claims, measured\n\n{tables}"))?;
    Ok(())
}

/// `loadgen push`: its report on one line, which `bench push` reads after the
/// `ready` and `done` lines.
async fn push_load(addr: &str, plan: push::Plan<f64>) -> anyhow::Result<()> {
    let push::Plan { way, clients, count, rate, hold } = plan;
    let plan = push::Plan { way, clients, count, rate, hold: Duration::from_secs_f64(hold) };
    let report = push::run(addr, plan).await?;
    println!("report {}", serde_json::to_string(&report).expect("a report serializes"));
    Ok(())
}

fn print_json(value: &impl serde::Serialize) {
    println!("{}", serde_json::to_string_pretty(value).expect("results serialize"));
}
