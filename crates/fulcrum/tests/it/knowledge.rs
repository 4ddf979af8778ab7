//! `fulcrum knowledge` and `fulcrum hotspots` on the `team`, `onefile` and
//! `alldocs` fixtures (tests/fixtures/make-repos.sh), with every expected
//! value worked out by hand below from METRICS.md, "Knowledge".
//!
//! DOA = 3.293 + 1.098·FA + 0.164·DL − 0.321·ln(1 + AC); author when
//! DOA/max > 0.75 and DOA ≥ 3.293. ln 2 = 0.6931, ln 3 = 1.0986,
//! ln 4 = 1.3863, so 0.321·ln(1+AC) is 0.2225 (AC 1), 0.3527 (AC 2),
//! 0.4450 (AC 3). A rename counts as one change (DL) by whoever renames
//! (fulcrum-core `authorship`); the creating commit only as FA.
//!
//! People of `team`, identities merged: Alice (alice@team.example), Bob
//! (bob@home.example merged into bob@team.example by `.mailmap`), Carol
//! (carol@old.example merged into carol@team.example by the alias in the
//! untracked fulcrum.toml), Erin (no e-mail), dependabot[bot] (a bot, never
//! an author). Person order, which breaks ties, is first appearance:
//! Alice, Bob, Carol, Erin, bot.
//!
//! Files at HEAD: 15 in the tree; left out README.md and docs/guide.md
//! (documentation), vendor/lib.js (vendored), assets/logo.png (binary),
//! .mailmap (no language); 10 analysed:
//!
//! | file            | history (after creation)                       | DOA                               | authors |
//! |-----------------|------------------------------------------------|-----------------------------------|---------|
//! | build.rs        | A creates; bot 1 (left out: neither DL nor AC) | A 4.391 (counted, the bot's change would make 4.1685) | A |
//! | core/eval.rs    | B(home) creates; B(team) 1 — one person        | B 4.555                           | B |
//! | core/lib.rs     | A creates; A 1, C 2                            | A 4.555−.3527 = 4.2024, C 3.621−.2225 = 3.3985 (0.809) | A, C |
//! | core/parser.rs  | B creates parse.rs; A renames; C 2             | B 4.391−.4450 = 3.946, A 3.457−.3527 = 3.104 (< 3.293), C 3.3985 (0.861) | B, C |
//! | tools/gen.py    | Erin creates                                   | E 4.391                           | E |
//! | web/a.py        | old web/b.py: A creates; B renames b→a         | A 4.1685, B 3.457 (0.829)         | A, B |
//! | web/app.py      | C(old) creates; C 1 (branch), A 1, C 1; merge ignored | C 4.719−.2225 = 4.4965, A 3.104 | C |
//! | web/b.py        | old web/a.py: A creates; B renames a→tmp, tmp→b | A 4.391−.3527 = 4.0383, B 3.621 (0.897) | A, B |
//! | web/forms.py    | C creates and changes on a branch; merge by A ignored | C 4.555                    | C |
//! | web/views.py    | C(old) creates; A 1, C 1                       | C 4.555−.2225 = 4.3325, A 3.2345  | C |
//!
//! Files authored: Carol 5 (lib, parser, app, forms, views), Alice 4 (build,
//! lib, a, b), Bob 4 (eval, parser, a, b), Erin 1. Greedy: remove Carol →
//! app, forms, views orphaned, 7/10 covered (≥ 50%); Alice (ties Bob,
//! earlier person) → build, lib orphaned, 5/10 = exactly 50%, not fewer;
//! Bob → only gen.py, 1/10. **Truck factor 3**: Carol 5 (0.5), Alice 4
//! (0.4), Bob 4 (0.4).
//!
//! Fragmentation, `1 − Σ share²` over change counts with the creation
//! counted as one: web/app.py C 3, A 1 → 1 − 10/16 = 0.375; core/parser.rs
//! B 1, A 1, C 2 → 0.625; web/b.py A 1, B 2 → 4/9.

use std::path::Path;

use serde_json::{Value, json};

use crate::harness::{Run, Scratch, fulcrum, git_read, open_db, repo, s, utc};
use crate::snapshot::assert_snapshot;

/// Runs `fulcrum knowledge --repo REPO --db DB EXTRA...`, asserting no panic.
fn knowledge(repo: &Path, db: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["knowledge", "--repo", s(repo), "--db", s(db)];
    args.extend_from_slice(extra);
    let run = fulcrum(args);
    assert!(!run.stderr.contains("panicked"), "panic:\n{}", run.stderr);
    run
}

/// `knowledge --format json`, which must succeed.
fn knowledge_json(repo: &Path, db: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["--format", "json"];
    args.extend_from_slice(extra);
    knowledge(repo, db, &args).ok().json()
}

