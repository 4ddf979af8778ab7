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

/// Terminal output fits 80 columns when piped (COLUMNS unset), and follows
/// COLUMNS when it is set: prose wraps, the hotspot path column shrinks.
#[test]
fn terminal_output_fits_the_width() {
    let scratch = Scratch::new("terminal_width");
    let (delivery, team, db) = (repo("delivery"), repo("team"), scratch.db());
    crate::harness::sync(&delivery, &db);
    crate::harness::sync(&team, &db);
    let commands: [Vec<&str>; 5] = [
        vec!["report", "--repo", s(&delivery), "--no-sync"],
        vec!["knowledge", "--repo", s(&team), "--no-sync", "--by-directory", "--leaving", "carol@team.example"],
        vec!["hotspots", "--repo", s(&team), "--no-sync"],
        vec!["flow", "--repo", s(&delivery), "--no-sync"],
        vec!["explain", "change-failure-rate"],
    ];
    for args in &commands {
        let mut all = args.clone();
        all.extend(["--db", s(&db)]);
        let text = fulcrum(&all).ok().stdout;
        let widest = text.lines().map(|l| l.chars().count()).max().unwrap_or(0);
        assert!(widest <= 80, "{args:?}: a line of {widest} columns:\n{text}");
        let wide = crate::harness::run(crate::harness::command(&all).env("COLUMNS", "160")).ok().stdout;
        assert!(wide.lines().count() <= text.lines().count(), "{args:?}: wider is not longer");
    }
    let narrow = crate::harness::run(crate::harness::command(["explain", "lead-time"]).env("COLUMNS", "50")).ok();
    assert!(narrow.stdout.lines().all(|l| l.chars().count() <= 50), "{}", narrow.stdout);
}

/// Colour in every command on a terminal (forced here with CLICOLOR_FORCE),
/// never with NO_COLOR, never when piped.
#[test]
fn colour_in_every_command_only_when_asked() {
    let scratch = Scratch::new("colour_everywhere");
    let (delivery, team, db) = (repo("delivery"), repo("team"), scratch.db());
    crate::harness::sync(&delivery, &db);
    crate::harness::sync(&team, &db);
    let commands: [Vec<&str>; 5] = [
        vec!["report", "--repo", s(&delivery), "--no-sync"],
        vec!["knowledge", "--repo", s(&team), "--no-sync"],
        vec!["hotspots", "--repo", s(&team), "--no-sync"],
        vec!["flow", "--repo", s(&delivery), "--no-sync"],
        vec!["check", "--repo", s(&delivery), "--no-sync", "--fail-if", "lead_time > 1d"],
    ];
    for args in &commands {
        let mut all = args.clone();
        all.extend(["--db", s(&db)]);
        let forced =
            crate::harness::run(crate::harness::command(&all).env_remove("NO_COLOR").env("CLICOLOR_FORCE", "1"));
        assert!(forced.stdout.contains("\x1b[1m"), "{args:?}: no colour when forced:\n{}", forced.stdout);
        let plain = crate::harness::run(crate::harness::command(&all).env("CLICOLOR_FORCE", "1"));
        assert!(!plain.stdout.contains('\x1b'), "{args:?}: colour despite NO_COLOR");
        let piped = crate::harness::run(crate::harness::command(&all).env_remove("NO_COLOR"));
        assert!(!piped.stdout.contains('\x1b'), "{args:?}: colour when piped");
    }
}

/// The library gives the front ends the same numbers: `app::report` for a
/// window and database renders, byte for byte, what `fulcrum report
/// --format json` prints for them (the team server will serve the same).
#[test]
fn the_library_report_is_the_command_line_report() {
    let scratch = Scratch::new("library_report");
    let (delivery, db) = (repo("delivery"), scratch.db());
    crate::harness::sync(&delivery, &db);
    let cli = fulcrum([
        "report",
        "--repo",
        s(&delivery),
        "--db",
        s(&db),
        "--no-sync",
        "--format",
        "json",
        "--since",
        "2024-12-01",
    ])
    .ok()
    .stdout;
    let context = fulcrum::app::Context {
        db: crate::harness::database(&db).into(),
        config: None,
        now: crate::harness::utc(&format!("{} 00:00", crate::harness::NOW)),
    };
    let request = fulcrum::app::ReportRequest {
        repos: vec![delivery.clone()],
        window: fulcrum::app::WindowRequest { since: Some("2024-12-01".into()), until: None },
        knowledge: true,
        ..Default::default()
    };
    let outcome = fulcrum::app::report(&context, &request).unwrap();
    let library = fulcrum::render::report(
        &outcome.analysis,
        outcome.sync.as_ref(),
        outcome.knowledge.as_ref(),
        fulcrum::render::Format::Json,
        false,
    );
    assert_eq!(library, cli);
}
