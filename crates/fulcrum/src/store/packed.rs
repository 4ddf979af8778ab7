//! A pull request's commits and activities packed into one row of
//! `pr_children` and one of `pr_commit_ids` (schema 18), as text both
//! backends store and compare alike. The layout (also written out in
//! `0018_packed_children.sql`):
//!
//! - `commit_times`: each commit's author time, decimal, separated by `,`;
//! - `activities`: `AT,KIND,LEN:AUTHOR` for each activity, one after
//!   another (`LEN`: the author's length in bytes, so any text may follow);
//! - `commit_ids`: `LEN:SHA` then `LEN:AUTHOR` for each commit, in the
//!   order of `commit_times`.
//!
//! One row per pull request where there were eight: an organisation's
//! read steps through 2 million rows, not 17 million, and an import writes
//! as many fewer. NUL characters are left out of the text (PostgreSQL's
//! text cannot hold them), so a length always counts what is stored.

use std::borrow::Cow;

use super::db::push_i64;

/// `text` without NUL characters.
fn stored(text: &str) -> Cow<'_, str> {
    if text.contains('\0') { Cow::Owned(text.replace('\0', "")) } else { Cow::Borrowed(text) }
}

/// `LEN:TEXT` onto `out`.
fn push_sized(out: &mut String, text: &str) {
    let text = stored(text);
    push_i64(out, text.len() as i64);
    out.push(':');
    out.push_str(&text);
}

/// One id onto a deployment's `commit_list` (schema 19).
pub(crate) fn push_listed_id(out: &mut String, sha: &str) {
    push_sized(out, sha);
}

/// Each id of a deployment's `commit_list`, in order.
pub(crate) fn listed_ids<'t>(mut text: &'t str, mut each: impl FnMut(&'t str)) -> Result<(), String> {
    while !text.is_empty() {
        let (sha, rest) = sized(text, "a listed commit")?;
        each(sha);
        text = rest;
    }
    Ok(())
}

/// One commit's author time onto `commit_times`.
pub(crate) fn push_commit_time(out: &mut String, at: i64) {
    if !out.is_empty() {
        out.push(',');
    }
    push_i64(out, at);
}

/// One commit's id and author onto `commit_ids`.
pub(crate) fn push_commit_id(out: &mut String, sha: &str, author: &str) {
    push_sized(out, sha);
    push_sized(out, author);
}

/// One activity onto `activities` (`kind`: a stored kind name, which holds
/// no `,`).
pub(crate) fn push_activity(out: &mut String, at: i64, kind: &str, author: &str) {
    push_i64(out, at);
    out.push(',');
    out.push_str(kind);
    out.push(',');
    push_sized(out, author);
}

/// Each time of `commit_times`, in order.
pub(crate) fn commit_times(text: &str, mut each: impl FnMut(i64)) -> Result<(), String> {
    if text.is_empty() {
        return Ok(());
    }
    for part in text.split(',') {
        each(number(part, "a commit time")?);
    }
    Ok(())
}

/// How many commits `commit_times` holds.
pub(crate) fn commit_count(text: &str) -> usize {
    if text.is_empty() { 0 } else { 1 + text.bytes().filter(|&b| b == b',').count() }
}

/// Each `(sha, author)` of `commit_ids`, in order.
pub(crate) fn commit_ids<'t>(text: &'t str, mut each: impl FnMut(&'t str, &'t str)) -> Result<(), String> {
    let mut rest = text;
    while !rest.is_empty() {
        let (sha, after) = sized(rest, "a commit id")?;
        let (author, after) = sized(after, "a commit author")?;
        each(sha, author);
        rest = after;
    }
    Ok(())
}

/// Each `(at, kind, author)` of `activities`, in order.
pub(crate) fn activities<'t>(text: &'t str, mut each: impl FnMut(i64, &'t str, &'t str)) -> Result<(), String> {
    let mut rest = text;
    while !rest.is_empty() {
        let (at, after) = rest.split_once(',').ok_or("an activity without its time")?;
        let (kind, after) = after.split_once(',').ok_or("an activity without its kind")?;
        let (author, after) = sized(after, "an activity author")?;
        each(number(at, "an activity time")?, kind, author);
        rest = after;
    }
    Ok(())
}

