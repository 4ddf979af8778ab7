//! A progress line on stderr for long work: counts and rate, redrawn at most
//! ten times a second, shown only when stderr is a terminal.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// A progress line; silent when stderr is not a terminal.
pub struct Progress {
    visible: bool,
    label: String,
    total: Option<u64>,
    done: u64,
    started: Instant,
    last_draw: Option<Instant>,
}

impl Progress {
    /// A progress line for `label`, visible only on a terminal.
    pub fn new(label: &str) -> Progress {
        Progress {
            visible: std::io::stderr().is_terminal(),
            label: label.to_owned(),
            total: None,
            done: 0,
            started: Instant::now(),
            last_draw: None,
        }
    }

    /// Sets the label and the number of steps expected, restarting the clock.
    pub fn start(&mut self, label: &str, total: Option<u64>) {
        self.label = label.to_owned();
        self.total = total;
        self.done = 0;
        self.started = Instant::now();
        self.last_draw = None;
        self.draw(true);
    }

    /// Sets the number of steps expected once it is known, keeping the count.
    pub fn set_total(&mut self, total: u64) {
        self.total = Some(total);
        self.draw(true);
    }

    /// Records `n` more steps.
    pub fn advance(&mut self, n: u64) {
        self.done += n;
        self.draw(false);
    }

    /// Changes the label (e.g. to show a wait), keeping the count.
    pub fn relabel(&mut self, label: &str) {
        if self.label != label {
            self.label = label.to_owned();
            self.draw(true);
        }
    }

    /// Clears the line.
    pub fn finish(&mut self) {
        if self.visible && self.last_draw.is_some() {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
        self.last_draw = None;
    }

    fn draw(&mut self, force: bool) {
        if !self.visible {
            return;
        }
        let now = Instant::now();
        if !force && self.last_draw.is_some_and(|t| now - t < Duration::from_millis(100)) {
            return;
        }
        self.last_draw = Some(now);
        let secs = (now - self.started).as_secs_f64().max(1e-3);
        let rate = self.done as f64 / secs;
        let line = match self.total {
            Some(total) if total > 0 => {
                let width = 24;
                let filled = ((self.done.min(total) * width) / total) as usize;
                format!(
                    "{} [{}{}] {}/{} ({:.0}/s)",
                    self.label,
                    "#".repeat(filled),
                    "-".repeat(width as usize - filled),
                    self.done,
                    total,
                    rate
                )
            }
            _ if self.done == 0 => format!("{}…", self.label),
            _ => format!("{} {} ({:.0}/s)", self.label, self.done, rate),
        };
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{line}");
        let _ = err.flush();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
