//! A small snapshot helper: compares text with `tests/snapshots/NAME.txt`
//! after scrubbing what changes from run to run; `UPDATE_SNAPSHOTS=1`
//! writes the file instead.
//!
//! Scrubbed: trailing blanks of every line, the run's temporary directory (`[TMP]`), sync durations
//! (`[DURATION]`) and the fulcrum version (`[VERSION]`, so a release does
//! not touch every snapshot). The sync timestamp needs no scrubbing: it is
//! `FULCRUM_NOW`, fixed for every run.

use std::path::PathBuf;

use crate::harness::fixtures;

/// Asserts that `actual`, scrubbed, equals snapshot `name`.
#[track_caller]
pub fn assert_snapshot(name: &str, actual: &str) {
    let actual = scrub(actual);
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots").join(format!("{name}.txt"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!("no snapshot {}; run with UPDATE_SNAPSHOTS=1 and review the file\n{actual}", path.display())
    });
    if expected != actual {
        panic!(
            "snapshot {} differs (UPDATE_SNAPSHOTS=1 rewrites it)\n{}",
            path.display(),
            line_diff(&expected, &actual)
        );
    }
}

/// Replaces run-specific parts of `text` with placeholders.
pub fn scrub(text: &str) -> String {
    let text = text.replace(fixtures().root.to_str().expect("UTF-8 path"), "[TMP]");
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let ending = if line.ends_with('\n') { "\n" } else { "" };
        // Trailing blanks (padded table cells) would not survive editors.
        let line = line.trim_end();
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        let comma = if trimmed.ends_with(',') { "," } else { "" };
        if trimmed.starts_with("\"seconds\": ") {
            out.push_str(&format!("{indent}\"seconds\": \"[DURATION]\"{comma}{ending}"));
        } else if trimmed.starts_with("\"fulcrum_version\": ") {
            out.push_str(&format!("{indent}\"fulcrum_version\": \"[VERSION]\"{comma}{ending}"));
        } else {
            out.push_str(&scrub_durations(line));
            out.push_str(ending);
        }
    }
    out
}

/// `12.34 s` (the sync summary on stderr) → `[DURATION] s`.
fn scrub_durations(line: &str) -> String {
    let bytes = line.as_bytes();
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let digits = i > start;
        let boundary = start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'.');
        if digits && boundary && bytes.get(i) == Some(&b'.') {
            let mut j = i + 1;
            while j < bytes.len() && bytes[j].is_ascii_digit() {
                j += 1;
            }
            if j > i + 1 && line[j..].starts_with(" s") {
                out.push_str("[DURATION]");
                i = j;
                continue;
            }
        }
        if i == start {
            let c = line[i..].chars().next().expect("inside the line");
            out.push(c);
            i += c.len_utf8();
        } else {
            out.push_str(&line[start..i]);
        }
    }
    out
}

/// The first differing lines, for the failure message.
fn line_diff(expected: &str, actual: &str) -> String {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let mut out = String::new();
    for i in 0..e.len().max(a.len()) {
        let (x, y) = (e.get(i).copied(), a.get(i).copied());
        if x != y {
            out.push_str(&format!("line {}:\n- {}\n+ {}\n", i + 1, x.unwrap_or("<none>"), y.unwrap_or("<none>")));
            if out.lines().count() > 30 {
                break;
            }
        }
    }
    out
}

#[test]
fn scrubbing_replaces_durations_versions_and_the_temporary_directory() {
    let tmp = fixtures().root.display();
    let check = |input: String, expected: &str| assert_eq!(scrub(&input), expected, "{input:?}");
    check(format!("repository   {tmp}/repos/delivery\n"), "repository   [TMP]/repos/delivery\n");
    check("delivery: synced 15 new commits in 0.02 s\n".into(), "delivery: synced 15 new commits in [DURATION] s\n");
    check("delivery: up to date (0.00 s)\n".into(), "delivery: up to date ([DURATION] s)\n");
    check("    \"seconds\": 0.014579589\n".into(), "    \"seconds\": \"[DURATION]\"\n");
    check("  \"fulcrum_version\": \"0.1.0\",\n".into(), "  \"fulcrum_version\": \"[VERSION]\",\n");
    // Numbers that are not durations stay.
    check("0.47/week, 33.3%, v1.4.1 s\n".into(), "0.47/week, 33.3%, v1.4.1 s\n");
    check("  6 commits  \n".into(), "  6 commits\n");
}
