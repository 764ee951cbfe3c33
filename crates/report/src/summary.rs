//! `summary.md` and `index.html`: the same sections (a table, the sentence that says what its
//! intervals are, and any warnings), the runs that did not finish, and the figures with their
//! captions — as GitHub markdown and as a page that opens from disk without a server.

use std::fmt::Write;

use crate::answer::{self, Claim};
use crate::figures::Drawn;
use crate::load::Sweep;
use crate::record::Status;
use crate::table::Cells;

/// One table of the summary.
pub struct Section {
    pub title: String,
    pub cells: Cells,
    /// What the numbers are and what their intervals are.
    pub note: String,
    /// Lines a reader must not miss (e.g. a best learning rate at the edge of the grid).
    pub warnings: Vec<String>,
}

/// What both documents show.
pub struct Contents<'a> {
    pub sweep: &'a Sweep,
    /// The answer section's claims, shown first.
    pub answer: &'a [Claim],
    pub sections: Vec<Section>,
    pub figures: &'a [Drawn],
}

impl Contents<'_> {
    fn counts(&self) -> String {
        let runs = &self.sweep.runs;
        let count = |s: Status| runs.iter().filter(|r| r.status == s).count();
        let mut text = format!(
            "{} runs: {} finished, {} diverged, {} failed",
            runs.len() + self.sweep.pending,
            count(Status::Done),
            count(Status::Diverged),
            count(Status::Failed)
        );
        if self.sweep.pending > 0 {
            write!(text, ", {} not run yet", self.sweep.pending).unwrap();
        }
        text
    }

    /// Runs that diverged or failed, with why.
    fn incidents(&self) -> Vec<(String, &'static str, String)> {
        self.sweep
            .runs
            .iter()
            .filter(|r| r.status != Status::Done)
            .map(|r| {
                let status = if r.status == Status::Failed {
                    "failed"
                } else {
                    "diverged"
                };
                (r.id.clone(), status, r.reason.clone())
            })
            .collect()
    }
}

pub fn markdown(c: &Contents) -> String {
    let mut md = format!("# Sweep `{}`\n\n{}. ", c.sweep.name, c.counts());
    md += "Rebuilt from the CSV files by `pglab report <sweep directory>`; the numbers are in \
           `answer.csv`, `report.csv` and `variance.csv`.\n\n";
    md += &answer::markdown(c.answer);
    for section in &c.sections {
        writeln!(md, "## {}\n", section.title).unwrap();
        md += &markdown_table(&section.cells);
        writeln!(md, "\n{}\n", section.note).unwrap();
        for warning in &section.warnings {
            writeln!(md, "**Warning**: {warning}\n").unwrap();
        }
    }
    let incidents = c.incidents();
    if !incidents.is_empty() {
        md += "## Runs that did not finish\n\n";
        for (id, status, reason) in incidents {
            writeln!(md, "- `{id}`: {status}: {}", reason.replace('\n', " ")).unwrap();
        }
        md += "\n";
    }
    md += "## Figures\n\n";
    for figure in c.figures {
        match &figure.skipped {
            None => writeln!(
                md,
                "![{}](plots/{})\n\n{}\n",
                figure.file, figure.file, figure.caption
            ),
            Some(why) => writeln!(md, "- `{}` not drawn: {why}.\n", figure.file),
        }
        .unwrap();
    }
    md
}

fn markdown_table(cells: &Cells) -> String {
    let row = |cells: &[String]| {
        let cells: Vec<String> = cells.iter().map(|c| c.replace('|', "\\|")).collect();
        format!("| {} |\n", cells.join(" | "))
    };
    let mut md = row(&cells.header);
    md += &format!("|{}\n", "---|".repeat(cells.header.len()));
    for r in &cells.rows {
        md += &row(r);
    }
    md
}

