//! A real nginx for lesson 10's tests, started the way page 10 starts it: with the
//! repository's `proxy/nginx.conf`, `-p` a folder of its own and `-e stderr`, in
//! the foreground (the config says `daemon off`), and stopped by its process id.
//!
//! The config names the page's addresses (nginx on 127.0.0.1:8080, the instances
//! on 127.0.0.1:5004 and 127.0.0.1:5005). A test runs it on free ports: it writes a
//! copy into nginx's folder with those three addresses replaced, and nothing else
//! changed unless the test asks for a change (a line removed, a timeout shortened),
//! the way a student edits the file.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::tools::{self, NGINX};
use crate::{Program, START_TIMEOUT, record, temp_folder};

/// The page's addresses in `proxy/nginx.conf`.
pub const FRONT: &str = "127.0.0.1:8080";
pub const INSTANCES: [&str; 2] = ["127.0.0.1:5004", "127.0.0.1:5005"];
/// The page's command, run from the top of the workspace.
pub const COMMAND: &str = r#"nginx -e stderr -p /tmp/lesson10 -c "$PWD/proxy/nginx.conf""#;

/// An nginx this test started. Dropping it kills it.
pub struct Nginx {
    program: Option<Program>,
    /// Where it listens, such as `127.0.0.1:41234`.
    pub addr: String,
    /// Its `-p` folder: its pid file, its temporary files, the config it runs.
    pub folder: PathBuf,
}

/// The repository's config, as a student finds it.
pub fn config() -> String {
    std::fs::read_to_string(crate::workspace_root().join("proxy/nginx.conf"))
        .expect("proxy/nginx.conf")
}

impl Nginx {
    /// Starts nginx in front of `instances` (the two lesson-09 servers' addresses),
    /// with the repository's config as `edit` changes it, or returns `None` (with one
    /// printed line) if nginx is not installed.
    pub fn start(
        test: &str,
        instances: [&str; 2],
        edit: impl FnOnce(String) -> String,
    ) -> Option<Nginx> {
        if !tools::available(test, &[&NGINX]) {
            return None;
        }
        let addr = crate::free_addr();
        record::map_address(&addr, FRONT);
        let folder = temp_folder(&format!("nginx-{test}"));
        let mut text = edit(config()).replace(FRONT, &addr);
        for (page, actual) in INSTANCES.iter().zip(instances) {
            text = text.replace(page, actual);
        }
        let conf = folder.join("nginx.conf");
        std::fs::write(&conf, text).expect("write the config");
        record::record_command(COMMAND);
        let prefix = folder.to_string_lossy().into_owned();
        let conf = conf.to_string_lossy().into_owned();
        let args = ["-e", "stderr", "-p", &prefix, "-c", &conf];
        let mut program = Program::spawn_in(Path::new("nginx"), &args, &folder, true, false);
        // nginx prints nothing when it starts well; it is ready once its port takes
        // connections (or it has exited, saying why).
        let deadline = Instant::now() + START_TIMEOUT;
        while std::net::TcpStream::connect(&addr).is_err() {
            if let Some((status, output)) = program.wait_exit_within(Duration::from_millis(20)) {
                panic!("nginx exited with {status} before it listened: {output:#?}");
            }
            assert!(Instant::now() < deadline, "nginx did not listen on {addr} within 30 s");
        }
        Some(Nginx { program: Some(program), addr, folder })
    }

    /// What it has printed so far: one access-log line per request (the config's
    /// `lesson` format), and any error.
    pub fn output(&mut self) -> Vec<String> {
        self.program.as_mut().expect("nginx is running").output()
    }

    /// True if a worker holds a response in a temporary file of its own: nginx,
    /// buffering (`proxy_buffering on`, its default), reads on for a client that
    /// reads slower, and what does not fit its buffers in memory goes to a file in
    /// its `proxy/` folder, deleted at once but kept open (`/proc/PID/fd` shows it).
    pub fn buffers_to_a_file(&self) -> bool {
        let master = self.program.as_ref().expect("nginx is running").pid();
        let temp = self.folder.join("proxy");
        let Ok(processes) = std::fs::read_dir("/proc") else { return false };
        processes.flatten().any(|process| {
            let stat = std::fs::read_to_string(process.path().join("stat")).unwrap_or_default();
            // `PID (name) STATE PPID ...`: the worker is the master's child.
            let after_name = stat.rsplit_once(") ").map_or("", |(_, rest)| rest);
            let parent = after_name.split_whitespace().nth(1);
            if parent != Some(master.to_string().as_str()) {
                return false;
            }
            let Ok(files) = std::fs::read_dir(process.path().join("fd")) else { return false };
            files.flatten().any(|file| {
                std::fs::read_link(file.path()).is_ok_and(|target| target.starts_with(&temp))
            })
        })
    }

    /// Waits for a line it prints (an access-log line, say) that contains `needle`.
    pub fn wait_for(&mut self, needle: &str) -> String {
        self.program.as_mut().expect("nginx is running").wait_for(needle)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // Its process group: the master and its worker.
        if let Some(mut program) = self.program.take() {
            program.kill();
        }
        record::unmap_address(&self.addr);
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}
