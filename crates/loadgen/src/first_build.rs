//! A student's first build: lesson 01 built from nothing, beside a bare hyper hello
//! world with the same hyper, hyper-util and tokio features (the workspace's), the
//! same versions (the workspace's Cargo.lock) and the same debug settings, built
//! from nothing in the same run. Each goes into a fresh target folder; crates come
//! from the local registry cache (`--offline`), so nothing is downloaded or timed
//! but compiling.

use anyhow::Context as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The bare hello world: hyper's own example, trimmed to what it needs.
const HELLO: &str = r#"use std::convert::Infallible;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

async fn hello(_: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from("Hello, World!"))))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let listener = TcpListener::bind("127.0.0.1:3000").await?;
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(hello))
                .await;
        });
    }
}
"#;

/// One clean build: how long it took, and how many crates it compiled.
pub(crate) struct Built {
    pub(crate) seconds: f64,
    pub(crate) crates: usize,
}

/// Builds lesson 01 (`http_server`) from nothing, in the workspace at `root`.
pub(crate) fn lesson(root: &Path, lesson: &str) -> anyhow::Result<Built> {
    let target = root.join("target/bench/first-build").join(lesson);
    clean_build(root, &target, &["-p", lesson])
}

/// Builds the bare hello world from nothing, in a crate made for it under target/.
pub(crate) fn hello(root: &Path) -> anyhow::Result<Built> {
    let dir = root.join("target/bench/first-build/hello-crate");
    std::fs::create_dir_all(dir.join("src"))?;
    std::fs::write(dir.join("src/main.rs"), HELLO)?;
    std::fs::write(dir.join("Cargo.toml"), manifest(root)?)?;
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock"))?;
    clean_build(&dir, &root.join("target/bench/first-build/hello"), &[])
}

/// The hello world's Cargo.toml: the workspace's own lines for hyper, hyper-util,
/// http-body-util and tokio, and its `[profile.dev]`.
fn manifest(root: &Path) -> anyhow::Result<String> {
    let workspace = std::fs::read_to_string(root.join("Cargo.toml"))?;
    let line = |name: &str| {
        workspace
            .lines()
            .find(|line| line.starts_with(&format!("{name} = ")))
            .map(str::to_string)
            .with_context(|| format!("no {name} in the workspace's Cargo.toml"))
    };
    let profile: String = workspace
        .split("[profile.dev]")
        .nth(1)
        .map(|rest| rest.lines().take_while(|l| !l.starts_with('[')).collect::<Vec<_>>().join("\n"))
        .unwrap_or_default();
    Ok(format!(
        "[package]\nname = \"hello\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         [dependencies]\n{}\n{}\n{}\n{}\n\n[profile.dev]\n{profile}\n\n[workspace]\n",
        line("hyper")?,
        line("hyper-util")?,
        line("http-body-util")?,
        line("tokio")?,
    ))
}

fn clean_build(dir: &Path, target: &PathBuf, args: &[&str]) -> anyhow::Result<Built> {
    let _ = std::fs::remove_dir_all(target);
    let started = Instant::now();
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--offline", "--color", "never"])
        .args(args)
        .env("CARGO_TARGET_DIR", target)
        .current_dir(dir)
        .output()
        .context("cargo build")?;
    let seconds = started.elapsed().as_secs_f64();
    let log = String::from_utf8_lossy(&output.stderr);
    anyhow::ensure!(output.status.success(), "cargo build in {} failed:\n{log}", dir.display());
    let crates = log.lines().filter(|line| line.trim_start().starts_with("Compiling ")).count();
    let _ = std::fs::remove_dir_all(target);
    Ok(Built { seconds, crates })
}
