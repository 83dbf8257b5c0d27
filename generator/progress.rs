//! Progress bars on stderr (indicatif), one per stage. Hidden with `--quiet`
//! or when stderr is not a terminal, so logs and CI output stay clean.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

#[derive(Clone, Copy)]
pub struct Progress {
    quiet: bool,
    visible: bool,
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        Progress { quiet, visible: !quiet && std::io::stderr().is_terminal() }
    }

    /// A bar for one stage with `len` steps.
    pub fn stage(&self, name: &str, len: u64) -> ProgressBar {
        if !self.visible {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{prefix:>10} [{bar:30}] {pos}/{len} {msg}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_prefix(name.to_string());
        bar
    }

    /// A message line (warnings), unless quiet.
    pub fn warn(&self, msg: &str) {
        if !self.quiet {
            eprintln!("warning: {msg}");
        }
    }
}
