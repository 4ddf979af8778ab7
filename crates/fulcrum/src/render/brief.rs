//! `fulcrum brief` as Markdown (chat and e-mail), HTML (one self-contained
//! file: styles inline, the chart as inline SVG, no script) and PDF
//! (that HTML printed by headless Chromium, the one renderer that runs a
//! program).

use std::fmt::Write as _;

use crate::analyses::brief::{Brief, Kind};

fn kind_title(kind: Kind) -> &'static str {
    match kind {
        Kind::Cost => "Cost of waiting",
        Kind::Risk => "Risk",
        Kind::Opportunity => "Opportunity",
    }
}

/// The brief as Markdown.
pub fn markdown(brief: &Brief) -> String {
    let mut out = format!("# Delivery brief: {}, {} – {}\n\n", brief.scope, brief.since, brief.until);
    if let Some(headline) = &brief.headline {
        let _ = writeln!(out, "**{headline}**\n");
    }
    for key in &brief.keys {
        let tier = key.tier.as_ref().map_or_else(String::new, |t| format!(" ({t} in the DORA benchmarks)"));
        let _ = writeln!(out, "- {}: {}{tier}", key.name, key.value);
    }
    for kind in [Kind::Cost, Kind::Risk, Kind::Opportunity] {
        let findings: Vec<_> = brief.findings.iter().filter(|f| f.kind == kind).collect();
        if findings.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n## {}\n", kind_title(kind));
        for f in findings {
            let _ = writeln!(
                out,
                "- **{}.** {}\n  _{} = {}; from `{}`._",
                f.title, f.sentence, f.unit, f.formula, f.source
            );
        }
    }
    out.push_str("\n## Wins\n\n");
    if brief.wins.is_empty() {
        out.push_str("- None of the keys improved against the previous period of the same length.\n");
    }
    for w in &brief.wins {
        let _ = writeln!(out, "- {}.", w.sentence);
    }
    if !brief.caveats.is_empty() {
        out.push_str("\n## Notes\n\n");
        for c in &brief.caveats {
            let _ = writeln!(out, "- {c}");
        }
    }
    out
}

use super::html_escape as escape;

/// Inline code in a sentence (`a`) as `<code>`.
fn inline(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in escape(text).split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{part}</code>");
        } else {
            out.push_str(part);
        }
    }
    out
}

