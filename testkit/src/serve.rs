//! A `tape serve` process of a test's or benchmark's own (feature
//! `serve`): started from the command the caller builds, on `--listen
//! 127.0.0.1:0`, found by the address it prints, killed when dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, mpsc};
use std::time::Duration;

/// The line `tape serve` writes on standard error once it listens, before
/// its address.
const LISTENING: &str = "tape serve: listening on ";

/// A running `tape serve`.
#[derive(Debug)]
pub struct ServeProcess {
    /// The process, for a test that signals it or waits for it.
    pub child: Child,
    /// Where it listens: `http://127.0.0.1:PORT`.
    pub base: String,
    /// Its standard error, line by line, after the address: read to its
    /// end on a thread of its own, so the server never waits on a full
    /// pipe.
    pub stderr: Mutex<mpsc::Receiver<String>>,
}

impl ServeProcess {
    /// Spawns `command` (`tape serve … --listen 127.0.0.1:0`) with its
    /// standard error piped, and waits up to a minute for its address.
    ///
    /// # Panics
    ///
    /// When it cannot be spawned, or exits or says nothing of the kind
    /// within the minute; the message holds what it said.
    pub fn start(mut command: Command) -> ServeProcess {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("tape serve starts");
        let (lines, stderr) = mpsc::channel();
        let pipe = child.stderr.take().expect("its standard error");
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let mut seen = String::new();
        let base = loop {
            match stderr.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => match line.strip_prefix(LISTENING) {
                    Some(address) => break address.to_string(),
                    None => {
                        seen.push_str(&line);
                        seen.push('\n');
                    }
                },
                Err(_) => panic!("tape serve did not start:\n{seen}"),
            }
        };
        ServeProcess {
            child,
            base,
            stderr: Mutex::new(stderr),
        }
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