fn number(text: &str, what: &str) -> Result<i64, String> {
    text.parse().map_err(|_| format!("{what} that is not a number: {:?}", text.chars().take(24).collect::<String>()))
}

/// `LEN:TEXT…` → `(TEXT, …)`.
fn sized<'t>(text: &'t str, what: &str) -> Result<(&'t str, &'t str), String> {
    let (len, rest) = text.split_once(':').ok_or_else(|| format!("{what} without its length"))?;
    let len: usize = len.parse().map_err(|_| format!("{what} whose length is not a number"))?;
    match (rest.get(..len), rest.get(len..)) {
        (Some(value), Some(after)) => Ok((value, after)),
        _ => Err(format!("{what} longer than the text holding it")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deployment's list: `LEN:SHA` each, any text, read back in order.
    #[test]
    fn a_listed_commit_is_its_length_and_id() {
        let mut list = String::new();
        for sha in ["x1", "", "é:2", "a\0b"] {
            push_listed_id(&mut list, sha);
        }
        assert_eq!(list, "2:x10:4:é:22:ab");
        let mut read = Vec::new();
        listed_ids(&list, |sha| read.push(sha)).unwrap();
        assert_eq!(read, ["x1", "", "é:2", "ab"]);
        listed_ids("", |_| panic!("an empty list has no id")).unwrap();
        for damaged in ["2", "x:ab", "5:ab", "2:ab3:c"] {
            let error = listed_ids(damaged, |_| {}).unwrap_err();
            assert!(error.contains("a listed commit"), "{damaged}: {error}");
        }
    }

    /// The layout, byte for byte: what the migration's SQL builds too.
    #[test]
    fn the_layout_is_as_documented_and_reads_back() {
        let mut times = String::new();
        let mut ids = String::new();
        let mut activities = String::new();
        for (sha, author, at) in [("c1", "ann", 50), ("c2", "bé:b,x", -7)] {
            push_commit_time(&mut times, at);
            push_commit_id(&mut ids, sha, author);
        }
        push_activity(&mut activities, 150, "review", "cid");
        push_activity(&mut activities, 4000, "comment", "a,1:b\0");
        assert_eq!(times, "50,-7");
        assert_eq!(ids, "2:c13:ann2:c27:bé:b,x");
        assert_eq!(activities, "150,review,3:cid4000,comment,5:a,1:b");
        assert_eq!(commit_count(&times), 2);
        assert_eq!(commit_count(""), 0);
        let mut read = Vec::new();
        commit_times(&times, |t| read.push(t)).unwrap();
        assert_eq!(read, [50, -7]);
        let mut read = Vec::new();
        commit_ids(&ids, |s, a| read.push((s, a))).unwrap();
        assert_eq!(read, [("c1", "ann"), ("c2", "bé:b,x")]);
        let mut read = Vec::new();
        super::activities(&activities, |at, kind, author| read.push((at, kind, author))).unwrap();
        assert_eq!(read, [(150, "review", "cid"), (4000, "comment", "a,1:b")]);
    }

    /// A damaged row is an error that says what is wrong, never a panic
    /// (a length may point into the middle of a character).
    #[test]
    fn damaged_text_is_an_error() {
        assert!(commit_times("5,x", |_| ()).unwrap_err().contains("not a number"));
        assert!(commit_ids("9:c1", |_, _| ()).unwrap_err().contains("longer than"));
        assert!(commit_ids("2:c1", |_, _| ()).unwrap_err().contains("without its length"));
        assert!(commit_ids("1:é0:", |_, _| ()).is_err());
        assert!(activities("150,review", |_, _, _| ()).unwrap_err().contains("kind"));
        assert!(activities("150,review,x:a", |_, _, _| ()).unwrap_err().contains("length"));
        assert!(activities("1.5,review,1:a", |_, _, _| ()).unwrap_err().contains("not a number"));
    }
}