/// Runs `fulcrum hotspots --repo REPO --db DB EXTRA...`, asserting no panic.
fn hotspots(repo: &Path, db: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["hotspots", "--repo", s(repo), "--db", s(db)];
    args.extend_from_slice(extra);
    let run = fulcrum(args);
    assert!(!run.stderr.contains("panicked"), "panic:\n{}", run.stderr);
    run
}

/// `(e-mail, files authored, share)` of the key people, shares rounded to
/// six decimals (serde_json's float parsing is not exact to the last bit).
fn key_people(report: &Value) -> Vec<(String, u64, f64)> {
    report["key_people"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["person"]["email"].as_str().unwrap().to_owned(),
                k["files_authored"].as_u64().unwrap(),
                round6(k["share"].as_f64().unwrap()),
            )
        })
        .collect()
}

/// Per file of the knowledge map: `(path, authors' names, main author's name)`.
fn file_authors(report: &Value) -> Vec<(String, Vec<String>, Option<String>)> {
    report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_owned(),
                f["authors"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap().to_owned()).collect(),
                f["main_author"]["name"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

fn file<'a>(report: &'a Value, path: &str) -> &'a Value {
    report["files"].as_array().unwrap().iter().find(|f| f["path"] == path).unwrap_or_else(|| panic!("no {path}"))
}

/// The `path` of each row.
fn paths(rows: &Value) -> Vec<String> {
    rows.as_array().unwrap().iter().map(|r| r["path"].as_str().unwrap().to_owned()).collect()
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| (*v).to_owned()).collect()
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn team_truck_factor_key_people_and_single_author_files() {
    let scratch = Scratch::new("knowledge_team");
    let report = knowledge_json(&repo("team"), &scratch.db(), &[]);
    assert_eq!(report["commit"], git_read(&repo("team"), &["rev-parse", "HEAD"]));
    assert_eq!(report["files_in_tree"], 15);
    assert_eq!(report["files_analysed"], 10);
    assert_eq!(
        report["files_excluded"],
        json!([["binary", 1], ["documentation", 2], ["no_language", 1], ["vendored", 1]])
    );
    assert_eq!(report["truck_factor"], 3);
    assert_eq!(
        key_people(&report),
        vec![
            ("carol@team.example".to_owned(), 5, 0.5),
            ("alice@team.example".to_owned(), 4, 0.4),
            ("bob@team.example".to_owned(), 4, 0.4),
        ]
    );
    // Most changed first, each with its author: app.py (created, then C 1,
    // A 1, C 1: 4), views.py (3), eval.rs and forms.py (2), build.rs (the
    // bot's edit left out) and gen.py (1); ties by path.
    let single: Vec<(String, String, u64)> = report["single_author_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_owned(),
                f["author"]["name"].as_str().unwrap().to_owned(),
                f["changes"].as_u64().unwrap(),
            )
        })
        .collect();
    let row = |p: &str, a: &str, n: u64| (p.to_owned(), a.to_owned(), n);
    assert_eq!(
        single,
        [
            row("web/app.py", "Carol Chen", 4),
            row("web/views.py", "Carol Chen", 3),
            row("core/eval.rs", "Bob Builder", 2),
            row("web/forms.py", "Carol Chen", 2),
            row("build.rs", "Alice Archer", 1),
            row("tools/gen.py", "Erin", 1),
        ]
    );
    assert_eq!(report["files_without_author"], 0);
    assert_eq!(report["warnings"], json!([]));
    assert_eq!(report["directories"], Value::Null, "only with --by-directory");
    assert_eq!(report["departure"], Value::Null, "only with --leaving");
}

#[test]
fn team_knowledge_map_follows_renames_merges_identities_and_bots() {
    let scratch = Scratch::new("knowledge_team_map");
    let run = knowledge(&repo("team"), &scratch.db(), &["--format", "json"]).ok();
    let report = run.json();
    let (a, b, c, e) = ("Alice Archer", "Bob Builder", "Carol Chen", "Erin");
    let expected: Vec<(String, Vec<String>, Option<String>)> = [
        // The bot's change would make it an author (0.829): bots never are.
        ("build.rs", vec![a], a),
        // Two e-mails of Bob, merged by .mailmap: one creator who changed it once.
        ("core/eval.rs", vec![b], b),
        ("core/lib.rs", vec![a, c], a),
        // Renamed by Alice after Bob created it: Bob keeps first authorship.
        ("core/parser.rs", vec![b, c], b),
        // An author without an e-mail.
        ("tools/gen.py", vec![e], e),
        // The rename cycle: a→tmp, b→a, tmp→b; both created by Alice.
        ("web/a.py", vec![a, b], a),
        // Carol's two e-mails merged by the configured alias.
        ("web/app.py", vec![c], c),
        ("web/b.py", vec![a, b], a),
        // Alice's merge commit is ignored: Carol created it on the branch.
        ("web/forms.py", vec![c], c),
        ("web/views.py", vec![c], c),
    ]
    .into_iter()
    .map(|(path, authors, main)| (path.to_owned(), strings(&authors), Some(main.to_owned())))
    .collect();
    assert_eq!(file_authors(&report), expected);
    // Merged identities appear under their canonical e-mail only; the bot
    // and the deleted core/old.rs appear nowhere.
    for absent in ["bob@home.example", "carol@old.example", "dependabot", "core/old.rs", "core/parse.rs"] {
        assert!(!run.stdout.contains(absent), "{absent} in the report");
    }
    let erin = &file(&report, "tools/gen.py")["authors"][0];
    assert_eq!((erin["name"].as_str(), erin["email"].as_str()), (Some("Erin"), Some("")));
    // Fragmentation: app.py C 3, A 1 → 0.375; parser.rs B 1, A 1, C 2 →
    // 0.625; b.py A 1, B 2 → 4/9; eval.rs one person → 0.
    let fragmentation = |path: &str| file(&report, path)["fragmentation"].as_f64().unwrap();
    assert!(close(fragmentation("web/app.py"), 0.375));
    assert!(close(fragmentation("core/parser.rs"), 0.625));
    assert!(close(fragmentation("web/b.py"), 4.0 / 9.0));
    assert!(close(fragmentation("core/eval.rs"), 0.0));
}

