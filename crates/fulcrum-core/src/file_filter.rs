//! Which files count for knowledge metrics (METRICS.md, "Knowledge: truck
//! factor and concentration": "minus vendored, generated and documentation
//! files").
//!
//! The default rules are modelled on GitHub Linguist's `vendor.yml`,
//! generated-file detection and `documentation.yml`, written as a short list
//! of globs ([`DEFAULT_RULES`]) plus binary extensions
//! ([`BINARY_EXTENSIONS`]) so that a README can cite exactly what is left out.
//! Users add globs to exclude and globs to include; an include re-admits a
//! file the default rules leave out.
//!
//! Globs are gitignore-like, matched against `/`-separated paths relative to
//! the repository root (see [`Glob`]). No regex engine, no dependency.

use std::fmt;

use serde::Serialize;

use Exclusion::{Documentation as Doc, Generated as Gen, Vendored as Ven};

/// Why a file is left out of the knowledge metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Exclusion {
    /// Third-party code kept in the repository (Linguist's `vendor.yml`).
    Vendored,
    /// Written by a tool: lock files, protobuf stubs, designer files.
    Generated,
    /// Prose and project documents (Linguist's `documentation.yml`).
    Documentation,
    /// A binary or media asset, recognised by its extension
    /// ([`BINARY_EXTENSIONS`]).
    Binary,
    /// Matched a user-configured exclude glob.
    Configured,
    /// Not a file of a programming or markup language Linguist recognises
    /// (data such as JSON or YAML, extensionless fixtures): the published
    /// truck factors only count files Linguist assigns such a language.
    NoLanguage,
}

impl Exclusion {
    /// The snake_case name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Exclusion::Vendored => "vendored",
            Exclusion::Generated => "generated",
            Exclusion::Documentation => "documentation",
            Exclusion::Binary => "binary",
            Exclusion::Configured => "configured",
            Exclusion::NoLanguage => "no_language",
        }
    }
}

impl fmt::Display for Exclusion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One default rule: a glob, what it marks, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefaultRule {
    /// The glob ([`Glob`] syntax, matched ASCII case-insensitively).
    pub glob: &'static str,
    /// What a matching file is.
    pub exclusion: Exclusion,
    /// Why, in a few words.
    pub why: &'static str,
}

const fn rule(glob: &'static str, exclusion: Exclusion, why: &'static str) -> DefaultRule {
    DefaultRule { glob, exclusion, why }
}

