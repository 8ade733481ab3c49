//! A student's wait: the first build of a lesson, and a rebuild after one edit.

use super::*;

fn touch(path: &Path) -> anyhow::Result<()> {
    let file = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .with_context(|| format!("{}", path.display()))?;
    file.set_modified(std::time::SystemTime::now())?;
    Ok(())
}

impl Bench {
    /// A student's first `cargo run -p http_server`: lesson 01 built from nothing,
    /// beside a bare hyper hello world built from nothing in the same run.
    pub(super) fn first_build(&mut self) -> anyhow::Result<()> {
        let root = self.me.ancestors().nth(3).context("no workspace")?.to_path_buf();
        let (mut lesson, mut hello, mut crates) = (Vec::new(), Vec::new(), (0, 0));
        for run in 0..self.repeats {
            self.progress(&format!(
                "first build, from nothing: http_server and a hyper hello ({})",
                run + 1
            ));
            let built = crate::first_build::lesson(&root, "http_server")?;
            lesson.push(built.seconds);
            crates.0 = built.crates;
            let built = crate::first_build::hello(&root)?;
            hello.push(built.seconds);
            crates.1 = built.crates;
        }
        let baseline = stats::repeated(&hello).median;
        let place =
            |server: &str| Place::new("First build", "cargo build from nothing (debug)", server);
        self.push(place("baseline: a bare hyper hello").metric("build time", "s", &hello));
        let met = stats::repeated(&lesson).median <= 1.5 * baseline;
        self.push(
            place("http_server")
                .metric("build time", "s", &lesson)
                .baseline(Some(baseline))
                .goal(Some(("≤ 1.5× the hello", met))),
        );
        let count = |n: usize| [f64::from(u32::try_from(n).unwrap_or(u32::MAX))];
        self.push(place("baseline: a bare hyper hello").metric(
            "crates compiled",
            "",
            &count(crates.1),
        ));
        self.push(place("http_server").metric("crates compiled", "", &count(crates.0)));
        Ok(())
    }

    /// The student's loop: change one lesson, build it again.
    pub(super) fn edit_run(&mut self) -> anyhow::Result<()> {
        let root = self.me.ancestors().nth(3).context("no workspace")?.to_path_buf();
        let lessons: &[&str] = if self.quick {
            &["http_server"]
        } else {
            &["http_server", "ws_chat_server", "http_ws_server"]
        };
        for lesson in lessons {
            self.progress(&format!("edit and build: {lesson}"));
            let mut times = Vec::new();
            for _ in 0..self.repeats {
                touch(&root.join("crates").join(lesson).join("src/main.rs"))?;
                let started = Instant::now();
                let status =
                    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                        .args(["build", "--quiet", "-p", lesson])
                        .current_dir(&root)
                        .status()
                        .context("cargo build")?;
                if !status.success() {
                    anyhow::bail!("cargo build -p {lesson} failed");
                }
                times.push(started.elapsed().as_secs_f64());
            }
            let met = stats::repeated(&times).median < 3.0;
            self.push(
                Place::new("Edit and build", "touch main.rs; cargo build -p", lesson)
                    .metric("build time", "s", &times)
                    .goal(Some(("< 3 s", met))),
            );
        }
        Ok(())
    }
}
