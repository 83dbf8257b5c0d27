//! Progress bars and warnings on stderr (indicatif). Bars show on a
//! terminal only, one per stage, counting the unit they name (locations,
//! location-days, tables); warnings print above a running bar instead of
//! breaking it. `--quiet` hides both.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

#[derive(Clone)]
pub struct Progress {
    quiet: bool,
    /// The bars' drawing area, when bars are shown.
    bars: Option<MultiProgress>,
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        let visible = !quiet && std::io::stderr().is_terminal();
        Progress { quiet, bars: visible.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())) }
    }

    /// A bar for one stage of `len` steps of `unit`.
    pub fn stage(&self, name: &str, unit: &str, len: u64) -> ProgressBar {
        let Some(bars) = &self.bars else { return ProgressBar::hidden() };
        let bar = bars.add(ProgressBar::new(len));
        bar.set_style(
            ProgressStyle::with_template(&format!("{{prefix:>10}} [{{bar:30}}] {{pos}}/{{len}} {unit} {{msg}}"))
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix(name.to_string());
        bar
    }

    /// A warning line, unless quiet; above the bars while they are drawn.
    pub fn warn(&self, msg: &str) {
        if self.quiet {
            return;
        }
        let line = format!("warning: {msg}");
        match &self.bars {
            Some(bars) if bars.println(&line).is_ok() => {}
            _ => eprintln!("{line}"),
        }
    }
}