// directory, files, truck factor, key people, main author, authors, single author
type DirectoryRow = (String, u64, u64, Vec<String>, Option<String>, u64, bool);

/// Per directory at depth 1, sorted by name.
///
/// - `.`: build.rs [A] → TF 1, single author Alice.
/// - core: eval [B], lib [A, C], parser [B, C]; Bob 2, Carol 2, Alice 1.
///   Remove Bob (tie, earlier person): lib and parser covered, 2/3 ≥ 50%;
///   Carol: lib only, 1/3 → TF 2 [Bob, Carol]. Fragmentation: eval B 2; lib
///   A 2, C 2; parser B 1, A 1, C 2 → A 3, B 3, C 4 of 10 → 1 − 0.34 = 0.66.
/// - tools: gen.py [Erin] → TF 1, single author, fragmentation 0.
/// - web: a [A, B], app [C], b [A, B], forms [C], views [C]; Carol 3,
///   Alice 2, Bob 2. Remove Carol: 2/5 covered < 50% → TF 1 [Carol].
///   Fragmentation: a A 1 B 1; app C 3 A 1; b A 1 B 2; forms C 2; views C 2
///   A 1 → A 4, B 3, C 7 of 14 → 1 − 74/196 = 61/98.
#[test]
fn team_by_directory() {
    let scratch = Scratch::new("knowledge_team_by_directory");
    let report = knowledge_json(&repo("team"), &scratch.db(), &["--by-directory", "--depth", "1"]);
    let rows: Vec<DirectoryRow> = report["directories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["directory"].as_str().unwrap().to_owned(),
                d["files"].as_u64().unwrap(),
                d["truck_factor"].as_u64().unwrap(),
                d["key_people"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_owned()).collect(),
                d["main_author"]["name"].as_str().map(str::to_owned),
                d["authors"].as_u64().unwrap(),
                d["single_author"].as_bool().unwrap(),
            )
        })
        .collect();
    let row = |dir: &str, files, tf, key: &[&str], main: &str, authors, single| {
        (dir.to_owned(), files, tf, strings(key), Some(main.to_owned()), authors, single)
    };
    assert_eq!(
        rows,
        vec![
            // Riskiest first: the lowest truck factor, then the most files, then the name.
            row("web", 5, 1, &["Carol Chen"], "Carol Chen", 3, false),
            row(".", 1, 1, &["Alice Archer"], "Alice Archer", 1, true),
            row("tools", 1, 1, &["Erin"], "Erin", 1, true),
            row("core", 3, 2, &["Bob Builder", "Carol Chen"], "Bob Builder", 3, false),
        ]
    );
    let fragmentation = |dir: &str| {
        let dirs = report["directories"].as_array().unwrap();
        dirs.iter().find(|d| d["directory"] == dir).unwrap()["fragmentation"].as_f64().unwrap()
    };
    assert!(close(fragmentation("core"), 0.66), "core {}", fragmentation("core"));
    assert!(close(fragmentation("tools"), 0.0));
    assert!(close(fragmentation("web"), 61.0 / 98.0), "web {}", fragmentation("web"));
}

