//! Progress of long work (a sync's pages, an import): a bar with the rate and, when the
//! total is known or estimable, the time left, drawn with `indicatif` when standard error
//! is a terminal; plain lines otherwise, which is what logs and tests read.
//!
//! ```no_run
//! let mut progress = renkei_client::progress::Progress::start("import", Some(10_000));
//! progress.advance(2_500);
//! progress.finish();
//! ```

use std::io::IsTerminal as _;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// One piece of long work under way.
pub struct Progress {
    label: String,
    total: Option<u64>,
    done: u64,
    started: Instant,
    /// The bar on a terminal; `None` writes plain lines.
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Starts reporting: a bar when standard error is a terminal, else plain lines.
    pub fn start(label: &str, total: Option<u64>) -> Progress {
        Progress::with_terminal(label, total, std::io::stderr().is_terminal())
    }

    /// As `start`, saying whether to draw a bar (`terminal`) or write lines.
    pub fn with_terminal(label: &str, total: Option<u64>, terminal: bool) -> Progress {
        let bar = terminal.then(|| new_bar(label, total));
        Progress { label: label.to_string(), total, done: 0, started: Instant::now(), bar }
    }

    /// The total became known (or a better estimate of it).
    pub fn set_total(&mut self, total: u64) {
        self.total = Some(total);
        if let Some(bar) = &self.bar {
            bar.set_length(total);
            bar.set_style(style(true));
        }
    }

    /// `n` more units done; a plain line says where the work stands.
    pub fn advance(&mut self, n: u64) {
        self.done += n;
        match &self.bar {
            Some(bar) => bar.inc(n),
            None => eprintln!("{}", self.status()),
        }
    }

    /// `n` more units done, with a note of what they were (the bar's message, or the
    /// plain line's head).
    pub fn advance_with(&mut self, n: u64, note: &str) {
        self.done += n;
        match &self.bar {
            Some(bar) => {
                bar.set_message(note.to_string());
                bar.inc(n);
            }
            None => eprintln!("{}: {note} ({})", self.label, counts(self.done, self.total, self.rate())),
        }
    }

    /// Units done so far.
    pub fn done(&self) -> u64 {
        self.done
    }

    /// Units a second since the start.
    pub fn rate(&self) -> f64 {
        self.done as f64 / self.started.elapsed().as_secs_f64().max(1e-3)
    }

    /// The time left at the present rate, when the total is known.
    pub fn eta(&self) -> Option<Duration> {
        eta(self.done, self.total?, self.rate())
    }

    /// `label: done[/total] at rate/s[, ETA m:ss]`.
    pub fn status(&self) -> String {
        status_line(&self.label, self.done, self.total, self.rate())
    }

    /// Ends the work: the bar is cleared (the caller prints its summary); returns the
    /// time taken.
    pub fn finish(self) -> Duration {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        self.started.elapsed()
    }

    /// Takes the bar off the screen (it is drawn again at the next advance), so a
    /// summary line can be printed.
    pub fn clear(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    /// Starts the clock again (a follower's next pushes are timed from here).
    pub fn restart(&mut self) {
        self.done = 0;
        self.started = Instant::now();
        if let Some(bar) = &mut self.bar {
            bar.finish_and_clear();
            *bar = new_bar(&self.label, self.total);
        }
    }
}

fn new_bar(label: &str, total: Option<u64>) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
    bar.set_style(style(total.is_some()));
    bar.set_prefix(label.to_string());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

fn style(known_total: bool) -> ProgressStyle {
    let template = if known_total {
        "{prefix} [{bar:30}] {human_pos}/{human_len} ({rate}, ETA {eta}) {msg}"
    } else {
        "{prefix} {spinner} {human_pos} ({rate}) {msg}"
    };
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .with_key("rate", |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{:.0}/s", state.per_sec());
        })
        .progress_chars("#>-")
}

/// The time left to do `total - done` at `rate` a second (none while nothing is done).
fn eta(done: u64, total: u64, rate: f64) -> Option<Duration> {
    (rate > 0.0 && done > 0).then(|| Duration::from_secs_f64(total.saturating_sub(done) as f64 / rate))
}

fn status_line(label: &str, done: u64, total: Option<u64>, rate: f64) -> String {
    format!("{label}: {}", counts(done, total, rate))
}

/// `done[/total] at rate/s[, ETA m:ss]`.
fn counts(done: u64, total: Option<u64>, rate: f64) -> String {
    match total {
        Some(t) => {
            let left = eta(done, t, rate).map_or_else(|| "-".to_string(), clock);
            format!("{done}/{t} at {rate:.0}/s, ETA {left}")
        }
        None => format!("{done} at {rate:.0}/s"),
    }
}

/// `m:ss`, or `h:mm:ss` past an hour.
fn clock(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_name_the_rate_and_the_time_left() {
        assert_eq!(status_line("sync", 500, Some(2000), 100.0), "sync: 500/2000 at 100/s, ETA 0:15");
        assert_eq!(status_line("sync", 500, None, 250.4), "sync: 500 at 250/s");
        assert_eq!(status_line("import", 0, Some(10), 0.0), "import: 0/10 at 0/s, ETA -");
        assert_eq!(eta(10, 10, 5.0), Some(Duration::ZERO));
        assert_eq!(clock(Duration::from_secs(3725)), "1:02:05");
    }

    #[test]
    fn plain_progress_counts_and_sets_its_total() {
        let mut p = Progress::with_terminal("import", None, false);
        p.advance(3);
        p.advance_with(2, "page 2");
        assert_eq!(p.done(), 5);
        assert!(p.eta().is_none(), "no total, no ETA");
        p.set_total(10);
        assert!(p.eta().is_some());
        assert!(p.status().starts_with("import: 5/10 at "), "{}", p.status());
        p.restart();
        assert_eq!(p.done(), 0);
    }
}
