//! WebSocket echo: round trips per second and latency, small and large messages.

use super::*;

impl Bench {
    pub(super) async fn ws_echo(&mut self) -> anyhow::Result<()> {
        for (connections, size) in [(1usize, 32usize), (64, 32), (1, 64 * 1024), (64, 64 * 1024)] {
            let scenario = format!(
                "{connections} connection{}, {}",
                if connections == 1 { "" } else { "s" },
                bytes(size)
            );
            // Just under the lessons' 64 KiB limit, so the big case measures, not fails.
            let size = size.min(64 * 1024 - 64);
            let mut baseline = None;
            for spec in [
                self.baseline(Baseline::Echo),
                self.lesson("ws_echo_server", "warn"),
                self.lesson("ws_echo_server", "info"),
            ] {
                self.progress(&format!("WebSocket echo, {scenario}: {}", spec.label));
                let mut runs = Vec::new();
                for _ in 0..self.repeats {
                    let server = spec.start();
                    let url = format!("ws://{}/", server.addr);
                    runs.push(load::ws_echo(&url, connections, size, self.seconds(4)).await?);
                }
                let with_goal = spec.label == "ws_echo_server";
                let medians = self.throughput_rows(
                    &Place::new("WebSocket echo", &scenario, &spec.label),
                    "round trips/s",
                    "rt/s",
                    &runs,
                    baseline,
                    with_goal.then_some(0.9),
                );
                baseline.get_or_insert(medians);
            }
        }
        Ok(())
    }

    /// Four rows for a request/response load (rate, errors, p50, p99), each beside
    /// the baseline's median; the rate with the goal "≥ G× baseline, no errors" if
    /// `goal` is `Some(G)`.
    /// Returns the medians, which serve as the baseline for the servers after it.
    pub(super) fn throughput_rows(
        &mut self,
        at: &Place,
        rate_metric: &str,
        rate_unit: &str,
        runs: &[load::Throughput],
        baseline: Option<[f64; 3]>,
        goal: Option<f64>,
    ) -> [f64; 3] {
        let rates: Vec<f64> = runs.iter().map(|r| r.per_second).collect();
        let p50: Vec<f64> = runs.iter().map(|r| r.latency.p50_us as f64).collect();
        let p99: Vec<f64> = runs.iter().map(|r| r.latency.p99_us as f64).collect();
        let base = |i: usize| baseline.map(|b| b[i]);
        // A failed request or round trip is a loss: a run with one is never "met".
        let errors: Vec<f64> = runs.iter().map(|r| r.errors as f64).collect();
        let whole = runs.iter().all(|r| r.errors == 0);
        let goal = goal.map(|ratio| {
            let fast = base(0).is_some_and(|b| stats::repeated(&rates).median >= ratio * b);
            (format!("≥ {ratio}× baseline, no errors"), fast && whole)
        });
        let rate = self.push(
            at.metric(rate_metric, rate_unit, &rates)
                .baseline(base(0))
                .goal(goal.as_ref().map(|(text, met)| (text.as_str(), *met))),
        );
        self.push(at.metric("errors", "count", &errors));
        [
            rate.median,
            self.push(at.metric("p50 latency", "µs", &p50).baseline(base(1))).median,
            self.push(at.metric("p99 latency", "µs", &p99).baseline(base(2))).median,
        ]
    }
}