#[test]
fn team_departure_impact() {
    let scratch = Scratch::new("knowledge_team_departure");
    let (team, db) = (repo("team"), scratch.db());
    // Carol alone authors app.py, forms.py and views.py: 3 of 10, all in
    // web. Erin's last commit (2024-01-12) is more than knowledge.inactive_after
    // (12 months) before now (2025-03-01): she counts as gone too, so her
    // tools/gen.py is orphaned as well: 4 of 10.
    let report = knowledge_json(&team, &db, &["--leaving", "carol@team.example"]);
    assert_eq!(
        report["departure"],
        json!({
            "leaving": [{"name": "Carol Chen", "email": "carol@team.example"}],
            "orphaned": 4,
            "files": 10,
            "share": 0.4,
            "orphaned_files": ["tools/gen.py", "web/app.py", "web/forms.py", "web/views.py"],
            "directories": [["web", 3, 5], ["tools", 1, 1]],
            "inactive_counted_as_gone": [{"name": "Erin", "email": ""}],
            "orphaned_by_inactivity": 1,
        })
    );
    // With inactivity switched off (as published), Erin still covers her file.
    let config = scratch.path("published.toml");
    let text = std::fs::read_to_string(team.join("fulcrum.toml")).unwrap();
    std::fs::write(&config, format!("{text}\n[knowledge]\ninactive_after = \"0\"\n")).unwrap();
    let published =
        knowledge_json(&team, &db, &["--no-sync", "--leaving", "carol@team.example", "--config", s(&config)]);
    assert_eq!(published["departure"]["orphaned"], 3);
    assert_eq!(published["departure"]["inactive_counted_as_gone"], json!([]));
    assert_eq!(published["active"], Value::Null);
    // The active truck factor: Erin gone, gen.py has no author (9 of 10
    // covered); removing Carol leaves 6, Alice 4 (< 5): 2.
    let active = &report["active"];
    assert_eq!(active["truck_factor"], 2);
    assert_eq!(
        active["counted_as_gone"],
        json!([{"person": {"name": "Erin", "email": ""}, "last_active": utc("2024-01-12 09:00"), "files_authored": 1}])
    );
    assert_eq!(active["orphaned_files"], 1);
    assert_eq!(report["truck_factor"], 3, "the published figure stays");
    assert_eq!(report["key_people"][0]["last_active"], utc("2025-01-15 09:00"), "Carol, C16");
}

#[test]
fn team_departure_of_unknown_person_is_bad_input() {
    let scratch = Scratch::new("knowledge_team_unknown_person");
    let run = knowledge(&repo("team"), &scratch.db(), &["--leaving", "nobody@x"]);
    run.bad_input(&["nobody@x", "--leaving"]);
}

/// At tag v1 (C7) the tree has 9 analysed files, parse.rs not yet renamed,
/// nothing of 2025: build [A], eval [B], lib [A] (A created and changed
/// it), parse [B], gen [E], a [A], app [C], b [A], views [C]. Alice 4, Bob 2,
/// Carol 2, Erin 1. Remove Alice: 5/9 ≥ 50%; Bob (ties Carol): 3/9 → TF 2.
#[test]
fn team_at_an_older_revision() {
    let scratch = Scratch::new("knowledge_team_at_v1");
    let (team, db) = (repo("team"), scratch.db());
    let v1 = git_read(&team, &["rev-parse", "v1"]);
    let expected_people = vec![
        ("alice@team.example".to_owned(), 4, round6(4.0 / 9.0)),
        ("bob@team.example".to_owned(), 2, round6(2.0 / 9.0)),
    ];
    for at in ["v1", "refs/tags/v1", &v1, &v1[..10]] {
        let report = knowledge_json(&team, &db, &["--at", at]);
        assert_eq!(report["commit"], v1.as_str(), "--at {at}");
        assert_eq!(report["files_analysed"], 9);
        assert_eq!(report["truck_factor"], 2, "--at {at}");
        assert_eq!(key_people(&report), expected_people);
        assert_eq!(report["files"][3]["path"], "core/parse.rs");
    }
    // A branch name works too, and HEAD is the default.
    let head = knowledge_json(&team, &db, &["--no-sync", "--at", "main"]);
    assert_eq!(head["truck_factor"], 3);
}

#[test]
fn unknown_revision_is_bad_input() {
    let scratch = Scratch::new("knowledge_unknown_revision");
    let (team, db) = (repo("team"), scratch.db());
    knowledge(&team, &db, &["--at", "deadbeef"]).bad_input(&["deadbeef", "--at"]);
    knowledge(&team, &db, &["--no-sync", "--at", "no-such-branch"]).bad_input(&["no-such-branch", "--at"]);
    knowledge(&team, &db, &["--no-sync", "--at", "0000"]).bad_input(&["0000"]);
}

