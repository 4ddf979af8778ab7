//! A real browser for the dashboard tests: Debian's `chromium`, headless,
//! driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`:
//! JSON messages ended by a NUL byte, read on fd 3 and written on fd 4),
//! so no WebSocket client and no driver binary are needed. It navigates,
//! runs JavaScript in the page (filling and submitting forms as a person
//! would) and keeps every console message, uncaught exception and browser
//! log entry (Content-Security-Policy violations among them).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::Scratch;

/// How long one protocol step may take.
const STEP: Duration = Duration::from_secs(30);

/// A headless chromium with one page, closed when dropped.
pub struct Browser {
    child: Child,
    input: ChildStdin,
    output: Receiver<Value>,
    next_id: u64,
    session: String,
    /// What the page logged: console messages, exceptions, log entries.
    pub logged: Vec<String>,
}

impl Browser {
    /// Starts chromium with a fresh profile in `scratch` and opens a page.
    pub fn start(scratch: &Scratch) -> Browser {
        let profile = scratch.path("chromium-cdp-profile");
        // The shell puts the pipe on the descriptors chromium reads and writes.
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(
                "exec chromium --headless --no-sandbox --disable-gpu --no-first-run --remote-debugging-pipe \
                 --user-data-dir=\"$1\" about:blank 3<&0 4>&1 0</dev/null 1>/dev/null",
            )
            .arg("sh")
            .arg(&profile)
            .env("HOME", &scratch.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("chromium is needed for the browser tests (apt-get install chromium): {e}"));
        let input = child.stdin.take().unwrap();
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let (sender, output) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            loop {
                let mut message = Vec::new();
                match reader.read_until(0, &mut message) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                message.pop_if(|b| *b == 0);
                if let Ok(value) = serde_json::from_slice::<Value>(&message)
                    && sender.send(value).is_err()
                {
                    break;
                }
            }
        });
        let mut browser = Browser { child, input, output, next_id: 0, session: String::new(), logged: Vec::new() };
        let target = browser.call(None, "Target.createTarget", json!({ "url": "about:blank" }));
        let target = target["targetId"].as_str().expect("a target id").to_owned();
        let attached = browser.call(None, "Target.attachToTarget", json!({ "targetId": target, "flatten": true }));
        browser.session = attached["sessionId"].as_str().expect("a session id").to_owned();
        for domain in ["Page.enable", "Runtime.enable", "Log.enable"] {
            browser.call(Some(()), domain, json!({}));
        }
        browser
    }

    /// Sends a command (to the page's session with `Some(())`) and waits
    /// for its answer, keeping the events that arrive meanwhile.
    fn call(&mut self, page: Option<()>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if page.is_some() {
            message["sessionId"] = json!(self.session);
        }
        let mut bytes = serde_json::to_vec(&message).unwrap();
        bytes.push(0);
        self.input.write_all(&bytes).unwrap();
        self.input.flush().unwrap();
        let until = Instant::now() + STEP;
        loop {
            let message = self.receive(until).unwrap_or_else(|| panic!("{method}: no answer from chromium"));
            if message["id"] == id {
                assert!(message.get("error").is_none(), "{method}: {message}");
                return message["result"].clone();
            }
        }
    }

    /// The next message before `until`, its events noted.
    fn receive(&mut self, until: Instant) -> Option<Value> {
        let left = until.saturating_duration_since(Instant::now());
        let message = match self.output.recv_timeout(left) {
            Ok(message) => message,
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return None,
        };
        let params = &message["params"];
        match message["method"].as_str() {
            Some("Runtime.consoleAPICalled") => {
                let text: Vec<String> = params["args"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|a| a["value"].as_str().map_or_else(|| a.to_string(), str::to_owned))
                    .collect();
                self.logged.push(format!("console.{}: {}", params["type"], text.join(" ")));
            }
            Some("Runtime.exceptionThrown") => self.logged.push(format!("exception: {}", params["exceptionDetails"])),
            Some("Log.entryAdded") => self.logged.push(format!(
                "{} {}: {}",
                params["entry"]["source"], params["entry"]["level"], params["entry"]["text"]
            )),
            _ => {}
        }
        Some(message)
    }

    /// Waits for the page's next load event.
    fn loaded(&mut self, what: &str) {
        let until = Instant::now() + STEP;
        loop {
            let message = self.receive(until).unwrap_or_else(|| panic!("{what}: the page did not load"));
            if message["method"] == "Page.loadEventFired" {
                return;
            }
        }
    }

    /// Opens `url` and waits until it has loaded.
    pub fn open(&mut self, url: &str) {
        let navigated = self.call(Some(()), "Page.navigate", json!({ "url": url }));
        assert!(navigated.get("errorText").is_none(), "{url}: {navigated}");
        self.loaded(url);
    }

    /// Runs `expression` in the page; its value.
    pub fn eval(&mut self, expression: &str) -> Value {
        let answer = self.call(
            Some(()),
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
        );
        assert!(answer.get("exceptionDetails").is_none(), "{expression}: {answer}");
        answer["result"]["value"].clone()
    }

    /// Runs `expression` (which submits a form or follows a link) and waits
    /// for the next page to load.
    pub fn submit(&mut self, expression: &str) {
        self.eval(expression);
        self.loaded(expression);
    }

    /// The page's HTML as it stands.
    pub fn dom(&mut self) -> String {
        self.eval("document.documentElement.outerHTML").as_str().unwrap_or("").to_owned()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
