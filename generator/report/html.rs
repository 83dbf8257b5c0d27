//! The report page: one HTML file with its style inline, the headline
//! table and each figure as an `<img>` of the SVG beside it. No script, no
//! network: it opens offline in any browser.

use std::fmt::Write as _;

use super::figure::Report;

/// Text safe inside HTML elements and attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em auto;max-width:1000px;color:#222}\
table{border-collapse:collapse;margin:1em 0}td,th{padding:.3em .9em;border-bottom:1px solid #ddd;text-align:left}\
td.n{text-align:right;font-variant-numeric:tabular-nums}figure{margin:2em 0}\
figure img{max-width:100%;border:1px solid #eee}figcaption{color:#555;margin-top:.4em}";

/// The page of `r`, whose figures are `<id>.svg` beside it.
pub fn page(r: &Report) -> String {
    let mut h = String::new();
    let title = format!("{} ({})", r.scenario, r.kind);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <style>{STYLE}</style></head>\n<body>\n<h1>{t}</h1>\n<p>Dataset fingerprint <code>{f}</code>.</p>\n",
        t = escape(&title),
        f = escape(&r.fingerprint)
    );
    h.push_str("<table id=\"headline\">\n");
    for n in &r.headline {
        let _ = writeln!(h, "<tr><th>{}</th><td class=\"n\">{}</td></tr>", escape(&n.name), escape(&n.shown()));
    }
    h.push_str("</table>\n");
    for f in &r.figures {
        let _ = write!(
            h,
            "<figure id=\"{id}\"><img src=\"{id}.svg\" alt=\"{t}\" width=\"960\"><figcaption><b>{t}</b>",
            id = escape(&f.id),
            t = escape(&f.title)
        );
        if !f.note.is_empty() {
            let _ = write!(h, " {}", escape(&f.note));
        }
        h.push_str("</figcaption></figure>\n");
    }
    h.push_str("</body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::figure::{Chart, Figure, Headline};

    #[test]
    fn the_page_lists_the_headline_and_every_figure_escaped() {
        let r = Report {
            scenario: "a<b".into(),
            kind: "retail".into(),
            fingerprint: "f".into(),
            headline: vec![Headline::new("orders", 1200.0, "")],
            figures: vec![Figure {
                id: "x".into(),
                title: "T & U".into(),
                note: String::new(),
                chart: Chart::Bars { x: String::new(), y: String::new(), bars: Vec::new() },
            }],
        };
        let p = page(&r);
        assert!(p.contains("<title>a&lt;b (retail)</title>") && p.contains("<td class=\"n\">1,200</td>"), "{p}");
        assert!(p.contains("<img src=\"x.svg\" alt=\"T &amp; U\""), "{p}");
    }
}
