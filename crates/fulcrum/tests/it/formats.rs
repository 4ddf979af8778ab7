//! Snapshots of the three report formats of `delivery` (numbers checked in
//! `dora.rs`; these pin the layout), and of the sync summary line.

use crate::harness::{Scratch, fulcrum, repo, s};
use crate::snapshot::assert_snapshot;

fn report(test: &str, format: &str) -> String {
    let scratch = Scratch::new(test);
    let run = fulcrum(["report", "--repo", s(&repo("delivery")), "--db", s(&scratch.db()), "--format", format]).ok();
    assert_eq!(run.stderr, "", "report prints nothing on stderr when stderr is not a terminal");
    run.stdout
}

#[test]
fn terminal_report_without_colour() {
    let text = report("terminal_report", "terminal");
    assert!(!text.contains('\x1b'), "no escape codes when stdout is not a terminal");
    assert_snapshot("report_terminal", &text);
}

#[test]
fn json_report() {
    assert_snapshot("report_json", &report("json_report", "json"));
}

#[test]
fn markdown_report() {
    assert_snapshot("report_markdown", &report("markdown_report", "markdown"));
}

#[test]
fn sync_summary_lines() {
    let scratch = Scratch::new("sync_summary_lines");
    let (delivery, db) = (repo("delivery"), scratch.db());
    let args = ["sync", "--repo", s(&delivery), "--db", s(&db)];
    let first = fulcrum(args).ok();
    let second = fulcrum(args).ok();
    assert_eq!(first.stdout, "");
    assert_snapshot("sync_summary", &format!("{}{}", first.stderr, second.stderr));
}
