//! HTTP load from wrk, the standard tool, with the server and wrk pinned to
//! different cores: on a 2-core machine, a load generator that shares the server's
//! cores measures its own scheduling as much as the server (issue 10 saw 0.83× and
//! 0.91× unpinned, 1.02× pinned, for the same two servers).

use std::process::Command;
use std::time::Duration;

use anyhow::Context as _;

use crate::load::Throughput;
use crate::stats::Latency;

/// The core the server runs on, and the one wrk runs on.
pub(crate) const SERVER_CPU: &str = "0";
pub(crate) const LOAD_CPU: &str = "1";

/// Whether taskset is here, and there are two cores to pin to.
pub(crate) fn can_pin() -> bool {
    let two_cores = std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2);
    two_cores && Command::new("taskset").arg("--version").output().is_ok()
}

/// Whether wrk and taskset are here, and there are two cores to pin to.
pub(crate) fn available() -> bool {
    let two_cores = std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2);
    let found = |tool: &str| Command::new(tool).arg("--version").output().is_ok();
    two_cores && found("wrk") && found("taskset")
}

/// `wrk -t1 -c CONNECTIONS -d SECONDS --latency http://ADDR/TARGET` on `LOAD_CPU`;
/// with `new_connection`, every request says `Connection: close`, so wrk opens a
/// new TCP connection for the next one.
pub(crate) fn run(
    addr: &str,
    target: &str,
    connections: usize,
    duration: Duration,
    new_connection: bool,
) -> anyhow::Result<Throughput> {
    run_url(&format!("http://{addr}{target}"), connections, duration, new_connection)
}

/// [`run`] for a whole URL, `https://` included (wrk does not check certificates).
pub(crate) fn run_url(
    url: &str,
    connections: usize,
    duration: Duration,
    new_connection: bool,
) -> anyhow::Result<Throughput> {
    let mut wrk = Command::new("taskset");
    wrk.args(["-c", LOAD_CPU, "wrk", "-t1", "--latency"])
        .arg(format!("-c{connections}"))
        .arg(format!("-d{}s", duration.as_secs().max(1)));
    if new_connection {
        wrk.args(["-H", "Connection: close"]);
    }
    let output = wrk.arg(url).output().context("run wrk")?;
    let report = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        anyhow::bail!("wrk failed: {report}{}", String::from_utf8_lossy(&output.stderr));
    }
    parse(&report).with_context(|| format!("read wrk's report:\n{report}"))
}

/// Reads wrk's report: the request rate, the 50 % and 99 % lines of `--latency`,
/// the slowest request, and every error it counts (socket errors, non-2xx answers).
fn parse(report: &str) -> anyhow::Result<Throughput> {
    let field = |prefix: &str| {
        report.lines().map(str::trim).find_map(|line| line.strip_prefix(prefix)).map(str::trim)
    };
    let per_second: f64 = field("Requests/sec:").context("no Requests/sec")?.parse()?;
    let count: u64 = report
        .lines()
        .find(|line| line.contains("requests in"))
        .and_then(|line| line.split_whitespace().next())
        .context("no request count")?
        .parse()?;
    let p50_us = micros(field("50%").context("no 50% line")?)?;
    let p99_us = micros(field("99%").context("no 99% line")?)?;
    let max_us = report
        .lines()
        .map(str::trim)
        .find_map(|line| line.strip_prefix("Latency"))
        .and_then(|rest| rest.split_whitespace().nth(2))
        .map_or(Ok(0), micros)?;
    let mut errors = 0;
    if let Some(non_2xx) = field("Non-2xx or 3xx responses:") {
        errors += non_2xx.parse::<u64>()?;
    }
    if let Some(socket) = field("Socket errors:") {
        // "connect 0, read 0, write 0, timeout 0"
        for part in socket.split(',') {
            errors += part.split_whitespace().nth(1).context("a count")?.parse::<u64>()?;
        }
    }
    Ok(Throughput { count, per_second, latency: Latency { p50_us, p99_us, max_us }, errors })
}

/// wrk's durations: `812.00us`, `1.25ms`, `2.00s`.
fn micros(text: &str) -> anyhow::Result<u64> {
    let (number, scale) = if let Some(n) = text.strip_suffix("us") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1e3)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1e6)
    } else {
        anyhow::bail!("not a duration: {text}")
    };
    let micros = number.parse::<f64>()? * scale;
    // A latency is positive and far below 2^53 µs: the conversion is exact enough.
    Ok(Duration::from_secs_f64(micros / 1e6).as_micros().try_into()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "Running 5s test @ http://127.0.0.1:40000/
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   692.48us  120.21us   4.86ms   83.12%
    Req/Sec    92.71k     1.94k   95.62k    76.00%
  Latency Distribution
     50%  671.00us
     75%  729.00us
     90%  812.00us
     99%    1.13ms
  461350 requests in 5.00s, 39.16MB read
  Socket errors: connect 0, read 3, write 0, timeout 1
  Non-2xx or 3xx responses: 2
Requests/sec:  92247.17
Transfer/sec:      7.83MB
";

    #[test]
    fn a_report_is_read_whole() {
        let t = parse(REPORT).expect("a report");
        assert_eq!(t.count, 461_350);
        assert!((t.per_second - 92_247.17).abs() < 0.01);
        assert_eq!(t.latency, Latency { p50_us: 671, p99_us: 1130, max_us: 4860 });
        assert_eq!(t.errors, 6);
    }
}