pub fn html(c: &Contents) -> String {
    let mut page = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>pglab: {name}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n\
         <h1>Sweep <code>{name}</code></h1>\n<p>{counts}. Tables: <a href=\"summary.md\">summary.md</a>, \
         <a href=\"report.csv\">report.csv</a>, <a href=\"variance.csv\">variance.csv</a>, \
         <a href=\"summary.csv\">summary.csv</a> (one row per run).</p>\n",
        name = escape(&c.sweep.name),
        counts = escape(&c.counts()),
    );
    page += &html_answer(c.answer);
    for section in &c.sections {
        writeln!(page, "<h2>{}</h2>", escape(&section.title)).unwrap();
        page += &html_table(&section.cells);
        writeln!(page, "<p class=\"note\">{}</p>", escape(&section.note)).unwrap();
        for warning in &section.warnings {
            writeln!(
                page,
                "<p class=\"warning\"><strong>Warning</strong>: {}</p>",
                escape(warning)
            )
            .unwrap();
        }
    }
    let incidents = c.incidents();
    if !incidents.is_empty() {
        page += "<h2>Runs that did not finish</h2>\n<ul>\n";
        for (id, status, reason) in incidents {
            writeln!(
                page,
                "<li><code>{}</code>: {status}: {}</li>",
                escape(&id),
                escape(&reason)
            )
            .unwrap();
        }
        page += "</ul>\n";
    }
    page += "<h2>Figures</h2>\n";
    for figure in c.figures {
        match &figure.skipped {
            None => writeln!(
                page,
                "<figure><a href=\"plots/{f}\"><img src=\"plots/{f}\" alt=\"{f}\"></a>\
                 <figcaption>{}</figcaption></figure>",
                escape(&figure.caption),
                f = figure.file
            ),
            Some(why) => writeln!(
                page,
                "<p><code>{}</code> not drawn: {}.</p>",
                figure.file,
                escape(why)
            ),
        }
        .unwrap();
    }
    page += "</body>\n</html>\n";
    page
}

const STYLE: &str = "body { font-family: sans-serif; max-width: 1400px; margin: 2em auto; \
padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.95em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th { background: #f3f3f3; }
td:first-child, th:first-child { text-align: left; }
.note { color: #555; font-size: 0.9em; max-width: 75em; }
.warning { color: #8a4b00; max-width: 75em; }
figure { margin: 2em 0; }
img { max-width: 100%; border: 1px solid #ddd; }
figcaption { color: #444; margin-top: 0.4em; }
";

/// The answer section, first on the page: each question and its claims, primary first.
fn html_answer(claims: &[Claim]) -> String {
    let mut html = String::from("<section id=\"answer\">\n<h2>The answer</h2>\n");
    if claims.is_empty() {
        html += "<p>No claim could be made: the sweep has neither a probe nor two estimators \
                 with finished runs.</p>\n";
    }
    for (question, heading) in answer::questions(claims) {
        let mut ours: Vec<&Claim> = claims.iter().filter(|c| c.question == question).collect();
        if ours.is_empty() {
            continue;
        }
        ours.sort_by_key(|c| c.role != "primary");
        writeln!(html, "<h3>{}</h3>\n<ul>", escape(heading)).unwrap();
        let note = answer::chance_note(&ours);
        for c in ours {
            let role = if c.role == "primary" {
                "<strong>primary endpoint</strong> — "
            } else {
                ""
            };
            let class = if c.resolved() {
                "resolved"
            } else {
                "unresolved"
            };
            writeln!(
                html,
                "<li class=\"{class}\">{role}{}: <strong>{}</strong>, {} (null {}). Rests on: {}.</li>",
                escape(&c.statement),
                escape(&answer::estimate_text(c)),
                escape(&c.verdict),
                c.null,
                escape(&c.rests_on)
            )
            .unwrap();
        }
        html += "</ul>\n";
        if let Some(note) = note {
            writeln!(html, "<p>{}</p>", escape(&note)).unwrap();
        }
    }
    html + "</section>\n"
}

fn html_table(cells: &Cells) -> String {
    let row = |tag: &str, cells: &[String]| {
        let cells: Vec<String> = cells
            .iter()
            .map(|c| format!("<{tag}>{}</{tag}>", escape(c)))
            .collect();
        format!("<tr>{}</tr>\n", cells.concat())
    };
    let mut html = format!(
        "<table>\n<thead>\n{}</thead>\n<tbody>\n",
        row("th", &cells.header)
    );
    for r in &cells.rows {
        html += &row("td", r);
    }
    html + "</tbody>\n</table>\n"
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
