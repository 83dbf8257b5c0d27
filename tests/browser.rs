//! `simkit report` in a real browser: headless Chromium (Debian's package)
//! opens the report of a small dataset of every kind from disk, with the
//! network closed, and must log no console error and take a screenshot
//! that is not blank; a page of the test's own beside a copy of the report
//! loads every image the report lists and must find each one decoded. Needs Chromium
//! (SIMKIT_CHROMIUM, else /usr/bin/chromium) and a Python with Pillow
//! (SIMKIT_PYTHON) to read the screenshot; without them the tests show as
//! ignored with the reason, unless SIMKIT_REQUIRE_BROWSER=1 makes them fail.

mod common;

use std::path::{Path, PathBuf};

use common::*;

fn chromium() -> PathBuf {
    std::env::var_os("SIMKIT_CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

fn python() -> String {
    std::env::var("SIMKIT_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// What the suite needs, or why it cannot run.
fn needs() -> Result<(), String> {
    let browser = std::process::Command::new(chromium()).arg("--version").output();
    if !browser.is_ok_and(|o| o.status.success()) {
        return Err(format!("no Chromium at {} (apt install chromium, or set SIMKIT_CHROMIUM)", chromium().display()));
    }
    let pillow = std::process::Command::new(python()).args(["-c", "import PIL"]).output();
    if !pillow.is_ok_and(|o| o.status.success()) {
        return Err(format!("{} cannot import PIL (pip install pillow, or set SIMKIT_PYTHON)", python()));
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let tests: &[(&'static str, fn())] = &[(
        "every_kinds_report_renders_in_chromium_without_errors",
        every_kinds_report_renders_in_chromium_without_errors,
    )];
    external_suite(needs(), env_flag("SIMKIT_REQUIRE_BROWSER"), tests)
}

/// Headless Chromium with a fresh profile, no network of its own and its console on stderr.
fn headless(profile: &Path) -> std::process::Command {
    let mut c = std::process::Command::new(chromium());
    c.args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"])
        .args(["--disable-background-networking", "--disable-component-update", "--disable-sync"])
        .args(["--enable-logging=stderr", "--v=0"])
        .arg(format!("--user-data-dir={}", profile.display()));
    c
}

/// Chromium's console lines and a screenshot of `page`.
fn open_in_chromium(page: &Path, shot: &Path, profile: &Path) -> String {
    let out = headless(profile)
        .args(["--window-size=1100,2400", "--hide-scrollbars"])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(out.status.success(), "chromium: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Chromium's console lines and the page's DOM once its scripts have run.
fn dom_in_chromium(page: &Path, profile: &Path) -> (String, String) {
    let out = headless(profile)
        .args(["--virtual-time-budget=20000", "--dump-dom"])
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(out.status.success(), "chromium: {}", String::from_utf8_lossy(&out.stderr));
    (String::from_utf8_lossy(&out.stderr).into_owned(), String::from_utf8_lossy(&out.stdout).into_owned())
}

/// How many of the report's images Chromium decodes: a copy of the report
/// with a page that loads each image the report lists and writes the count.
fn images_decoded(report: &Path, copy: &Path, profile: &Path) -> (usize, usize, String) {
    std::fs::create_dir_all(copy).unwrap();
    for e in std::fs::read_dir(report).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), copy.join(e.file_name())).unwrap();
    }
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("report.json")).unwrap()).unwrap();
    let images: Vec<String> = index["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f.as_str())
        .filter(|f| f.ends_with(".svg"))
        .map(String::from)
        .collect();
    let page = format!(
        "<!DOCTYPE html><html><head><title>loading</title></head><body><p id=\"out\">loading</p><script>\n\
         const names = {};\nlet decoded = 0, settled = 0;\n\
         for (const n of names) {{ const im = new Image();\n\
           im.onload = () => {{ if (im.naturalWidth > 0) decoded++; else console.error('empty ' + n); done(); }};\n\
           im.onerror = () => {{ console.error('broken ' + n); done(); }};\n\
           im.src = n; }}\n\
         function done() {{ settled++; if (settled === names.length) document.getElementById('out').textContent = 'decoded ' + decoded + ' of ' + names.length; }}\n\
         </script></body></html>",
        serde_json::to_string(&images).unwrap()
    );
    std::fs::write(copy.join("check.html"), page).unwrap();
    let (log, dom) = dom_in_chromium(&copy.join("check.html"), profile);
    let decoded =
        dom.split("decoded ").nth(1).and_then(|t| t.split(' ').next()).and_then(|n| n.parse().ok()).unwrap_or(0);
    (decoded, images.len(), log)
}

/// The share of the screenshot's pixels that are not white, and its colours.
fn ink(shot: &Path) -> (f64, usize) {
    let script = "import sys\nfrom PIL import Image\nim = Image.open(sys.argv[1]).convert('RGB')\n\
                  px = list(im.getdata())\nprint(sum(p != (255, 255, 255) for p in px) / len(px), len(set(px)))";
    let out = std::process::Command::new(python()).args(["-c", script]).arg(shot).output().expect("run python");
    let text = String::from_utf8_lossy(&out.stdout);
    let (share, colours) =
        text.trim().split_once(' ').unwrap_or_else(|| panic!("{text}{}", String::from_utf8_lossy(&out.stderr)));
    (share.parse().unwrap(), colours.parse().unwrap())
}

fn every_kinds_report_renders_in_chromium_without_errors() {
    let tmp = tempfile::tempdir().unwrap();
    for (scenario, run) in REPORTED {
        let dir = tmp.path().join(scenario);
        generate_and_report(&dir, scenario, run);
        let shot = tmp.path().join(format!("{scenario}.png"));
        let log =
            open_in_chromium(&dir.join("report/index.html"), &shot, &tmp.path().join(format!("profile-{scenario}")));
        let errors: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("CONSOLE") || l.contains("Failed to load") || l.contains("ERR_FILE"))
            .collect();
        assert!(errors.is_empty(), "{scenario}: the browser logged {errors:#?}");
        let (decoded, listed, log) = images_decoded(
            &dir.join("report"),
            &tmp.path().join(format!("copy-{scenario}")),
            &tmp.path().join(format!("dom-{scenario}")),
        );
        assert!(listed >= 3 && decoded == listed, "{scenario}: {decoded} of {listed} images decoded; {log}");
        assert!(!log.contains("CONSOLE"), "{scenario}: {log}");
        let (share, colours) = ink(&shot);
        assert!(share > 0.02 && colours > 16, "{scenario}: a blank screenshot ({share} not white, {colours} colours)");
        println!("{scenario}: rendered, {decoded} images decoded, {:.0} % ink, {colours} colours", share * 100.0);
    }
}
