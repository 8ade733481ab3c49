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
        // Lesson 01 against the hello (the goal); the later lessons beside them, to
        // show what each lesson's dependencies add to a student's first wait.
        let lessons: &[&str] = if self.quick {
            &["http_server"]
        } else {
            &["http_server", "ws_echo_server", "http_ws_server", "http_ws_cluster"]
        };
        let mut times: Vec<Vec<f64>> = vec![Vec::new(); lessons.len()];
        let mut crates = vec![0; lessons.len()];
        let (mut hello, mut hello_crates) = (Vec::new(), 0);
        for run in 0..self.repeats {
            self.progress(&format!(
                "first build, from nothing: {} and a hyper hello ({})",
                lessons.join(", "),
                run + 1
            ));
            for (n, lesson) in lessons.iter().enumerate() {
                let built = crate::first_build::lesson(&root, lesson)?;
                times[n].push(built.seconds);
                crates[n] = built.crates;
            }
            let built = crate::first_build::hello(&root)?;
            hello.push(built.seconds);
            hello_crates = built.crates;
        }
        let baseline = stats::repeated(&hello).median;
        let place =
            |server: &str| Place::new("First build", "cargo build from nothing (debug)", server);
        let count = |n: usize| [f64::from(u32::try_from(n).unwrap_or(u32::MAX))];
        self.push(place("baseline: a bare hyper hello").metric("build time", "s", &hello));
        self.push(place("baseline: a bare hyper hello").metric(
            "crates compiled",
            "",
            &count(hello_crates),
        ));
        for (n, lesson) in lessons.iter().enumerate() {
            let at = place(lesson);
            let met = stats::repeated(&times[n]).median <= 1.5 * baseline;
            let goal = (*lesson == "http_server").then_some(("≤ 1.5× the hello", met));
            self.push(at.metric("build time", "s", &times[n]).baseline(Some(baseline)).goal(goal));
            self.push(at.metric("crates compiled", "", &count(crates[n])));
        }
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