/// The default rules, first match wins (after user globs, see
/// [`FileFilter::classify`]). Matched ASCII case-insensitively, as Linguist's
/// `[Dd]ocs?` style patterns do. Our own concise list in Linguist's spirit,
/// not a copy: Linguist's root-anchored patterns (`^docs/`, `^man/`,
/// `^examples/`, `^deps/`) stay anchored with a leading `/`, its
/// anywhere-patterns (`(^|/)vendor/`) have none.
pub const DEFAULT_RULES: &[DefaultRule] = &[
    // Vendored: third-party code and package-manager directories.
    rule("vendor/", Ven, "vendored dependencies (Go, PHP, Ruby, ...)"),
    rule("vendors/", Ven, "vendored dependencies"),
    rule("third_party/", Ven, "third-party code"),
    rule("third-party/", Ven, "third-party code"),
    rule("thirdparty/", Ven, "third-party code"),
    rule("3rdparty/", Ven, "third-party code"),
    rule("external/", Ven, "external code checked in"),
    rule("node_modules/", Ven, "npm packages"),
    rule("bower_components/", Ven, "Bower packages"),
    rule("jspm_packages/", Ven, "jspm packages"),
    rule("/deps/", Ven, "dependencies at the root (Linguist: ^deps/)"),
    rule("Godeps/", Ven, "Godep vendoring"),
    rule(".bundle/", Ven, "Bundler install directory"),
    rule("Pods/", Ven, "CocoaPods"),
    rule("Carthage/", Ven, "Carthage"),
    rule(".yarn/", Ven, "Yarn releases and plugins"),
    rule("dist/", Ven, "built distribution files"),
    rule("gradle/wrapper/", Ven, "Gradle wrapper"),
    rule("gradlew", Ven, "Gradle wrapper script"),
    rule("gradlew.bat", Ven, "Gradle wrapper script"),
    rule(".mvn/wrapper/", Ven, "Maven wrapper"),
    rule("mvnw", Ven, "Maven wrapper script"),
    rule("mvnw.cmd", Ven, "Maven wrapper script"),
    rule("*.min.js", Ven, "minified JavaScript"),
    rule("*.min.css", Ven, "minified CSS"),
    rule("*-min.js", Ven, "minified JavaScript"),
    rule("jquery*.js", Ven, "jQuery copies"),
    rule("bootstrap*.js", Ven, "Bootstrap copies"),
    rule("bootstrap*.css", Ven, "Bootstrap copies"),
    // Generated: lock files and code written by tools.
    rule("Cargo.lock", Gen, "Cargo lock file"),
    rule("package-lock.json", Gen, "npm lock file"),
    rule("npm-shrinkwrap.json", Gen, "npm lock file"),
    rule("yarn.lock", Gen, "Yarn lock file"),
    rule("pnpm-lock.yaml", Gen, "pnpm lock file"),
    rule("bun.lockb", Gen, "Bun lock file"),
    rule("poetry.lock", Gen, "Poetry lock file"),
    rule("Pipfile.lock", Gen, "Pipenv lock file"),
    rule("uv.lock", Gen, "uv lock file"),
    rule("Gemfile.lock", Gen, "Bundler lock file"),
    rule("composer.lock", Gen, "Composer lock file"),
    rule("go.sum", Gen, "Go checksums"),
    rule("Podfile.lock", Gen, "CocoaPods lock file"),
    rule("flake.lock", Gen, "Nix lock file"),
    rule("packages.lock.json", Gen, "NuGet lock file"),
    rule("mix.lock", Gen, "Mix lock file"),
    rule("pubspec.lock", Gen, "Dart lock file"),
    rule("*.pb.go", Gen, "protobuf (Go)"),
    rule("*.pb.cc", Gen, "protobuf (C++)"),
    rule("*.pb.h", Gen, "protobuf (C++)"),
    rule("*_pb2.py", Gen, "protobuf (Python)"),
    rule("*_pb2_grpc.py", Gen, "gRPC (Python)"),
    rule("*_pb.js", Gen, "protobuf (JavaScript)"),
    rule("*.pb.swift", Gen, "protobuf (Swift)"),
    rule("*.designer.cs", Gen, "Visual Studio designer"),
    rule("*.generated.*", Gen, "marked generated by name"),
    rule("zz_generated.*", Gen, "Kubernetes code generators"),
    rule("*.g.dart", Gen, "Dart build_runner"),
    rule("*.freezed.dart", Gen, "Dart freezed"),
    rule("*.js.map", Gen, "source map"),
    rule("*.css.map", Gen, "source map"),
    rule("*.pbxproj", Gen, "Xcode project file"),
    rule("__generated__/", Gen, "Relay and GraphQL codegen output"),
    // Documentation (Linguist's documentation.yml), plus prose files:
    // Linguist's language statistics never count prose (Markdown,
    // reStructuredText, AsciiDoc), so knowledge of them is not code knowledge.
    // `*.txt` is not excluded: CMakeLists.txt and requirements.txt are build
    // inputs.
    rule("/docs/", Doc, "documentation at the root (Linguist: ^docs?/)"),
    rule("/doc/", Doc, "documentation at the root (Linguist: ^docs?/)"),
    rule("Documentation/", Doc, "documentation directory"),
    rule("javadoc/", Doc, "generated API documentation"),
    rule("/man/", Doc, "manual pages at the root"),
    rule("/examples/", Doc, "examples at the root (Linguist treats them as documentation)"),
    rule("/samples/", Doc, "samples at the root"),
    rule("README", Doc, "readme"),
    rule("README.*", Doc, "readme"),
    rule("CHANGELOG", Doc, "changelog"),
    rule("CHANGELOG.*", Doc, "changelog"),
    rule("CHANGES", Doc, "changelog"),
    rule("CHANGES.*", Doc, "changelog"),
    rule("CONTRIBUTING", Doc, "contribution guide"),
    rule("CONTRIBUTING.*", Doc, "contribution guide"),
    rule("CODE_OF_CONDUCT.*", Doc, "code of conduct"),
    rule("LICENSE", Doc, "licence"),
    rule("LICENSE.*", Doc, "licence"),
    rule("LICENSE-*", Doc, "licence (LICENSE-MIT, LICENSE-APACHE)"),
    rule("LICENCE", Doc, "licence"),
    rule("LICENCE.*", Doc, "licence"),
    rule("COPYING", Doc, "licence"),
    rule("COPYING.*", Doc, "licence"),
    rule("AUTHORS", Doc, "author list"),
    rule("AUTHORS.*", Doc, "author list"),
    rule("NOTICE", Doc, "licence notice"),
    rule("NOTICE.*", Doc, "licence notice"),
    rule("INSTALL", Doc, "installation notes"),
    rule("INSTALL.*", Doc, "installation notes"),
    rule("*.md", Doc, "Markdown prose"),
    rule("*.markdown", Doc, "Markdown prose"),
    rule("*.mdx", Doc, "MDX prose"),
    rule("*.rst", Doc, "reStructuredText prose"),
    rule("*.adoc", Doc, "AsciiDoc prose"),
    rule("*.asciidoc", Doc, "AsciiDoc prose"),
];