/// The deployments-per-week chart as inline SVG.
fn chart(weeks: &[(String, u64)]) -> String {
    let (width, height) = (600.0, 90.0);
    let max = weeks.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1) as f64;
    let step = width / weeks.len().max(1) as f64;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"deployments per week\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" data-bars=\"{}\">",
        weeks.len()
    );
    for (i, (week, n)) in weeks.iter().enumerate() {
        let h = *n as f64 / max * (height - 4.0);
        let _ = write!(
            svg,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"#4a6fa5\"><title>{}: {n}</title></rect>",
            i as f64 * step + 1.0,
            height - h,
            (step - 2.0).max(1.0),
            escape(week)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The styles of the standalone file (the server links its stylesheet).
const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:46em;margin:1.5em auto;color:#1d2433;font-size:11pt;line-height:1.4}\
h1{font-size:1.4em;margin:0 0 .4em}h2{font-size:1.1em;margin:1em 0 .3em;border-bottom:1px solid #ccd}\
.formula{color:#556;font-size:.85em}ul{padding-left:1.2em;margin:.3em 0}li{margin:.25em 0}code{font-size:.95em}\
@page{size:A4;margin:12mm}@media print{body{font-size:9.5pt;margin:0 auto}h2{margin:.7em 0 .2em}}";

/// The brief's body: the same for the file and the server's page.
pub fn html_body(brief: &Brief) -> String {
    let mut out = format!(
        "<h1>Delivery brief: {}, {} – {}</h1>\n",
        escape(&brief.scope),
        escape(&brief.since),
        escape(&brief.until)
    );
    if let Some(headline) = &brief.headline {
        let _ = writeln!(out, "<p><strong>{}</strong></p>", escape(headline));
    }
    out.push_str("<ul class=\"keys\">");
    for key in &brief.keys {
        let tier = key.tier.as_ref().map_or_else(String::new, |t| format!(" ({} in the DORA benchmarks)", escape(t)));
        let _ = write!(out, "<li>{}: <strong>{}</strong>{tier}</li>", escape(&key.name), escape(&key.value));
    }
    out.push_str("</ul>\n");
    let _ = write!(
        out,
        "<p class=\"formula\">Deployments per week, {} to {}</p>",
        escape(brief.weekly_deployments.first().map_or("", |w| w.0.as_str())),
        escape(brief.weekly_deployments.last().map_or("", |w| w.0.as_str()))
    );
    out.push_str(&chart(&brief.weekly_deployments));
    for kind in [Kind::Cost, Kind::Risk, Kind::Opportunity] {
        let findings: Vec<_> = brief.findings.iter().filter(|f| f.kind == kind).collect();
        if findings.is_empty() {
            continue;
        }
        let _ = write!(out, "\n<h2>{}</h2><ul>", kind_title(kind));
        for f in findings {
            let _ = write!(
                out,
                "<li data-finding=\"{}\" data-figure=\"{}\"><strong>{}.</strong> {}<br><span class=\"formula\">{} = {}; from <code>{}</code></span></li>",
                escape(&f.title),
                f.figure,
                escape(&f.title),
                inline(&f.sentence),
                escape(&f.unit),
                escape(&f.formula),
                escape(&f.source)
            );
        }
        out.push_str("</ul>");
    }
    out.push_str("\n<h2>Wins</h2><ul>");
    if brief.wins.is_empty() {
        out.push_str("<li>None of the keys improved against the previous period of the same length.</li>");
    }
    for w in &brief.wins {
        let _ = write!(out, "<li data-win=\"{}\">{}.</li>", escape(&w.what), escape(&w.sentence));
    }
    out.push_str("</ul>\n");
    if !brief.caveats.is_empty() {
        out.push_str("<h2>Notes</h2><ul>");
        for c in &brief.caveats {
            let _ = write!(out, "<li>{}</li>", inline(c));
        }
        out.push_str("</ul>\n");
    }
    out
}

/// The brief as one self-contained HTML file.
pub fn html(brief: &Brief) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Delivery brief: {}</title><style>{STYLE}</style></head><body>\n{}</body></html>\n",
        escape(&brief.scope),
        html_body(brief)
    )
}

/// `html` printed to PDF by headless Chromium (Debian's `chromium`).
pub fn pdf(html: &str) -> anyhow::Result<Vec<u8>> {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!("fulcrum-brief-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let _cleanup = RemoveOnDrop(dir.clone());
    let page = dir.join("brief.html");
    let out = dir.join("brief.pdf");
    std::fs::write(&page, html)?;
    let output = std::process::Command::new("chromium")
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-pdf-header-footer"])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg(format!("--print-to-pdf={}", out.display()))
        .arg(format!("file://{}", page.display()))
        .env("HOME", &dir)
        .output();
    let output = match output {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(crate::error::UsageError(
                "--format pdf prints with Chromium, which is not installed (apt-get install chromium); \
                 or use --format html and print that"
                    .into(),
            )
            .into());
        }
        Err(e) => return Err(anyhow::anyhow!("chromium could not be started: {e}")),
    };
    let bytes = std::fs::read(&out).map_err(|_| {
        anyhow::anyhow!(
            "chromium printed no PDF: {}",
            String::from_utf8_lossy(&output.stderr).lines().last().unwrap_or("")
        )
    })?;
    Ok(bytes)
}

/// Removes a directory when dropped.
struct RemoveOnDrop(std::path::PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_become_code_and_text_is_escaped() {
        assert_eq!(inline("62% of `billing/` <b>"), "62% of <code>billing/</code> &lt;b&gt;");
    }

    #[test]
    fn the_chart_has_a_bar_per_week() {
        let svg = chart(&[("2025-W01".into(), 2), ("2025-W02".into(), 0)]);
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains("<title>2025-W01: 2</title>"));
    }
}
