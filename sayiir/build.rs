//! Makes the guides of `docs/` (a link to the repository's `docs/` directory, so they are
//! packaged with the crate) into the pages of `sayiir::docs`. The files stay readable on
//! GitHub, where a link to another page is `testing.md` and one to the repository is
//! `../examples/x.rs`; rustdoc needs `crate::docs::testing` and a URL instead. This copies
//! each page into `OUT_DIR/docs/` with those links rewritten; code blocks are left as they are.

use std::error::Error;
use std::path::Path;

/// Every page, as `(file, module)`; `src/docs.rs` declares the same modules.
const PAGES: [(&str, &str); 16] = [
    ("workflow-rules", "workflow_rules"),
    ("errors", "errors"),
    ("testing", "testing"),
    ("resources", "resources"),
    ("versioning", "versioning"),
    ("production", "production"),
    ("operations", "operations"),
    ("schedules", "schedules"),
    ("flow-control", "flow_control"),
    ("namespaces", "namespaces"),
    ("cli", "cli"),
    ("server", "server"),
    ("dashboard", "dashboard"),
    ("performance", "performance"),
    ("observability", "observability"),
    ("format", "format"),
];

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo::rerun-if-changed=docs");
    let manifest = std::env::var("CARGO_MANIFEST_DIR")?;
    let out = Path::new(&std::env::var("OUT_DIR")?).join("docs");
    std::fs::create_dir_all(&out)?;
    let repo = std::env::var("CARGO_PKG_REPOSITORY")?;
    for (file, _) in PAGES {
        let name = format!("{file}.md");
        let text = std::fs::read_to_string(Path::new(&manifest).join("docs").join(&name))?;
        let text = rewrite(&text, &repo).map_err(|e| format!("docs/{name}: {e}"))?;
        std::fs::write(out.join(&name), text)?;
    }
    Ok(())
}

/// Rewrites the targets of `[text](target)` links outside fenced code blocks.
fn rewrite(text: &str, repo: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut fenced = false;
    for line in text.split_inclusive('\n') {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        }
        if fenced {
            out.push_str(line);
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            let (before, after) = rest.split_at(at + 2);
            out.push_str(before);
            let end = after
                .find(')')
                .ok_or_else(|| format!("unclosed link in `{}`", line.trim_end()))?;
            out.push_str(&target(&after[..end], repo)?);
            rest = &after[end..];
        }
        out.push_str(rest);
    }
    Ok(out)
}

/// Where a link of a page points for rustdoc.
fn target(link: &str, repo: &str) -> Result<String, String> {
    if link.starts_with("https://") || link.starts_with("http://") || link.starts_with('#') {
        return Ok(link.to_string());
    }
    if let Some(path) = link.strip_prefix("../") {
        return Ok(format!("{repo}/blob/main/{path}"));
    }
    // The pages' images (docs/img/): their raw bytes, which rustdoc shows as images.
    if let Some(image) = link.strip_prefix("img/") {
        return Ok(format!("{repo}/raw/main/docs/img/{image}"));
    }
    let (page, anchor) = match link.split_once('#') {
        Some((p, a)) => (p, format!("#{a}")),
        None => (link, String::new()),
    };
    let file = page.strip_suffix(".md").unwrap_or(page);
    match PAGES.iter().find(|(f, _)| *f == file) {
        Some((_, module)) => Ok(format!("crate::docs::{module}{anchor}")),
        None => Err(format!(
            "link `{link}` is neither a page of docs/, an image of docs/img/, a file of the repository (`../path`) nor a URL"
        )),
    }
}