/// Extensions (lower case, without the dot) of binary and media files,
/// compared ASCII case-insensitively with the text after the file name's last
/// dot. Images, fonts, archives and packages, office documents, compiled
/// objects, audio and video, databases. SVG is text but an image asset.
#[rustfmt::skip]
pub const BINARY_EXTENSIONS: &[&str] = &[
    // Images.
    "png", "jpg", "jpeg", "gif", "bmp", "ico", "icns", "tif", "tiff", "webp", "avif", "heic", "psd", "xcf", "svg", "eps",
    // Fonts.
    "ttf", "otf", "woff", "woff2", "eot",
    // Archives and packages.
    "zip", "tar", "gz", "tgz", "bz2", "xz", "zst", "7z", "rar", "jar", "war", "ear", "whl", "gem", "nupkg", "deb",
    "rpm", "apk", "ipa", "dmg", "iso",
    // Documents.
    "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "odp",
    // Compiled objects.
    "o", "obj", "a", "lib", "so", "dylib", "dll", "exe", "class", "pyc", "pyo", "wasm", "bin",
    // Audio and video.
    "mp3", "mp4", "m4a", "wav", "ogg", "flac", "avi", "mov", "webm", "mkv",
    // Databases and key stores.
    "sqlite", "sqlite3", "db", "jks", "keystore", "p12", "pfx",
];

/// A glob that [`Glob::new`] cannot use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobError {
    /// The glob as given.
    pub glob: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl fmt::Display for GlobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {}", self.glob, self.reason)
    }
}

impl std::error::Error for GlobError {}

/// A gitignore-like glob over `/`-separated repository paths:
///
/// - `*` matches any run of characters except `/`; `?` one character
///   except `/`; `\` makes the next character literal.
/// - `**` as a whole path component matches zero or more directories
///   (`a/**/b` matches `a/b` and `a/x/y/b`); at the end it matches everything
///   below (`a/**` matches `a/x` and `a/x/y`, not `a` itself). Elsewhere
///   (`a**b`) it acts as `*`.
/// - A trailing `/` matches a directory: the glob matches every path below
///   it (`vendor/` matches `vendor/x.js`).
/// - A glob without a `/` other than a trailing one matches at any depth
///   (`*.png`, `vendor/`); one with a `/` elsewhere is anchored at the root,
///   and a leading `/` only anchors (`/docs/` matches `docs/x` but not
///   `src/docs/x`).
/// - Character classes `[...]` and braces `{...}` are not supported and
///   rejected (escape them with `\` to match them literally).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    glob: String,
    segments: Vec<Segment>,
    shape: Shape,
    case_insensitive: bool,
}

/// Common shapes matched without walking segments (the default rules are
/// almost all one of these).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// `**/x`: the file name matches `x`.
    Name,
    /// `**/x/*/**`: some directory component matches `x`.
    DirectoryAnywhere,
    /// Anything else.
    General,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// `**`: zero or more whole components.
    AnyDirs,
    /// One component.
    Component(Part),
}