/// Without the alias (an empty configuration file) Carol is two people.
/// carol@old.example created app.py and views.py; carol@team.example
/// changed app.py twice (F2, C16) and views.py once. app.py: old 4.391 −
/// .4450 = 3.946, new 3.621 − .2225 = 3.3985 (0.861) → both; views.py: old
/// 4.391 − .3527 = 4.0383, new 3.2345 → old only. lib.rs and parser.rs
/// keep the new e-mail, forms.py too. Files authored: Alice 4, Bob 4,
/// Carol (new) 4, Carol (old) 2, Erin 1. Remove Alice, Bob (9, then 6 of 10
/// covered), Carol (new): app.py (old), views.py, gen.py left, 3/10 → TF 3.
#[test]
fn team_without_the_alias_counts_carol_twice() {
    let scratch = Scratch::new("knowledge_team_no_alias");
    let config = scratch.path("empty.toml");
    std::fs::write(&config, "").unwrap();
    let report = knowledge_json(&repo("team"), &scratch.db(), &["--config", s(&config)]);
    assert_eq!(report["truck_factor"], 3);
    assert_eq!(
        key_people(&report),
        vec![
            ("alice@team.example".to_owned(), 4, 0.4),
            ("bob@team.example".to_owned(), 4, 0.4),
            ("carol@team.example".to_owned(), 4, 0.4),
        ]
    );
    let emails = |path: &str| -> Vec<String> {
        file(&report, path)["authors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["email"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(emails("web/app.py"), strings(&["carol@old.example", "carol@team.example"]));
    assert_eq!(emails("web/views.py"), strings(&["carol@old.example"]));
}

/// `knowledge.require_language = false` adds .mailmap (created by Alice,
/// never changed: author Alice). 11 files; Alice 5, Carol 5 (Alice first,
/// earlier person). Remove Alice: 9/11; Carol: eval, parser, gen, a, b left,
/// 5/11 < 50% → TF 2.
#[test]
fn team_without_the_language_rule() {
    let scratch = Scratch::new("knowledge_team_no_language_rule");
    let config = scratch.path("fulcrum.toml");
    std::fs::write(
        &config,
        "[identities]\naliases = { \"carol@old.example\" = \"carol@team.example\" }\n\n[knowledge]\nrequire_language = false\n",
    )
    .unwrap();
    let report = knowledge_json(&repo("team"), &scratch.db(), &["--config", s(&config)]);
    assert_eq!(report["files_analysed"], 11);
    assert_eq!(report["files_excluded"], json!([["binary", 1], ["documentation", 2], ["vendored", 1]]));
    assert_eq!(report["truck_factor"], 2);
    assert_eq!(
        key_people(&report),
        vec![
            ("alice@team.example".to_owned(), 5, round6(5.0 / 11.0)),
            ("carol@team.example".to_owned(), 5, round6(5.0 / 11.0))
        ]
    );
}

#[test]
fn configured_exclude_glob_and_invalid_glob() {
    let scratch = Scratch::new("knowledge_team_globs");
    let (team, db) = (repo("team"), scratch.db());
    // Excluding web/ leaves build, eval, lib, parser, gen: Alice 2 (build,
    // lib), Bob 2 (eval, parser), Carol 2 (lib, parser), Erin 1. Remove
    // Alice: 4/5; Bob: lib, parser (Carol), gen → 3/5; Carol: gen, 1/5 → 3.
    let config = scratch.path("exclude.toml");
    std::fs::write(
        &config,
        "[identities]\naliases = { \"carol@old.example\" = \"carol@team.example\" }\n\n[knowledge]\nexclude = [\"web/\"]\n",
    )
    .unwrap();
    let report = knowledge_json(&team, &db, &["--config", s(&config)]);
    assert_eq!(report["files_analysed"], 5);
    assert_eq!(report["files_excluded"][1], json!(["configured", 5]));
    assert_eq!(report["truck_factor"], 3);
    let bad = scratch.path("bad.toml");
    std::fs::write(&bad, "[knowledge]\nexclude = [\"[abc]\"]\n").unwrap();
    knowledge(&team, &db, &["--no-sync", "--config", s(&bad)]).bad_input(&["[abc]", "knowledge.exclude"]);
}

#[test]
fn one_file_one_author() {
    let scratch = Scratch::new("knowledge_onefile");
    let report = knowledge_json(&repo("onefile"), &scratch.db(), &["--by-directory"]);
    assert_eq!((report["files_in_tree"].as_u64(), report["files_analysed"].as_u64()), (Some(1), Some(1)));
    assert_eq!(report["truck_factor"], 1);
    assert_eq!(key_people(&report), vec![("alice@fulcrum.example".to_owned(), 1, 1.0)]);
    assert_eq!(paths(&report["single_author_files"]), ["main.py"]);
    assert_eq!(report["directories"][0]["directory"], ".");
    assert_eq!(report["directories"][0]["truck_factor"], 1);
    assert_eq!(report["files"][0]["fragmentation"], 0.0);
}

#[test]
fn only_documentation_means_nothing_to_analyse() {
    let scratch = Scratch::new("knowledge_alldocs");
    let (alldocs, db) = (repo("alldocs"), scratch.db());
    let report = knowledge_json(&alldocs, &db, &["--by-directory"]);
    assert_eq!(report["files_in_tree"], 3);
    assert_eq!(report["files_analysed"], 0);
    assert_eq!(report["files_excluded"], json!([["documentation", 3]]));
    assert_eq!(report["truck_factor"], 0);
    assert_eq!(report["key_people"], json!([]));
    assert_eq!(report["files"], json!([]));
    assert_eq!(report["directories"], json!([]));
    let warnings = report["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].as_str().unwrap().starts_with("no files to analyse"), "{warnings:?}");
    let text = knowledge(&alldocs, &db, &["--no-sync"]).ok().stdout;
    assert!(text.contains("warning: no files to analyse"), "{text}");
    // Departure on nothing: 0 of 0, share 0.
    let report = knowledge_json(&alldocs, &db, &["--no-sync", "--leaving", "alice@fulcrum.example"]);
    assert_eq!((report["departure"]["orphaned"].as_u64(), report["departure"]["share"].as_f64()), (Some(0), Some(0.0)));
    // Hotspots: nothing to rank, nothing coupled.
    let hot = hotspots(&alldocs, &db, &["--no-sync", "--format", "json"]).ok().json();
    assert_eq!((&hot["hotspots"], &hot["coupling"]), (&json!([]), &json!([])));
}

/// Including the prose: README.md and CHANGELOG.md by Alice alone;
/// docs/intro.md created by Alice (4.391 − .2225 = 4.1685), changed by Bob
/// (3.457, 0.829): both. Alice 3, Bob 1: remove Alice → 1/3 → TF 1.
#[test]
fn include_glob_readmits_documentation() {
    let scratch = Scratch::new("knowledge_alldocs_include");
    let config = scratch.path("fulcrum.toml");
    std::fs::write(&config, "[knowledge]\ninclude = [\"*.md\"]\n").unwrap();
    let report = knowledge_json(&repo("alldocs"), &scratch.db(), &["--config", s(&config)]);
    assert_eq!(report["files_analysed"], 3);
    assert_eq!(report["truck_factor"], 1);
    assert_eq!(key_people(&report), vec![("alice@fulcrum.example".to_owned(), 3, 1.0)]);
    assert_eq!(paths(&report["single_author_files"]), ["CHANGELOG.md", "README.md"]);
    assert_eq!(report["warnings"], json!([]));
}

#[test]
fn empty_repository_is_bad_input() {
    let scratch = Scratch::new("knowledge_empty");
    knowledge(&repo("empty"), &scratch.db(), &[]).bad_input(&["no commits yet"]);
    hotspots(&repo("empty"), &scratch.db(), &[]).bad_input(&["no commits yet"]);
}

/// Default window (hotspots.window, 12 months before 2025-03-01): the 2025
/// commits, merge and bot left out, renames followed to today's names.
///
/// | file           | changes in window             | lines | score | authors | main |
/// |----------------|-------------------------------|-------|-------|---------|------|
/// | core/parser.rs | C8 (A, rename), C9, C10 (C)   | 6     | 18    | 2       | Carol |
/// | core/lib.rs    | C9, C10 (C)                   | 8     | 16    | 1       | Carol |
/// | web/app.py     | F2 (C), C15 (A), C16 (C)      | 5     | 15    | 2       | Carol |
/// | web/b.py       | C12, C14 (B; was web/a.py)    | 5     | 10    | 1       | Bob |
/// | web/forms.py   | F1, F2 (C)                    | 4     | 8     | 1       | Carol |
/// | web/views.py   | C15 (A), C16 (C)              | 3     | 6     | 2       | Alice (tie: earlier person) |
/// | web/a.py       | C13 (B; was web/b.py)         | 4     | 4     | 1       | Bob |
///
/// build.rs was changed only by the bot: not listed. Coupling, min_shared 2
/// (fulcrum.toml): lib.rs and parser.rs share C9, C10 → 2·2/(2+3) = 0.8;
/// app.py and views.py share C15, C16 → 2·2/(3+2) = 0.8 (tie: by name);
/// app.py and forms.py share only F2.
#[test]
fn team_hotspots_and_coupling() {
    let scratch = Scratch::new("hotspots_team");
    let (team, db) = (repo("team"), scratch.db());
    let report = hotspots(&team, &db, &["--format", "json"]).ok().json();
    let rows: Vec<(String, u64, u64, u64, u64, String)> = report["hotspots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["path"].as_str().unwrap().to_owned(),
                h["changes"].as_u64().unwrap(),
                h["lines"].as_u64().unwrap(),
                h["score"].as_u64().unwrap(),
                h["authors"].as_u64().unwrap(),
                h["main_author"]["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let row = |p: &str, c, l, sc, a, m: &str| (p.to_owned(), c, l, sc, a, m.to_owned());
    assert_eq!(
        rows,
        vec![
            row("core/parser.rs", 3, 6, 18, 2, "Carol Chen"),
            row("core/lib.rs", 2, 8, 16, 1, "Carol Chen"),
            row("web/app.py", 3, 5, 15, 2, "Carol Chen"),
            row("web/b.py", 2, 5, 10, 1, "Bob Builder"),
            row("web/forms.py", 2, 4, 8, 1, "Carol Chen"),
            row("web/views.py", 2, 3, 6, 2, "Alice Archer"),
            // web/a.py (1 change × 4 lines) is left out: changed once, no hotspot.
        ]
    );
    assert_eq!(
        report["coupling"],
        json!([
            {"a": "core/lib.rs", "b": "core/parser.rs", "shared": 2, "changes_a": 2, "changes_b": 3, "degree": 0.8},
            {"a": "web/app.py", "b": "web/views.py", "shared": 2, "changes_a": 3, "changes_b": 2, "degree": 0.8},
        ])
    );
    assert_eq!(report["min_shared"], 2);

    // From 2025-01-13: C12–C16 only. app.py 2 × 5 = 10 and b.py 2 × 5 = 10
    // (tie: by path), views.py 6; app.py and views.py change only together:
    // degree 1.
    let report = hotspots(&team, &db, &["--no-sync", "--since", "2025-01-13", "--format", "json"]).ok().json();
    let ranked: Vec<(&str, u64)> = report["hotspots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["path"].as_str().unwrap(), h["score"].as_u64().unwrap()))
        .collect();
    // a.py (one rename in the window) is left out: changed once.
    assert_eq!(ranked, vec![("web/app.py", 10), ("web/b.py", 10), ("web/views.py", 6)]);
    assert_eq!(
        report["coupling"],
        json!([{"a": "web/app.py", "b": "web/views.py", "shared": 2, "changes_a": 2, "changes_b": 2, "degree": 1.0}])
    );
}

#[test]
fn knowledge_terminal_and_markdown_snapshots() {
    let scratch = Scratch::new("knowledge_snapshots");
    let (team, db) = (repo("team"), scratch.db());
    let args = ["--by-directory", "--leaving", "carol@team.example"];
    let terminal = knowledge(&team, &db, &args).ok();
    assert!(!terminal.stdout.contains('\x1b'));
    assert_snapshot("knowledge_terminal", &terminal.stdout);
    let mut markdown_args = vec!["--no-sync", "--format", "markdown"];
    markdown_args.extend_from_slice(&args);
    assert_snapshot("knowledge_markdown", &knowledge(&team, &db, &markdown_args).ok().stdout);
    assert_snapshot("hotspots_terminal", &hotspots(&team, &db, &["--no-sync"]).ok().stdout);
}

// Regression tests for bugs found while writing these tests.

#[test]
fn empty_leaving_is_bad_input() {
    let scratch = Scratch::new("knowledge_empty_leaving");
    knowledge(&repo("team"), &scratch.db(), &["--leaving", ""]).bad_input(&["--leaving"]);
}

#[test]
fn leaving_accepts_merged_identities() {
    let scratch = Scratch::new("knowledge_leaving_merged");
    let report = knowledge_json(&repo("team"), &scratch.db(), &["--leaving", "carol@old.example"]);
    assert_eq!(report["departure"]["leaving"][0]["email"], "carol@team.example");
    assert_eq!(report["departure"]["orphaned"], 4, "Carol's 3 files and inactive Erin's");
    let report = knowledge_json(&repo("team"), &scratch.db(), &["--no-sync", "--leaving", "bob@home.example"]);
    assert_eq!(report["departure"]["leaving"][0]["email"], "bob@team.example");
}

#[test]
fn leaving_lists_each_person_once() {
    let scratch = Scratch::new("knowledge_leaving_twice");
    let report =
        knowledge_json(&repo("team"), &scratch.db(), &["--leaving", "Carol Chen", "--leaving", "carol@team.example"]);
    assert_eq!(report["departure"]["leaving"].as_array().unwrap().len(), 1);
}

#[test]
fn bots_do_not_fragment_knowledge() {
    // build.rs: created by Alice, changed only by dependabot → one person's
    // work, fragmentation 0 (now 0.5).
    let scratch = Scratch::new("knowledge_bot_fragmentation");
    let report = knowledge_json(&repo("team"), &scratch.db(), &[]);
    assert_eq!(file(&report, "build.rs")["fragmentation"], 0.0);
}

/// Coding agents are never authors nor main authors, and their share of
/// changes is reported: Alice writes a.rs; Claude (an agent, by e-mail)
/// writes b.rs and edits a.rs; Bob writes lib/c.rs with Claude as
/// co-author. File changes: 4, of which 3 by or with the agent (75%); at
/// the top level 2 of 3, in lib/ 1 of 1. b.rs has no author (only the
/// agent wrote it); a.rs is Alice's (Claude's edit would have made it an
/// author at 0.829); lib/c.rs is Bob's.
#[test]
fn coding_agents_are_never_authors_and_their_share_is_reported() {
    let scratch = Scratch::new("knowledge_agents");
    let dir = scratch.path("agents");
    std::fs::create_dir_all(&dir).unwrap();
    let git = |date: &str, args: &[&str]| crate::harness::git(&dir, date, args);
    git("2025-01-06 09:00", &["-c", "init.defaultBranch=main", "init", "-q"]);
    let write = |path: &str, text: &str| std::fs::write(dir.join(path), text).unwrap();
    write("a.rs", "fn a() {}\nfn b() {}\n");
    git("2025-01-06 09:00", &["add", "-A"]);
    git("2025-01-06 09:00", &["commit", "-q", "-m", "a", "--author", "Alice <alice@x.example>"]);
    write("b.rs", "fn c() {}\n");
    write("a.rs", "fn a() {}\nfn b() { todo!() }\n");
    git("2025-01-07 09:00", &["add", "-A"]);
    git("2025-01-07 09:00", &["commit", "-q", "-m", "b", "--author", "Claude <noreply@anthropic.com>"]);
    std::fs::create_dir_all(dir.join("lib")).unwrap();
    write("lib/c.rs", "fn d() {}\n");
    git("2025-01-08 09:00", &["add", "-A"]);
    let trailer = "Co-authored-by: Claude <noreply@anthropic.com>";
    git("2025-01-08 09:00", &["commit", "-q", "-m", "c", "-m", trailer, "--author", "Bob <bob@x.example>"]);

    let db = scratch.db();
    let report = knowledge_json(&dir, &db, &[]);
    let agents = &report["agents"];
    assert_eq!((agents["changes"].clone(), agents["total_changes"].clone()), (json!(3), json!(4)));
    assert_eq!(agents["share"], 0.75);
    assert_eq!(agents["agents"], json!([{"name": "Claude", "email": "noreply@anthropic.com"}]));
    let authors = |path: &str| -> Vec<String> {
        file(&report, path)["authors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(authors("a.rs"), ["Alice"]);
    assert_eq!(authors("b.rs"), Vec::<String>::new());
    assert_eq!(authors("lib/c.rs"), ["Bob"]);
    assert_eq!(report["files_without_author"], 1);
    let by_directory = knowledge_json(&dir, &db, &["--by-directory", "--depth", "1"]);
    let share = |directory: &str| {
        let rows = by_directory["directories"].as_array().unwrap();
        rows.iter().find(|d| d["directory"] == directory).unwrap()["agent_share"].as_f64().unwrap()
    };
    assert_eq!((share("."), share("lib")), (2.0 / 3.0, 1.0));
    // Hotspots never name the agent: a.rs changed twice, its main author Alice.
    let hot = hotspots(&dir, &db, &["--no-sync", "--since", "2025-01-01", "--format", "json"]).ok().json();
    let rows = hot["hotspots"].as_array().unwrap();
    assert!(rows.iter().all(|r| r["main_author"]["name"] != "Claude"), "{rows:?}");
    let a = rows.iter().find(|r| r["path"] == "a.rs").unwrap();
    assert_eq!(
        (a["changes"].clone(), a["authors"].clone(), a["main_author"]["name"].clone()),
        (json!(2), json!(1), json!("Alice"))
    );
}

/// A repository chooses how long its paths and its authors' names are: a
/// file 16 directories of 200 letters deep (a 3,200-byte path, letters
/// from a pseudo-random sequence an index could not compress), renamed
/// once, by an author whose name is 3,000 letters long. It syncs on both
/// backends and knowledge attributes it. A unique index on paths or
/// signatures would refuse these on PostgreSQL (an index entry holds at
/// most about a third of a page), which is why the store has none.
#[test]
fn paths_and_names_of_any_length_are_stored_and_attributed() {
    let scratch = Scratch::new("knowledge_long");
    let dir = scratch.path("long");
    std::fs::create_dir_all(&dir).unwrap();
    let git = |date: &str, args: &[&str]| crate::harness::git(&dir, date, args);
    git("2025-01-06 09:00", &["-c", "init.defaultBranch=main", "init", "-q"]);
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut letters = |n: usize| -> String {
        (0..n)
            .map(|_| {
                // xorshift64
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                char::from(b'a' + (state % 26) as u8)
            })
            .collect()
    };
    let deep: Vec<String> = (0..16).map(|_| letters(200)).collect();
    let deep = deep.join("/");
    std::fs::create_dir_all(dir.join(&deep)).unwrap();
    let (old, new) = (format!("{deep}/old.rs"), format!("{deep}/new.rs"));
    std::fs::write(dir.join(&old), "fn a() {}\nfn b() {}\nfn c() {}\n").unwrap();
    let name = letters(3000);
    let author = format!("{name} <long@x.example>");
    git("2025-01-06 09:00", &["add", "-A"]);
    git("2025-01-06 09:00", &["commit", "-q", "-m", "a", "--author", &author]);
    git("2025-01-07 09:00", &["mv", &old, &new]);
    git("2025-01-07 09:00", &["commit", "-q", "-m", "moved", "--author", &author]);

    let db = scratch.db();
    let report = knowledge_json(&dir, &db, &[]);
    let row = file(&report, &new);
    let authors: Vec<&str> = row["authors"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(authors, [name.as_str()]);
    // The rename kept the file's history: both commits count.
    let stored = open_db(&db).value::<i64>("SELECT COUNT(*) FROM file_changes");
    assert_eq!(stored, 2);
    let longest = open_db(&db).value::<i64>("SELECT MAX(LENGTH(path)) FROM paths");
    assert_eq!(longest as usize, new.len());
}
