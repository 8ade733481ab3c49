//! A real Redis for lesson 09's tests, started the way lesson 09's page starts it
//! (`redis-server --port N --bind 127.0.0.1`), on a free port, in a folder of its
//! own, and stopped by its process id.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::tools::{self, REDIS};
use crate::{Program, START_TIMEOUT, page, process, record, temp_folder};

/// A `redis-server` this test started. Dropping it kills it.
pub struct Redis {
    program: Option<Program>,
    /// Its address, such as `127.0.0.1:41234`.
    pub addr: String,
    /// Where it runs (and would write its files).
    pub folder: PathBuf,
}

impl Redis {
    /// Starts `redis-server` on a free port, or returns `None` (with one printed
    /// line) if it is not installed: see [`tools::available`].
    pub fn start(test: &str) -> Option<Redis> {
        if !tools::available(test, &[&REDIS]) {
            return None;
        }
        let addr = crate::free_addr();
        // What it prints about its address, the page shows about Redis's default.
        record::map_address(&addr, "127.0.0.1:6379");
        let folder = temp_folder(&format!("redis-{test}"));
        let mut redis = Redis { program: None, addr, folder };
        redis.restart();
        Some(redis)
    }

    /// Its URL, for `--redis` or `LESSON_REDIS`.
    pub fn url(&self) -> String {
        format!("redis://{}", self.addr)
    }

    /// Sends one command, as redis-cli would, and returns the first line of Redis's
    /// answer in its own protocol (`:1`, `+OK`, `$-1`...).
    pub fn command(&self, args: &[&str]) -> String {
        let mut request = format!("*{}\r\n", args.len());
        for arg in args {
            request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
        }
        let mut stream = crate::http::connect(&self.addr);
        stream.write_all(request.as_bytes()).expect("send a command to Redis");
        let mut answer = String::new();
        BufReader::new(stream).read_line(&mut answer).expect("Redis's answer");
        answer.trim_end().to_string()
    }

    /// Starts it (again) on its port, and waits until it takes connections. As for a
    /// student, it saves its data in its folder when stopped (`dump.rdb`), and reads
    /// it back when started again.
    pub fn restart(&mut self) {
        let port = self.addr.rsplit(':').next().expect("a port").to_string();
        let args = ["--port", &port, "--bind", "127.0.0.1"];
        // The command as the page shows it, at Redis's default port.
        page::record_command("redis-server --port 6379 --bind 127.0.0.1");
        let mut program =
            Program::spawn_in(Path::new("redis-server"), &args, &self.folder, true, false);
        program.wait_for_within("Ready to accept connections", START_TIMEOUT);
        self.program = Some(program);
    }

    /// What it has printed so far (its log), with its port written as the default
    /// port the pages show.
    pub fn output(&mut self) -> Vec<String> {
        let port = self.addr.rsplit(':').next().expect("a port").to_string();
        let program = self.program.as_mut().expect("Redis is running");
        let lines = program.output();
        lines.iter().map(|line| line.replace(&format!("port={port}."), "port=6379.")).collect()
    }

    /// Stops it as `kill PID` does (SIGTERM: it closes every connection and exits),
    /// and waits until it has.
    pub fn stop(&mut self) {
        let mut program = self.program.take().expect("Redis is running");
        process::signal(program.pid(), process::SIGTERM).expect("send SIGTERM");
        let (status, _) = program.wait_exit(Duration::from_secs(10));
        assert!(status.success(), "redis-server stopped with {status}");
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        if let Some(mut program) = self.program.take() {
            program.kill();
        }
        record::unmap_address(&self.addr);
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}