/// A component pattern, with the usual cases precomputed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// No wildcard.
    Literal(Vec<u8>),
    /// `*` then literal bytes.
    Suffix(Vec<u8>),
    /// Literal bytes then `*`.
    Prefix(Vec<u8>),
    /// Anything else.
    Wild(Vec<Token>),
}

impl Part {
    fn new(tokens: Vec<Token>) -> Part {
        let literal = |tokens: &[Token]| -> Option<Vec<u8>> {
            tokens
                .iter()
                .map(|token| match token {
                    Token::Byte(byte) => Some(*byte),
                    Token::One | Token::Star => None,
                })
                .collect()
        };
        if let Some(bytes) = literal(&tokens) {
            return Part::Literal(bytes);
        }
        if let Some((Token::Star, rest)) = tokens.split_first()
            && let Some(bytes) = literal(rest)
        {
            return Part::Suffix(bytes);
        }
        if let Some((Token::Star, rest)) = tokens.split_last()
            && let Some(bytes) = literal(rest)
        {
            return Part::Prefix(bytes);
        }
        Part::Wild(tokens)
    }

    fn matches(&self, text: &[u8]) -> bool {
        match self {
            Part::Literal(bytes) => text == bytes.as_slice(),
            Part::Suffix(bytes) => text.ends_with(bytes),
            Part::Prefix(bytes) => text.starts_with(bytes),
            Part::Wild(tokens) => match_component(tokens, text),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Byte(u8),
    /// `?`: one character.
    One,
    /// `*`: any run within the component.
    Star,
}

impl Glob {
    /// Parses `glob` (case-sensitive matching).
    pub fn new(glob: &str) -> Result<Glob, GlobError> {
        Glob::parse(glob, false)
    }

    /// Parses `glob` for ASCII case-insensitive matching.
    pub fn new_case_insensitive(glob: &str) -> Result<Glob, GlobError> {
        Glob::parse(glob, true)
    }

    /// The glob as given.
    pub fn as_str(&self) -> &str {
        &self.glob
    }

    fn parse(glob: &str, case_insensitive: bool) -> Result<Glob, GlobError> {
        let error = |reason| Err(GlobError { glob: glob.to_string(), reason });
        let mut body = glob.trim();
        let dir_only = body.ends_with('/');
        body = body.trim_end_matches('/');
        let leading_slash = body.starts_with('/');
        body = body.trim_start_matches('/');
        if body.is_empty() {
            return error("empty glob");
        }
        let anchored = leading_slash || body.contains('/');
        let mut segments = Vec::new();
        if !anchored {
            segments.push(Segment::AnyDirs);
        }
        for part in body.split('/') {
            if part.is_empty() {
                return error("empty path component (`//`)");
            }
            if part == "**" {
                if segments.last() != Some(&Segment::AnyDirs) {
                    segments.push(Segment::AnyDirs);
                }
                continue;
            }
            let mut tokens = Vec::with_capacity(part.len());
            let mut bytes = part.bytes();
            while let Some(byte) = bytes.next() {
                let token = match byte {
                    b'*' if tokens.last() == Some(&Token::Star) => continue,
                    b'*' => Token::Star,
                    b'?' => Token::One,
                    b'[' | b'{' => return error("character classes `[...]` and braces `{...}` are not supported"),
                    b'\\' => match bytes.next() {
                        Some(escaped) => Token::Byte(escaped),
                        None => return error("trailing `\\`"),
                    },
                    other => Token::Byte(other),
                };
                tokens.push(token);
            }
            if case_insensitive {
                for token in &mut tokens {
                    if let Token::Byte(byte) = token {
                        *byte = byte.to_ascii_lowercase();
                    }
                }
            }
            segments.push(Segment::Component(Part::new(tokens)));
        }
        // A directory glob, or one ending in `**`, matches one or more
        // components below what precedes: `*` then `**`.
        if dir_only || segments.last() == Some(&Segment::AnyDirs) {
            if segments.last() == Some(&Segment::AnyDirs) {
                segments.pop();
            }
            segments.push(Segment::Component(Part::Prefix(Vec::new())));
            segments.push(Segment::AnyDirs);
        }
        let shape = match segments.as_slice() {
            [Segment::AnyDirs, Segment::Component(_)] => Shape::Name,
            [Segment::AnyDirs, Segment::Component(_), Segment::Component(Part::Prefix(any)), Segment::AnyDirs]
                if any.is_empty() =>
            {
                Shape::DirectoryAnywhere
            }
            _ => Shape::General,
        };
        Ok(Glob { glob: glob.to_string(), segments, shape, case_insensitive })
    }

    /// Whether `path` (relative, `/`-separated) matches.
    pub fn matches(&self, path: &str) -> bool {
        if self.case_insensitive {
            let lower = path.to_ascii_lowercase();
            let components: Vec<&str> = lower.split('/').collect();
            self.matches_components(&components)
        } else {
            let components: Vec<&str> = path.split('/').collect();
            self.matches_components(&components)
        }
    }

    /// Matches already split components (lower-cased by the caller when the
    /// glob is case-insensitive).
    fn matches_components(&self, components: &[&str]) -> bool {
        match (self.shape, self.segments.get(1)) {
            (Shape::Name, Some(Segment::Component(part))) => {
                components.last().is_some_and(|name| part.matches(name.as_bytes()))
            }
            (Shape::DirectoryAnywhere, Some(Segment::Component(part))) => components
                .split_last()
                .is_some_and(|(_, directories)| directories.iter().any(|d| part.matches(d.as_bytes()))),
            _ => match_segments(&self.segments, components),
        }
    }
}

fn match_segments(segments: &[Segment], components: &[&str]) -> bool {
    match segments.split_first() {
        None => components.is_empty(),
        Some((Segment::Component(part), rest)) => match components.split_first() {
            Some((first, others)) => part.matches(first.as_bytes()) && match_segments(rest, others),
            None => false,
        },
        Some((Segment::AnyDirs, rest)) => {
            if rest.iter().all(|s| *s != Segment::AnyDirs) {
                // The rest needs exactly one component per segment: only one
                // place to start, so `**/*.png` is a check of the file name.
                return components.len() >= rest.len()
                    && match_segments(rest, &components[components.len() - rest.len()..]);
            }
            (0..=components.len()).any(|skip| match_segments(rest, &components[skip..]))
        }
    }
}

/// Wildcard match of one component, backtracking to the last `*` only
/// (linear for the globs used here).
fn match_component(tokens: &[Token], text: &[u8]) -> bool {
    let (mut t, mut s) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while s < text.len() {
        match tokens.get(t) {
            Some(Token::Star) => {
                star = Some((t, s));
                t += 1;
                continue;
            }
            Some(Token::One) => {
                t += 1;
                s += utf8_len(text[s]);
                continue;
            }
            Some(Token::Byte(byte)) if *byte == text[s] => {
                t += 1;
                s += 1;
                continue;
            }
            _ => {}
        }
        match star {
            Some((star_t, star_s)) => {
                let next = star_s + utf8_len(text[star_s]);
                star = Some((star_t, next));
                t = star_t + 1;
                s = next;
            }
            None => return false,
        }
    }
    tokens[t.min(tokens.len())..].iter().all(|token| *token == Token::Star)
}

/// Length of the UTF-8 sequence starting with `lead` (1 for a stray byte).
fn utf8_len(lead: u8) -> usize {
    match lead {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// The file filter: default rules plus user globs.
#[derive(Debug, Clone)]
pub struct FileFilter {
    include: Vec<Glob>,
    exclude: Vec<Glob>,
    defaults: Vec<(Glob, Exclusion)>,
    require_language: bool,
}

/// Extensions of programming and markup languages (Linguist's `programming`
/// and `markup` types, the ones its language statistics count). Data
/// formats (JSON, YAML, XML, CSV) and prose are not in the list.
pub const LANGUAGE_EXTENSIONS: &[&str] = &[
    "ada",
    "adb",
    "ads",
    "applescript",
    "as",
    "asm",
    "asp",
    "aspx",
    "awk",
    "bas",
    "bash",
    "bat",
    "bzl",
    "c",
    "c++",
    "cc",
    "cl",
    "clj",
    "cljs",
    "cljc",
    "cls",
    "cmake",
    "cmd",
    "coffee",
    "cpp",
    "cr",
    "cs",
    "csh",
    "cshtml",
    "css",
    "cu",
    "cuh",
    "cxx",
    "d",
    "dart",
    "dtsi",
    "dts",
    "ejs",
    "el",
    "elm",
    "erb",
    "erl",
    "ex",
    "exs",
    "f",
    "f90",
    "f95",
    "fish",
    "for",
    "fs",
    "fsi",
    "fsx",
    "gd",
    "gemspec",
    "glsl",
    "go",
    "gradle",
    "groovy",
    "gs",
    "h",
    "h++",
    "haml",
    "hbs",
    "hh",
    "hlsl",
    "hpp",
    "hrl",
    "hs",
    "htm",
    "html",
    "hxx",
    "inc",
    "ino",
    "java",
    "jl",
    "js",
    "jsx",
    "kt",
    "kts",
    "less",
    "lhs",
    "lisp",
    "lua",
    "m",
    "m4",
    "mjs",
    "cjs",
    "ml",
    "mli",
    "mm",
    "mustache",
    "nim",
    "nix",
    "php",
    "phtml",
    "pl",
    "pm",
    "pp",
    "prg",
    "pro",
    "ps1",
    "psm1",
    "purs",
    "py",
    "pyi",
    "pyx",
    "pxd",
    "r",
    "rake",
    "rb",
    "re",
    "rei",
    "rkt",
    "rs",
    "s",
    "sass",
    "scala",
    "scm",
    "scss",
    "sh",
    "sol",
    "sql",
    "ss",
    "st",
    "styl",
    "svelte",
    "swift",
    "t",
    "tcl",
    "tex",
    "tf",
    "thrift",
    "proto",
    "tpl",
    "ts",
    "tsx",
    "twig",
    "v",
    "vala",
    "vb",
    "vba",
    "vbs",
    "vhd",
    "vhdl",
    "vim",
    "vue",
    "xaml",
    "xs",
    "xsl",
    "xslt",
    "y",
    "yy",
    "l",
    "zig",
    "zsh",
    "mk",
    "ld",
    "lds",
    "S",
];

/// File names Linguist recognises without an extension.
pub const LANGUAGE_FILENAMES: &[&str] = &[
    "makefile",
    "gnumakefile",
    "kbuild",
    "kconfig",
    "dockerfile",
    "containerfile",
    "rakefile",
    "gemfile",
    "guardfile",
    "capfile",
    "vagrantfile",
    "podfile",
    "jenkinsfile",
    "justfile",
    "build",
    "workspace",
    "sconstruct",
    "sconscript",
    "meson.build",
    "cmakelists.txt",
    "configure.ac",
    "configure.in",
    "makefile.am",
    "makefile.in",
    "pkgbuild",
    "brewfile",
    "fastfile",
    "berksfile",
    "thorfile",
];

impl Default for FileFilter {
    /// The default rules only.
    fn default() -> Self {
        // Every default rule parses (tested); `ok()` keeps this infallible.
        let defaults = DEFAULT_RULES
            .iter()
            .filter_map(|rule| Glob::new_case_insensitive(rule.glob).ok().map(|glob| (glob, rule.exclusion)))
            .collect();
        FileFilter { include: Vec::new(), exclude: Vec::new(), defaults, require_language: true }
    }
}

impl FileFilter {
    /// The default rules plus `extra_exclude_globs` (reported as
    /// [`Exclusion::Configured`]) and `include_globs` (files the default
    /// rules would leave out but that count). User globs are
    /// case-sensitive.
    pub fn new(extra_exclude_globs: &[String], include_globs: &[String]) -> Result<FileFilter, GlobError> {
        let parse = |globs: &[String]| globs.iter().map(|g| Glob::new(g)).collect::<Result<Vec<_>, _>>();
        Ok(FileFilter { include: parse(include_globs)?, exclude: parse(extra_exclude_globs)?, ..FileFilter::default() })
    }

    /// Why `path` is left out, or `None` when it counts. Order: a configured
    /// exclude wins (the user's explicit word, even over their includes);
    /// then a configured include re-admits the file; then the default rules
    /// in [`DEFAULT_RULES`] order; then [`BINARY_EXTENSIONS`].
    pub fn classify(&self, path: &str) -> Option<Exclusion> {
        let path = path.trim_start_matches("./");
        let components: Vec<&str> = path.split('/').collect();
        if self.exclude.iter().any(|glob| glob.matches_components(&components)) {
            return Some(Exclusion::Configured);
        }
        if self.include.iter().any(|glob| glob.matches_components(&components)) {
            return None;
        }
        let lower = path.to_ascii_lowercase();
        let lower_components: Vec<&str> = lower.split('/').collect();
        if let Some((_, exclusion)) = self.defaults.iter().find(|(glob, _)| glob.matches_components(&lower_components))
        {
            return Some(*exclusion);
        }
        let name = lower_components.last().copied().unwrap_or_default();
        let extension = name.rsplit_once('.').filter(|(stem, _)| !stem.is_empty()).map(|(_, e)| e);
        if extension.is_some_and(|e| BINARY_EXTENSIONS.contains(&e)) {
            return Some(Exclusion::Binary);
        }
        let has_language = LANGUAGE_FILENAMES.contains(&name)
            || extension.is_some_and(|e| LANGUAGE_EXTENSIONS.iter().any(|l| l.eq_ignore_ascii_case(e)));
        if self.require_language && !has_language {
            return Some(Exclusion::NoLanguage);
        }
        None
    }

    /// Whether files must be of a recognised programming or markup language
    /// (default: yes, as the published truck factors do).
    pub fn require_language(mut self, required: bool) -> FileFilter {
        self.require_language = required;
        self
    }

    /// Whether `path` counts (`classify` is `None`).
    pub fn is_considered(&self, path: &str) -> bool {
        self.classify(path).is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(pattern: &str) -> Glob {
        Glob::new(pattern).expect("valid glob")
    }

    #[test]
    fn glob_semantics() {
        // (glob, path, matches)
        let cases = [
            ("*.rs", "main.rs", true),
            ("*.rs", "src/deep/main.rs", true),
            ("*.rs", "main.rsx", false),
            ("src/*.rs", "src/main.rs", true),
            ("src/*.rs", "src/a/main.rs", false),
            ("src/*.rs", "x/src/main.rs", false),
            ("src/**/*.rs", "src/main.rs", true),
            ("src/**/*.rs", "src/a/b/main.rs", true),
            ("**/test/*", "a/test/x", true),
            ("**/test/*", "test/x", true),
            ("docs/**", "docs/a/b.md", true),
            ("docs/**", "docs", false),
            ("vendor/", "vendor/a.js", true),
            ("vendor/", "lib/vendor/a/b.js", true),
            ("vendor/", "vendor", false),
            ("vendor/", "vendors/a.js", false),
            ("/docs/", "docs/a.md", true),
            ("/docs/", "src/docs/a.rs", false),
            ("a?c", "abc", true),
            ("a?c", "a/c", false),
            ("a?c", "aéc", true),
            ("*", "anything", true),
            ("**", "a/b/c", true),
            ("a*b*c", "aXbYbZc", true),
            ("a*b*c", "aXbYbZ", false),
            ("\\*.rs", "*.rs", true),
            ("\\*.rs", "x.rs", false),
            ("Cargo.lock", "Cargo.lock", true),
            ("Cargo.lock", "cargo.lock", false),
        ];
        for (pattern, path, expected) in cases {
            assert_eq!(glob(pattern).matches(path), expected, "{pattern} on {path}");
        }
        let insensitive = Glob::new_case_insensitive("README.*").expect("valid");
        assert!(insensitive.matches("docs/Readme.md"));
    }

    #[test]
    fn bad_globs() {
        for bad in ["", "/", "a//b", "[Dd]ocs/", "*.{js,ts}", "a\\"] {
            assert!(Glob::new(bad).is_err(), "{bad}");
        }
        let error = FileFilter::new(&["src/[ab].rs".to_string()], &[]).expect_err("invalid");
        assert!(error.to_string().contains("src/[ab].rs"), "{error}");
    }

    #[test]
    fn every_default_rule_parses() {
        assert_eq!(FileFilter::default().defaults.len(), DEFAULT_RULES.len());
        for rule in DEFAULT_RULES {
            assert!(!rule.why.is_empty(), "{}", rule.glob);
        }
        // Compared with a lower-cased extension.
        for extension in BINARY_EXTENSIONS {
            assert_eq!(*extension, extension.to_ascii_lowercase());
        }
    }

    #[test]
    fn default_classification() {
        let filter = FileFilter::default();
        let cases = [
            ("src/main.rs", None),
            ("crates/core/src/lib.rs", None),
            ("CMakeLists.txt", None),
            ("requirements.txt", Some(Exclusion::NoLanguage)),
            ("test/fixtures/google_response", Some(Exclusion::NoLanguage)),
            ("config/settings.yml", Some(Exclusion::NoLanguage)),
            ("src/doc/mod.rs", None),
            ("vendor/github.com/x/y.go", Some(Exclusion::Vendored)),
            ("web/node_modules/react/index.js", Some(Exclusion::Vendored)),
            ("third_party/zlib/inflate.c", Some(Exclusion::Vendored)),
            ("static/js/app.min.js", Some(Exclusion::Vendored)),
            ("static/jquery-3.7.1.js", Some(Exclusion::Vendored)),
            ("deps/lib.c", Some(Exclusion::Vendored)),
            ("src/deps/lib.c", None),
            ("gradlew", Some(Exclusion::Vendored)),
            ("Cargo.lock", Some(Exclusion::Generated)),
            ("web/package-lock.json", Some(Exclusion::Generated)),
            ("go.sum", Some(Exclusion::Generated)),
            ("api/v1/user.pb.go", Some(Exclusion::Generated)),
            ("proto/user_pb2.py", Some(Exclusion::Generated)),
            ("Forms/Main.Designer.cs", Some(Exclusion::Generated)),
            ("src/schema.generated.ts", Some(Exclusion::Generated)),
            ("docs/index.html", Some(Exclusion::Documentation)),
            ("Docs/guide.txt", Some(Exclusion::Documentation)),
            ("examples/hello.rs", Some(Exclusion::Documentation)),
            ("README.md", Some(Exclusion::Documentation)),
            ("crates/x/README", Some(Exclusion::Documentation)),
            ("LICENSE-MIT", Some(Exclusion::Documentation)),
            ("CHANGELOG.md", Some(Exclusion::Documentation)),
            ("src/guide.rst", Some(Exclusion::Documentation)),
            ("src/license_check.py", None),
            ("assets/logo.PNG", Some(Exclusion::Binary)),
            ("fonts/Inter.woff2", Some(Exclusion::Binary)),
            ("lib/native.so", Some(Exclusion::Binary)),
            (".png", Some(Exclusion::NoLanguage)),
            ("Makefile", None),
            ("lib/Tasks.RAKE", None),
        ];
        for (path, expected) in cases {
            assert_eq!(filter.classify(path), expected, "{path}");
        }
        // Without the language rule, data and extensionless files count.
        let any_language = FileFilter::default().require_language(false);
        assert_eq!(any_language.classify("test/fixtures/google_response"), None);
        assert_eq!(any_language.classify("config/settings.yml"), None);
    }

    #[test]
    fn user_globs() {
        let filter = FileFilter::new(
            &["migrations/**".to_string(), "*.snap".to_string(), "vendor/ours/old/".to_string()],
            &["vendor/ours/".to_string(), "README.md".to_string()],
        )
        .expect("valid globs");
        let cases = [
            ("migrations/0001_init.sql", Some(Exclusion::Configured)),
            ("src/tests/snapshots/a.snap", Some(Exclusion::Configured)),
            ("vendor/ours/lib.go", None),
            ("vendor/ours/old/lib.go", Some(Exclusion::Configured)),
            ("vendor/theirs/lib.go", Some(Exclusion::Vendored)),
            ("README.md", None),
            ("docs/README.md", None),
            ("src/main.rs", None),
        ];
        for (path, expected) in cases {
            assert_eq!(filter.classify(path), expected, "{path}");
        }
    }

    #[test]
    fn a_repository_whose_files_are_all_filtered() {
        let filter = FileFilter::default();
        let tree = ["README.md", "LICENSE", "docs/index.md", "vendor/a/b.go", "Cargo.lock", "logo.png"];
        let considered: Vec<&str> = tree.iter().copied().filter(|p| filter.is_considered(p)).collect();
        assert!(considered.is_empty(), "{considered:?}");
        let reasons: Vec<String> = tree.iter().filter_map(|p| filter.classify(p)).map(|e| e.to_string()).collect();
        assert_eq!(
            reasons,
            ["documentation", "documentation", "documentation", "vendored", "generated", "binary"].map(String::from)
        );
    }
}
